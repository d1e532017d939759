package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestNotFoundListsWhatExists: every command that names a function, an API or
// a stage that does not exist says which do, as invoke, fn get and api deploy
// did (logs, alias set, stage list and rollback, connections list said only
// "not found"); fn create of a name that exists says what to do instead.
func TestNotFoundListsWhatExists(t *testing.T) {
	t.Parallel()
	var svc *apis.Service
	env := apptest.Start(t, apptest.Options{Populate: []any{&svc}})
	ctx := context.Background()
	code := testkit.Bootstrap(t, "#!/bin/sh\nexit 0\n")
	if _, _, err := env.Client().CreateFunction(ctx, map[string]any{"FunctionName": "xss", "Code": map[string]any{"ZipFile": code}}); err != nil {
		t.Fatal(err)
	}
	api, err := svc.Create(ctx, &apis.API{Name: "shop", Protocol: "REST", Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/{proxy+}", Integration: &apis.Integration{Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses:        map[string]apis.IntegrationResponse{"default": {StatusCode: "200"}}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Deploy(ctx, api.ID, apis.DeployInput{StageName: "dev"}); err != nil {
		t.Fatal(err)
	}
	ws, err := svc.Create(ctx, &apis.API{Name: "chat", Protocol: "WEBSOCKET"})
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "bootstrap"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil { //nolint:gosec // G306: the function's executable
		t.Fatal(err)
	}
	apisHere := "APIs here: "
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"logs", "nosuch"}, []string{"functions here: xss"}},
		{[]string{"alias", "set", "nosuch", "live", "1"}, []string{"functions here: xss"}},
		{[]string{"stage", "list", "nosuchapi1"}, []string{apisHere, api.ID + " (shop)", ws.ID + " (chat)"}},
		{[]string{"stage", "rollback", "nosuchapi1", "dev"}, []string{apisHere, api.ID + " (shop)"}},
		{[]string{"stage", "rollback", api.ID, "nosuch"}, []string{"stages here: dev"}},
		{[]string{"stage", "history", api.ID, "nosuch"}, []string{"stages here: dev"}},
		{[]string{"stage", "set-var", api.ID, "nosuch", "a=b"}, []string{"stages here: dev"}},
		{[]string{"stage", "promote", "nosuchapi1", "dev"}, []string{apisHere, api.ID + " (shop)"}},
		{[]string{"alias", "list", "nosuch"}, []string{"functions here: xss"}},
		{[]string{"connections", "list", "nosuchapi1", "dev"}, []string{apisHere, ws.ID + " (chat)"}},
		{[]string{"connections", "list", ws.ID, "nosuch"}, []string{ws.ID + " has no stages yet", "portico api deploy " + ws.ID + " --stage"}},
		{[]string{"fn", "create", "xss", "--dir", src}, []string{"portico fn update xss", "another name"}},
	} {
		_, err := cliErr(env, tc.args...)
		if err == nil {
			t.Errorf("portico %s succeeded", strings.Join(tc.args, " "))
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("portico %s: %q does not say %q", strings.Join(tc.args, " "), err, w)
			}
		}
	}
	// What exists is not listed when what is missing is something else.
	if _, err := cliErr(env, "alias", "set", "xss", "live", "7"); err == nil || strings.Contains(err.Error(), "functions here") {
		t.Errorf("alias set xss live 7 (no version 7): %v", err)
	}
	if _, err := cliErr(env, "stage", "rollback", api.ID, "dev", "--to", "nosuchdeployment"); err == nil || strings.Contains(err.Error(), "here:") {
		t.Errorf("stage rollback to a missing deployment: %v", err)
	}
}
