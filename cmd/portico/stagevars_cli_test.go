package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/apis"
)

// TestStageSetVarNamesUnset (newuser26 #5): `stage set-var API STAGE K=`
// passed the empty value on, and the server's answer said to "leave the
// variable out", not how; the CLI names --unset. An --unset of a variable the
// stage lacks printed only the variables, as if it removed one: it says, on
// stderr, that it removed nothing.
func TestStageSetVarNamesUnset(t *testing.T) {
	t.Parallel()
	var svc *apis.Service
	env := apptest.Start(t, apptest.Options{Populate: []any{&svc}})
	ctx := context.Background()
	api, err := svc.Create(ctx, &apis.API{Name: "shop", Protocol: "REST", Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/{proxy+}", Integration: &apis.Integration{Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses:        map[string]apis.IntegrationResponse{"default": {StatusCode: "200"}}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Deploy(ctx, api.ID, apis.DeployInput{StageName: "dev", Variables: map[string]string{"alias": "live", "keep": "1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cliErr(env, "stage", "set-var", api.ID, "dev", "alias="); err == nil ||
		!strings.Contains(err.Error(), "stage set-var "+api.ID+" dev --unset alias") {
		t.Errorf("set-var alias=: %v, want it to name --unset alias", err)
	}
	var out, errOut bytes.Buffer
	if err := runRoot(&out, &errOut, "--endpoint", env.AdminURL, "stage", "set-var", api.ID, "dev", "--unset", "nosuch", "--unset", "alias"); err != nil {
		t.Fatalf("set-var --unset nosuch --unset alias: %v (%s)", err, errOut.String())
	}
	if want := "note: stage dev has no variable nosuch: --unset nosuch removed nothing"; !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr %q, want %q", errOut.String(), want)
	}
	if strings.Contains(errOut.String(), "variable alias") || !strings.Contains(out.String(), "stage dev: keep=1") {
		t.Errorf("set-var --unset: stdout %q, stderr %q", out.String(), errOut.String())
	}
}

// TestAPIGetShowsWebSocketURLs (newuser26 #6): `api get` of a WebSocket API
// showed its stages' URLs as http://, while `stage list` and `api deploy`
// show ws://.
func TestAPIGetShowsWebSocketURLs(t *testing.T) {
	t.Parallel()
	var svc *apis.Service
	env := apptest.Start(t, apptest.Options{Populate: []any{&svc}})
	ctx := context.Background()
	ws, err := svc.Create(ctx, &apis.API{Name: "w", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{RouteSelectionExpression: "$request.body.action",
		Routes: []apis.Route{{RouteKey: "$default", Integration: &apis.Integration{Type: apis.IntegrationMock}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Deploy(ctx, ws.ID, apis.DeployInput{StageName: "dev"}); err != nil {
		t.Fatal(err)
	}
	got := cli(t, env, "api", "get", ws.ID)
	if !strings.Contains(got, "ws://") || strings.Contains(got, "http://") {
		t.Errorf("api get of a WebSocket API:\n%s", got)
	}
}
