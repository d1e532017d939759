package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestDevNotesWithAToken runs `portico dev` with an admin token, given as
// PORTICO_ADMIN_TOKEN or as --admin-token, and runs what it prints as a user's
// shell would, with the variable the notes name set: the curl commands to the
// admin API send the token (by the variable's name: the token itself is never
// printed) and succeed, and so do the portico commands. With
// --admin-token the notes say to export PORTICO_TOKEN, the CLI's variable;
// with PORTICO_ADMIN_TOKEN the CLI reads that one too.
func TestDevNotesWithAToken(t *testing.T) {
	samples, err := filepath.Abs(filepath.Dir(apptest.Sample(t, "hello")))
	if err != nil {
		t.Fatal(err)
	}
	source, err := filepath.Abs(filepath.Join("..", "..", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	const tok = "dev-notes-token-0123456789abcdef0123"
	for _, tc := range []struct {
		name, variable string
		flag           bool
	}{
		{"PORTICO_ADMIN_TOKEN", "PORTICO_ADMIN_TOKEN", false},
		{"--admin-token", "PORTICO_TOKEN", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			t.Setenv("PORTICO_TOKEN", "")
			t.Setenv("PORTICO_ADMIN_TOKEN", "")
			args := []string{"dev", "--samples", samples, "--source", source, "--watch=false", "--data-dir", "./portico-data",
				"--runtime", "process", "--listen", "127.0.0.1:0", "--tls-listen", "off", "--admin-listen", "127.0.0.1:0", "--log-level", "error"}
			if tc.flag {
				args = append(args, "--admin-token", tok)
			} else {
				t.Setenv("PORTICO_ADMIN_TOKEN", tok)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a guard against hanging, not a timing assertion
			defer cancel()
			out := &readyWriter{ready: make(chan struct{}), mark: "Press Ctrl-C to stop."}
			root := newRoot()
			root.SetOut(out)
			root.SetErr(out)
			root.SetArgs(args)
			done := make(chan error, 1)
			go func() { done <- root.ExecuteContext(ctx) }()
			select {
			case <-out.ready:
			case err := <-done:
				t.Fatalf("portico dev stopped: %v\n%s", err, out)
			}
			defer func() {
				cancel()
				<-done
			}()
			printed := out.String()
			if strings.Contains(printed, tok) {
				t.Fatalf("portico dev printed the admin token:\n%s", printed)
			}
			if tc.flag && !strings.Contains(printed, "export PORTICO_TOKEN=") {
				t.Errorf("with --admin-token, the notes do not say to export PORTICO_TOKEN:\n%s", printed)
			}
			// The user's shell: the variable the notes name holds the token.
			t.Setenv(tc.variable, tok)
			curls, clis := 0, 0
			for _, line := range strings.Split(printed, "\n") {
				line = strings.TrimSpace(line)
				switch {
				case strings.HasPrefix(line, "curl ") && strings.Contains(line, "/2015-03-31/"):
					if !strings.Contains(line, `-H "Authorization: Bearer $`+tc.variable+`"`) {
						t.Errorf("a curl command to the admin API without the token's variable %s: %s", tc.variable, line)
					}
					cmd := exec.CommandContext(ctx, "sh", "-c", line) //nolint:gosec // G204: the line portico dev printed, run as its user would
					cmd.Env = os.Environ()
					got, err := cmd.CombinedOutput()
					if err != nil || !strings.Contains(string(got), "statusCode") {
						t.Errorf("%s: %v: %s", line, err, got)
					}
					curls++
				case strings.HasPrefix(line, programAsRun(os.Args[0])+" "):
					words := shellWords(t, strings.TrimPrefix(line, programAsRun(os.Args[0])+" "))
					if words[len(words)-2] == "logs" || words[0] == "logs" {
						continue // it would wait for more log
					}
					var cmdOut bytes.Buffer
					if err := runRoot(&cmdOut, &cmdOut, words...); err != nil {
						t.Errorf("%s: %v\n%s", line, err, cmdOut.String())
					}
					clis++
				}
			}
			if curls == 0 || clis == 0 {
				t.Errorf("ran %d curl and %d portico commands of:\n%s", curls, clis, printed)
			}
		})
	}
}
