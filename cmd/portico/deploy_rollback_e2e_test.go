package main

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/deploy"
)

// TestDeployReservationCheckedFirst: reserved concurrency the account cannot
// hold failed only in Switching, after the functions changed (and the
// rollback left the alias and version the run made); it is refused before
// anything changes. The target calls a failed run's rollback uses to delete
// what it made work on the server: the highest version, a version's delete,
// the account's concurrency.
func TestDeployReservationCheckedFirst(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := filepath.Dir(samTestdata(t, "noecho-stage.yaml"))
	write := func(props string) string {
		path := filepath.Join(dir, "rb.yaml")
		writeFile(t, path, []byte("Transform: AWS::Serverless-2016-10-31\nResources:\n  G:\n    Type: AWS::Serverless::Function\n"+
			"    Properties: {Runtime: provided.al2023, Handler: bootstrap, CodeUri: hello"+props+"}\n"), 0o600)
		return path
	}
	cliCombined(t, env, "deploy", "--template", write(""), "--stack", "rb")
	out, err := cliErr(env, "deploy", "--template", write(", AutoPublishAlias: prod, ReservedConcurrentExecutions: 990"), "--stack", "rb")
	if err == nil || !strings.Contains(err.Error(), "reserved concurrency: the template reserves 990 more (rb-G 990)") || strings.Contains(out, "Building") {
		t.Fatalf("err = %v, want the reservation refused before anything changes:\n%s", err, out)
	}
	if got := versions(t, env, "rb-G"); !reflect.DeepEqual(got, []string{"$LATEST"}) {
		t.Errorf("versions %v after the refusal, want only $LATEST", got)
	}
	if out := cliCombined(t, env, "deploy", "--template", write(""), "--stack", "rb"); !strings.Contains(out, "Stack rb is up to date") {
		t.Errorf("the first template again:\n%s", out)
	}

	ctx := context.Background()
	target := &deploy.HTTPTarget{C: env.Client()}
	if limit, unreserved, err := target.AccountConcurrency(ctx); err != nil || limit <= 0 || unreserved != limit {
		t.Fatalf("AccountConcurrency = %d, %d, %v; want the limit, all of it unreserved", limit, unreserved, err)
	}
	if v, err := target.LastVersion(ctx, "rb-G"); err != nil || v != "" {
		t.Fatalf("LastVersion = %q, %v; want none", v, err)
	}
	cliCombined(t, env, "deploy", "--template", write(", AutoPublishAlias: prod"), "--stack", "rb")
	cliCombined(t, env, "deploy", "--template", write(", AutoPublishAlias: prod, MemorySize: 256"), "--stack", "rb")
	if v, err := target.LastVersion(ctx, "rb-G"); err != nil || v != "2" {
		t.Fatalf("LastVersion = %q, %v; want 2", v, err)
	}
	if err := target.DeleteVersion(ctx, "rb-G", "1"); err != nil {
		t.Fatal(err)
	}
	if err := target.DeleteVersion(ctx, "rb-G", "2"); err == nil {
		t.Error("DeleteVersion deleted version 2, which alias prod points at")
	}
	if got := versions(t, env, "rb-G"); !reflect.DeepEqual(got, []string{"$LATEST", "2"}) {
		t.Errorf("versions %v, want $LATEST and 2", got)
	}
}
