package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// runRoot runs the portico command with args, its standard output going to out
// and its standard error to errOut.
func runRoot(out, errOut io.Writer, args ...string) error {
	root := newRoot()
	root.SetOut(out)
	root.SetErr(errOut)
	root.SetArgs(args)
	return root.ExecuteContext(context.Background())
}

func TestUnknownSubcommandsFail(t *testing.T) {
	for _, args := range [][]string{{"nonsense"}, {"fn", "nonsense"}, {"api", "deploi"}, {"stage", "nope"}, {"alias", "sett"}} {
		var out bytes.Buffer
		err := runRoot(&out, &out, args...)
		if err == nil || !strings.Contains(err.Error(), "unknown command") {
			t.Errorf("portico %s: %v, want an unknown-command error", strings.Join(args, " "), err)
		}
	}
	for _, args := range [][]string{{"fn"}, {"fn", "--help"}, {"--help"}} {
		root := newRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs(args)
		if err := root.Execute(); err != nil || !strings.Contains(out.String(), "Usage:") {
			t.Errorf("portico %s: %v, want the help", strings.Join(args, " "), err)
		}
	}
}
