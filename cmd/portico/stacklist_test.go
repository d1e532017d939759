package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestStackList: `portico stack list` lists the stacks deploy made, and
// `stack delete` of an unknown stack names those that exist (there was no
// list, and the error named none).
func TestStackList(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	if out, err := cliErr(env, "stack", "list"); err != nil || !strings.Contains(out, "No stacks") {
		t.Errorf("stack list with none: %q, %v", out, err)
	}
	if _, err := cliErr(env, "stack", "delete", "nope"); err == nil || !strings.Contains(err.Error(), "there are no stacks yet") {
		t.Errorf("stack delete nope with none: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "listed")
	writeFile(t, filepath.Join(dir, "code", "bootstrap"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	template := filepath.Join(dir, "template.yaml")
	writeFile(t, template, []byte("Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: code, Handler: bootstrap, Runtime: provided.al2023}\n"), 0o600)
	if out, err := cliErr(env, "deploy", "--template", template); err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	out, err := cliErr(env, "stack", "list")
	if err != nil || !strings.Contains(out, "NAME") || !strings.Contains(out, "listed") || !strings.Contains(out, template) {
		t.Errorf("stack list: %q, %v", out, err)
	}
	if out, err := cliErr(env, "-o", "json", "stack", "list"); err != nil || !strings.Contains(out, `"name": "listed"`) {
		t.Errorf("stack list -o json: %q, %v", out, err)
	}
	if _, err := cliErr(env, "stack", "delete", "nope"); err == nil || !strings.Contains(err.Error(), "stack nope does not exist") || !strings.Contains(err.Error(), "(stacks here: listed)") {
		t.Errorf("stack delete nope: %v", err)
	}
}
