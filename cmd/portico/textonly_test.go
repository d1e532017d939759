package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestTextOnlyCommandsRefuseJSON: deploy, stack delete, backup, tls init and
// version print text; with -o json they are refused before they do anything (they
// printed text on stdout, which a script reading JSON could not parse).
func TestTextOnlyCommandsRefuseJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tlsDir := filepath.Join(dir, "data")
	backup := filepath.Join(dir, "b.tar")
	for _, args := range [][]string{
		{"deploy", "--template", filepath.Join(dir, "template.yaml"), "-o", "json"},
		{"stack", "delete", "s", "-o", "json"},
		{"backup", backup, "-o", "json"},
		{"-o", "json", "tls", "init", "--data-dir", tlsDir},
		{"version", "-o", "json"},
	} {
		var out, errOut bytes.Buffer
		err := runRoot(&out, &errOut, append([]string{"--endpoint", "http://127.0.0.1:1"}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "not JSON: leave -o json out") {
			t.Errorf("portico %s: %v, want a refusal of -o json", strings.Join(args, " "), err)
		}
		if out.Len() != 0 {
			t.Errorf("portico %s printed %q", strings.Join(args, " "), out.String())
		}
	}
	for _, p := range []string{tlsDir, backup} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s was made: %v", p, err)
		}
	}
}

// TestDeployWarningsGoToStderr: the deploy's warnings (the plan's and the
// outputs') are printed on stderr, as every command prints them; stdout is
// the plan (they were mixed into it).
func TestDeployWarningsGoToStderr(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := filepath.Join(t.TempDir(), "warned")
	writeFile(t, filepath.Join(dir, "code", "bootstrap"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	template := filepath.Join(dir, "template.yaml")
	writeFile(t, template, []byte(`Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: code
      Handler: bootstrap
      Runtime: provided.al2023
      Events:
        Tick:
          Type: Schedule
          Properties: {Schedule: rate(1 minute)}
Outputs:
  Role:
    Value: !GetAtt FnRole.Arn
`), 0o600)
	for _, dry := range []bool{true, false} {
		args := []string{"--endpoint", env.AdminURL, "deploy", "--template", template}
		if dry {
			args = append(args, "--dry-run")
		}
		var out, errOut bytes.Buffer
		if err := runRoot(&out, &errOut, args...); err != nil {
			t.Fatalf("deploy (dry run %v): %v\n%s%s", dry, err, out.String(), errOut.String())
		}
		if strings.Contains(out.String(), "warning:") || !strings.Contains(out.String(), "Stack warned:") {
			t.Errorf("deploy (dry run %v) stdout:\n%s", dry, out.String())
		}
		if !strings.Contains(errOut.String(), "warning: Fn event Tick") || (!dry && !strings.Contains(errOut.String(), "warning: output Role:")) {
			t.Errorf("deploy (dry run %v) stderr:\n%s", dry, errOut.String())
		}
	}
}
