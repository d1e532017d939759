package main

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/deploy"
)

// goneAfterReplace is the server's target with a fault seam: once ReplaceAPI
// has replaced an API's definition, the server is gone for the rest of the
// run (the deployment, the record and the rollback fail), as when the run is
// killed (kill -9) in Building, after the replace.
type goneAfterReplace struct {
	*deploy.HTTPTarget
	gone bool
}

func (g *goneAfterReplace) ReplaceAPI(ctx context.Context, id string, a *deploy.API) error {
	err := g.HTTPTarget.ReplaceAPI(ctx, id, a)
	g.gone = err == nil
	return err
}

func (g *goneAfterReplace) PutStack(ctx context.Context, rec *deploy.Record) error {
	if g.gone {
		return errGone
	}
	return g.HTTPTarget.PutStack(ctx, rec)
}

func (g *goneAfterReplace) RestoreAPI(ctx context.Context, id string, s *deploy.SavedAPI) error {
	if g.gone {
		return errGone
	}
	return g.HTTPTarget.RestoreAPI(ctx, id, s)
}

func (g *goneAfterReplace) Deploy(ctx context.Context, id string, a *deploy.API, canary bool) (string, deploy.Served, error) {
	if g.gone {
		return "", deploy.Served{}, errGone
	}
	return g.HTTPTarget.Deploy(ctx, id, a, canary)
}

func (g *goneAfterReplace) SetHTTPStage(ctx context.Context, id, stage string, old, now *deploy.HTTPStage) error {
	if g.gone {
		return errGone
	}
	return g.HTTPTarget.SetHTTPStage(ctx, id, stage, old, now)
}

// replaceCrashTemplate is an HTTP API (its $default stage deploys
// automatically) whose JWT default authorizer guards GET /jwt; auth, when
// given, is the event's Auth.
func replaceCrashTemplate(auth string) string {
	event := "{Type: HttpApi, Properties: {ApiId: !Ref Http, Path: /jwt, Method: GET}}"
	if auth != "" {
		event = "{Type: HttpApi, Properties: {ApiId: !Ref Http, Path: /jwt, Method: GET, Auth: " + auth + "}}"
	}
	return "Transform: AWS::Serverless-2016-10-31\nResources:\n" +
		"  Http:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      Auth:\n        DefaultAuthorizer: MyJwt\n" +
		"        Authorizers:\n          MyJwt:\n            IdentitySource: $request.header.Authorization\n" +
		"            JwtConfiguration: {issuer: 'https://issuer.example.com', audience: [pets]}\n" +
		"  Fn:\n    Type: AWS::Serverless::Function\n" +
		"    Properties: {Runtime: provided.al2023, Handler: bootstrap, CodeUri: hello,\n" +
		"      Events: {Jwt: " + event + "}}\n"
}

// TestDeployReplacesAgainTheDefinitionAnInterruptedRunReplaced: a run killed
// after replacing an HTTP API's definition (served at once: its stage
// deploys automatically) left GET /jwt open, and the next deploy of the
// template that guards it said "up to date", since the record still named
// the last deploy's definition. The run records its intent to replace first,
// and the next deploy replaces the definition again and deploys it: the
// route requires its JWT again.
func TestDeployReplacesAgainTheDefinitionAnInterruptedRunReplaced(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := filepath.Dir(samTestdata(t, "noecho-stage.yaml"))
	path := filepath.Join(dir, "replace.yaml")
	writeFile(t, path, []byte(replaceCrashTemplate("")), 0o600)
	cliCombined(t, env, "deploy", "--template", path, "--stack", "rep")
	url := env.GatewayURL + "/" + stackRecord(t, env, "rep").Resources["Http"].PhysicalID + "/jwt"
	if st, body := gatewayCall(t, http.MethodGet, url, "", nil); st != http.StatusUnauthorized {
		t.Fatalf("GET /jwt without a token after the first deploy: %d %s, want 401", st, body)
	}

	writeFile(t, path, []byte(replaceCrashTemplate("{Authorizer: NONE}")), 0o600)
	ctx := context.Background()
	target := &goneAfterReplace{HTTPTarget: &deploy.HTTPTarget{C: env.Client()}}
	if out, err := applyTemplate(t, ctx, target, path, "rep"); !errors.Is(err, errGone) {
		t.Fatalf("err = %v, want the server gone after the replace:\n%s", err, out)
	}
	if st, body := gatewayCall(t, http.MethodGet, url, "", nil); st != http.StatusOK {
		t.Fatalf("GET /jwt without a token after the interrupted run: %d %s, want 200 (the replaced definition served)", st, body)
	}

	// Back to the template that guards the route.
	writeFile(t, path, []byte(replaceCrashTemplate("")), 0o600)
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "rep", "--dry-run"); !strings.Contains(out, "a deploy that ended before recording it replaced the definition") {
		t.Errorf("the plan does not say it replaces the definition again:\n%s", out)
	}
	out := cliCombined(t, env, "deploy", "--template", path, "--stack", "rep")
	if st, body := gatewayCall(t, http.MethodGet, url, "", nil); st != http.StatusUnauthorized {
		t.Fatalf("GET /jwt without a token after the next deploy: %d %s, want 401:\n%s", st, body, out)
	}
	if r := stackRecord(t, env, "rep").Resources["Http"]; r.Replacing {
		t.Errorf("the record still says a run set out to replace API %s", r.PhysicalID)
	}
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "rep"); !strings.Contains(out, "Stack rep is up to date") {
		t.Errorf("a redeploy:\n%s", out)
	}
}
