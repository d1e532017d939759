package apis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
)

func newTestService(t *testing.T) (*Service, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return NewService(st, nil), dir
}

// mustCreate creates a.
func mustCreate(t *testing.T, s *Service, a *API) *API {
	t.Helper()
	created, err := s.Create(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return created
}

func helloAPI() *API {
	return &API{Name: "hello", Protocol: ProtocolREST, Definition: Definition{Routes: []Route{
		{Method: "GET", Path: "/hello", Integration: &Integration{Type: IntegrationAWSProxy, URI: "function:hello:${stageVariables.alias}", HTTPMethod: "POST"}},
		{Method: "ANY", Path: "/{proxy+}", Integration: &Integration{Type: IntegrationMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}},
	}}}
}

func TestCreateGetListDelete(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	a := mustCreate(t, s, helloAPI())
	if !ValidAPIID(a.ID) {
		t.Fatalf("id %q", a.ID)
	}
	if a.Routes[0].Path != "/hello" || a.Routes[0].RouteKey != "GET /hello" || a.Routes[0].ID != RouteID("GET /hello") {
		t.Fatalf("routes not normalized: %+v", a.Routes)
	}
	got, err := s.Get(ctx, a.ID)
	if err != nil || got.Name != "hello" || len(got.Routes) != 2 {
		t.Fatalf("get: %v %+v", err, got)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %d", err, len(list))
	}
	if _, _, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "dev"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, a.ID); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if _, _, err := s.Resolve(ctx, a.ID, "dev"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("stage after delete: %v", err)
	}
}

func TestValidationRejectsBadInputAndStoresNothing(t *testing.T) {
	bigVars := map[string]string{}
	for i := 0; i <= MaxStageVariables; i++ {
		bigVars[fmt.Sprintf("v%d", i)] = "x"
	}
	cases := []struct {
		name string
		mod  func(a *API)
		want string
	}{
		{"bad protocol", func(a *API) { a.Protocol = "SOAP" }, "protocol"},
		{"empty name", func(a *API) { a.Name = " " }, "name is empty"},
		{"unknown integration type", func(a *API) { a.Routes[0].Integration.Type = "LAMBDA" }, "integration type"},
		{"timeout low", func(a *API) { a.Routes[0].Integration.TimeoutInMillis = 49 }, "timeoutInMillis"},
		{"timeout high", func(a *API) { a.Routes[0].Integration.TimeoutInMillis = 29001 }, "timeoutInMillis"},
		{"duplicate route", func(a *API) { a.Routes = append(a.Routes, a.Routes[0]) }, "defined twice"},
		{"clashing params", func(a *API) {
			a.Routes = append(a.Routes, Route{Method: "GET", Path: "/pets/{id}", Integration: &Integration{Type: "MOCK"}},
				Route{Method: "POST", Path: "/pets/{petId}", Integration: &Integration{Type: "MOCK"}})
		}, "clashes"},
		{"greedy not last", func(a *API) { a.Routes[1].Path = "/{proxy+}/x" }, "greedy"},
		{"mixed segment", func(a *API) { a.Routes[1].Path = "/a{b}" }, "whole segment"},
		{"bad method", func(a *API) { a.Routes[0].Method = "FETCH" }, "method"},
		{"bad function uri", func(a *API) { a.Routes[0].Integration.URI = "lambda:hello" }, "function:NAME"},
		{"bad http uri", func(a *API) { a.Routes[0].Integration = &Integration{Type: "HTTP_PROXY", URI: "ftp://x"} }, "http or https"},
		{"default route on REST", func(a *API) {
			a.Routes = append(a.Routes, Route{Path: RouteDefault, Integration: &Integration{Type: "MOCK"}})
		}, "HTTP APIs only"},
		{"v2 payload on REST", func(a *API) { a.Routes[0].Integration.PayloadFormatVersion = "2.0" }, "HTTP APIs only"},
		{"bad binary type", func(a *API) { a.BinaryMediaTypes = []string{"png"} }, "type/subtype"},
		{"unknown validator", func(a *API) { a.Routes[0].RequestValidator = "strict" }, "not defined"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestService(t)
			a := helloAPI()
			tc.mod(a)
			_, err := s.Create(context.Background(), a)
			if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want invalid containing %q", err, tc.want)
			}
			list, _ := s.List(context.Background())
			if len(list) != 0 {
				t.Fatalf("something was stored")
			}
		})
	}
	t.Run("stage variables", func(t *testing.T) {
		for name, vars := range map[string]map[string]string{
			"too many":   bigVars,
			"bad name":   {"a-b": "x"},
			"long name":  {strings.Repeat("a", 65): "x"},
			"long value": {"a": strings.Repeat("x", 513)},
		} {
			s, _ := newTestService(t)
			ctx := context.Background()
			a := mustCreate(t, s, helloAPI())
			if _, _, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "dev", Variables: vars}); !errors.Is(err, errdefs.ErrInvalid) {
				t.Fatalf("%s: deploy err = %v", name, err)
			}
			if deps, _ := s.ListDeployments(ctx, a.ID); len(deps) != 0 {
				t.Fatalf("%s: deployment stored", name)
			}
			_, _, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "dev"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.UpdateStage(ctx, a.ID, "dev", StagePatch{SetVariables: vars}); !errors.Is(err, errdefs.ErrInvalid) {
				t.Fatalf("%s: update err = %v", name, err)
			}
			st, _ := s.GetStage(ctx, a.ID, "dev")
			if len(st.Variables) != 0 {
				t.Fatalf("%s: variables half-stored: %v", name, st.Variables)
			}
		}
	})
}

