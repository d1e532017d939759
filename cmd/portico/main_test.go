package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestUnknownSubcommandsFail(t *testing.T) {
	for _, args := range [][]string{{"nonsense"}, {"fn", "nonsense"}, {"api", "deploi"}, {"stage", "nope"}, {"alias", "sett"}} {
		root := newRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(args)
		err := root.Execute()
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
