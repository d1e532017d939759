package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
)

// TestStageURLOfDisabledEndpoint (tls28 #2): `api deploy`, `stage list` and
// `api get` printed the stage URL of an API whose default endpoint is
// disabled, a URL that answers 403. They say it is disabled and name the
// custom domains that map the stage, or how to map one.
func TestStageURLOfDisabledEndpoint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	apptest.DevCA(t, dir)
	var svc *apis.Service
	env := apptest.Start(t, apptest.Options{DataDir: dir, Populate: []any{&svc}, Settings: func(s *app.Settings) { s.TLSListen = "127.0.0.1:0" }})
	a, err := svc.Create(t.Context(), &apis.API{Name: "closed", Protocol: apis.ProtocolREST,
		Definition: apis.Definition{Extensions: map[string]json.RawMessage{edge.EndpointConfigurationExtension: json.RawMessage(`{"disableExecuteApiEndpoint":true}`)},
			Routes: []apis.Route{{Method: "GET", Path: "/x", Integration: &apis.Integration{Type: apis.IntegrationMock,
				RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
				Responses:        map[string]apis.IntegrationResponse{"default": {StatusCode: "200"}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	dead := "/" + a.ID + "/prod"
	out := cli(t, env, "api", "deploy", a.ID, "--stage", "prod")
	if strings.Contains(out, dead) || !strings.Contains(out, "execute-api endpoint disabled") || !strings.Contains(out, "portico domain map NAME "+a.ID+" prod") {
		t.Errorf("api deploy printed:\n%s", out)
	}
	cli(t, env, "domain", "create", "closed.dev.test")
	cli(t, env, "domain", "map", "closed.dev.test", a.ID, "prod", "--path", "v1")
	for _, args := range [][]string{{"stage", "list", a.ID}, {"api", "get", a.ID}} {
		out := cli(t, env, args...)
		if strings.Contains(out, dead) || !strings.Contains(out, "execute-api endpoint disabled; custom domains: closed.dev.test/v1") {
			t.Errorf("%s printed:\n%s", strings.Join(args, " "), out)
		}
	}
}