func TestDeployRollbackHistoryAndRestart(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := NewService(st, nil)
	ctx := context.Background()
	notified := 0
	s.Subscribe(func(string) { notified++ })
	a := mustCreate(t, s, helloAPI())
	d1, stg, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "dev", Description: "first", Variables: map[string]string{"alias": "live"}})
	if err != nil {
		t.Fatal(err)
	}
	if stg.DeploymentID != d1.ID || stg.Variables["alias"] != "live" {
		t.Fatalf("stage %+v", stg)
	}
	// Change the definition; the deployment keeps its snapshot.
	if _, err := s.Modify(ctx, a.ID, func(a *API) error { a.Routes = a.Routes[:1]; return nil }); err != nil {
		t.Fatal(err)
	}
	d1again, _ := s.GetDeployment(ctx, a.ID, d1.ID)
	if len(d1again.API.Routes) != 2 {
		t.Fatalf("deployment snapshot changed: %d routes", len(d1again.API.Routes))
	}
	d2, _, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "dev", Description: "second"})
	if err != nil {
		t.Fatal(err)
	}
	_, dep, _ := s.Resolve(ctx, a.ID, "dev")
	if dep.ID != d2.ID || len(dep.API.Routes) != 1 {
		t.Fatalf("dev serves %s", dep.ID)
	}
	if err := s.DeleteDeployment(ctx, a.ID, d2.ID); !errors.Is(err, ErrDeploymentInUse) || !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("delete in-use deployment: %v", err)
	}
	rb, err := s.Rollback(ctx, a.ID, "dev", "")
	if err != nil {
		t.Fatal(err)
	}
	if rb.DeploymentID != d1.ID || len(rb.History) != 3 || rb.History[2].Action != ActionRollback {
		t.Fatalf("rollback: %+v", rb)
	}
	if _, err := s.Rollback(ctx, a.ID, "dev", "zzzzzz"); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("rollback to unknown: %v", err)
	}
	if _, err := s.Rollback(ctx, a.ID, "dev", d2.ID); err != nil {
		t.Fatal(err)
	}
	if notified < 6 {
		t.Fatalf("notified %d times", notified)
	}
	_ = st.Close()

	// Everything survives a restart.
	st2, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	s2 := NewService(st2, nil)
	stage, dep2, err := s2.Resolve(ctx, a.ID, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if dep2.ID != d2.ID || stage.Variables["alias"] != "live" || len(stage.History) != 4 {
		t.Fatalf("after restart: %+v", stage)
	}
	deps, _ := s2.ListDeployments(ctx, a.ID)
	if len(deps) != 2 {
		t.Fatalf("deployments after restart: %d", len(deps))
	}
}

func TestDeployNeedsIntegrations(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	a := helloAPI()
	a.Routes[1].Integration = nil
	created := mustCreate(t, s, a)
	if _, _, err := s.Deploy(ctx, created.ID, DeployInput{StageName: "dev"}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("deploy: %v", err)
	}
}

func TestSubstituteStageVariables(t *testing.T) {
	got, err := SubstituteStageVariables("function:hello:${stageVariables.alias}", map[string]string{"alias": "live"})
	if err != nil || got != "function:hello:live" {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := SubstituteStageVariables("http://${stageVariables.host}/x", nil); !errors.Is(err, ErrMissingStageVariable) {
		t.Fatalf("missing: %v", err)
	}
}

func TestFunctionRef(t *testing.T) {
	for in, want := range map[string]string{
		"function:hello":      "hello",
		"function:hello:live": "hello:live",
		"arn:aws:lambda:us-east-1:123456789012:function:f:3":                                                                         "f:3",
		"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:f/invocations": "f",
	} {
		ref, err := FunctionRef(in)
		if err != nil || ref.String() != want {
			t.Errorf("%s: %v %v", in, ref, err)
		}
	}
	for _, bad := range []string{"hello", "function:", "arn:aws:apigateway:us-east-1:lambda:path/functions/x", "function:a:b:c"} {
		if _, err := FunctionRef(bad); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestWebSocketModel(t *testing.T) {
	s, _ := newTestService(t)
	a, err := s.Create(context.Background(), &API{Name: "chat", Protocol: ProtocolWebSocket, Definition: Definition{Routes: []Route{
		{RouteKey: RouteConnect, Integration: &Integration{Type: IntegrationAWSProxy, URI: "function:chat"}},
		{RouteKey: "sendmessage", RouteResponseSelectionExpression: "$default", Integration: &Integration{Type: IntegrationAWSProxy, URI: "function:chat"}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if a.RouteSelectionExpression != "$request.body.action" {
		t.Fatalf("rse %q", a.RouteSelectionExpression)
	}
	_, err = s.Create(context.Background(), &API{Name: "chat", Protocol: ProtocolWebSocket, Definition: Definition{Routes: []Route{{RouteKey: "$weird"}}}})
	if !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("bad route key: %v", err)
	}
}

func TestRouteSelectionExpressionMustParse(t *testing.T) {
	for _, expr := range []string{"", "$request.body.", "$request.body.a..b", "$request.body.a b", "$request.header.x"} {
		a := &API{Name: "ws", Protocol: ProtocolWebSocket, Definition: Definition{RouteSelectionExpression: expr}}
		if err := a.Validate(); err == nil {
			t.Errorf("expression %q was accepted", expr)
		}
	}
	// API Gateway's selection expressions: a path, several variables among
	// static text, a static value.
	for _, expr := range []string{"$request.body.message.action", "${request.body.service}/${request.body.action}", "action", "\\$default"} {
		ok := &API{Name: "ws", Protocol: ProtocolWebSocket, Definition: Definition{RouteSelectionExpression: expr}}
		if err := ok.Validate(); err != nil {
			t.Errorf("expression %q was refused: %v", expr, err)
		}
	}
}

func TestSetMethodSettings(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	a := mustCreate(t, s, helloAPI())
	if _, _, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "dev"}); err != nil {
		t.Fatal(err)
	}
	var notified int
	s.Subscribe(func(string) { notified++ })
	set := map[string]MethodSetting{"*/*": {ThrottlingRateLimit: new(float64(5)), ThrottlingBurstLimit: new(int(2))}, "/hello/GET": {ThrottlingRateLimit: new(float64(1)), ThrottlingBurstLimit: new(int(1))}}
	if _, err := s.SetMethodSettings(ctx, a.ID, "dev", set); err != nil {
		t.Fatal(err)
	}
	st, err := s.GetStage(ctx, a.ID, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.MethodSettings) != 2 || *st.MethodSettings["/hello/GET"].ThrottlingBurstLimit != 1 || notified != 1 {
		t.Fatalf("settings %+v, notified %d", st.MethodSettings, notified)
	}
	if _, err := s.SetMethodSettings(ctx, a.ID, "nope", set); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("unknown stage: %v", err)
	}
	if _, err := s.SetMethodSettings(ctx, a.ID, "dev", map[string]MethodSetting{"": {}}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("empty key: %v", err)
	}
	if _, err := s.SetMethodSettings(ctx, a.ID, "dev", nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.GetStage(ctx, a.ID, "dev"); st.MethodSettings != nil {
		t.Fatalf("cleared settings %+v", st.MethodSettings)
	}
}

// TestRollbackPassesOverDeletedDeployments checks that a rollback with no
// target takes the newest deployment of the history that still exists, and
// that a second one goes back to the deployment the first left.
func TestRollbackPassesOverDeletedDeployments(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	a := mustCreate(t, s, helloAPI())
	var ids []string
	for range 3 {
		d, _, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "s"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	if err := s.DeleteDeployment(ctx, a.ID, ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rollback(ctx, a.ID, "s", ids[1]); !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), "name none") {
		t.Fatalf("rollback to the deleted deployment: %v", err)
	}
	st, err := s.Rollback(ctx, a.ID, "s", "")
	if err != nil {
		t.Fatal(err)
	}
	if st.DeploymentID != ids[0] {
		t.Fatalf("rollback serves %s, want %s (the newest left before %s)", st.DeploymentID, ids[0], ids[2])
	}
	if st, err = s.Rollback(ctx, a.ID, "s", ""); err != nil || st.DeploymentID != ids[2] {
		t.Fatalf("second rollback: %v %+v, want back on %s", err, st, ids[2])
	}
	if err := s.DeleteDeployment(ctx, a.ID, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rollback(ctx, a.ID, "s", ""); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "deploy again") {
		t.Fatalf("rollback with every other deployment deleted: %v", err)
	}
}
