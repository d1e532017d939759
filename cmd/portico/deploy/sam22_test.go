package deploy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/accesslog"
)

// withHTTPVariables gives httpStageSettings' HTTP API stage variables.
func withHTTPVariables(text, vars string) string {
	return strings.Replace(text, "      StageName: dev\n", "      StageName: dev\n      StageVariables:\n"+vars, 1)
}

// TestKilledDeployOfHTTPStageCorrected: a killed deploy (which undoes
// nothing) left an HTTP API stage with its throttles, variables and access
// log, and a redeploy of the template the stack recorded said "up to date":
// only REST stages were compared with the template.
func TestKilledDeployOfHTTPStageCorrected(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	good := withHTTPVariables(httpStageSettings, "        alias: live\n")
	if _, err := deployText(t, f, dir, "s", good, nil); err != nil {
		t.Fatal(err)
	}
	api := f.apis[f.stacks["s"].Resources["Http"].PhysicalID]
	check := func(when string) {
		t.Helper()
		v2, vars := api.v2Stage("dev"), api.stage("dev").Variables
		d := v2.DefaultRouteSettings
		if d == nil || d.ThrottlingBurstLimit == nil || *d.ThrottlingBurstLimit != 100 || len(v2.RouteSettings) != 3 || v2.AccessLogSettings == nil ||
			len(vars) != 1 || vars["alias"] != "live" {
			t.Fatalf("%s: stage dev: default %+v, route settings %v, access log %v, variables %v; want the template's (burst 100, 3 routes, a log, alias=live)",
				when, d, v2.RouteSettings, v2.AccessLogSettings, vars)
		}
	}
	check("first deploy")

	// The killed run: other throttles, a route setting and a variable the
	// template does not have, no access log; the server goes away at the
	// record, its last step.
	bad := withHTTPVariables(httpStageSettings, "        alias: other\n        extra: x\n")
	bad = strings.Replace(bad, "ThrottlingBurstLimit: 100", "ThrottlingBurstLimit: 5000", 1)
	bad = strings.Replace(bad, "      AccessLogSettings:\n        DestinationArn: stdout\n        Format: $context.requestId $context.routeKey $context.status\n", "", 1)
	bad = strings.Replace(bad, "            RouteSettings:\n              DetailedMetricsEnabled: true\n", "            RouteSettings:\n              ThrottlingRateLimit: 1\n", 1)
	f.downAt = "PutStack"
	if _, err := deployText(t, f, dir, "s", bad, nil); err == nil {
		t.Fatal("a deploy whose server went away succeeded")
	}
	f.down, f.downAt = false, ""
	if d := api.v2Stage("dev").DefaultRouteSettings; *d.ThrottlingBurstLimit != 5000 || api.stage("dev").Variables["extra"] != "x" || api.v2Stage("dev").AccessLogSettings != nil {
		t.Fatalf("the killed deploy did not get as far as the stage: %+v", api.v2Stage("dev"))
	}

	p, out, err := deployOutput(t, f, dir, "s", good, nil)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, c := range p.Changes {
		steps = append(steps, c.Steps...)
	}
	if all := strings.Join(steps, "\n"); !strings.Contains(all, "correct stage dev: its variables; default route settings; route settings ANY /b; access log differ") {
		t.Fatalf("plan %s, steps:\n%s\noutput:\n%s\nwant a correction of stage dev", actions(p), all, out)
	}
	check("after the redeploy")
	if rs := api.v2Stage("dev").RouteSettings["ANY /b"]; rs.ThrottlingRateLimit != nil || rs.DetailedMetricsEnabled == nil || !*rs.DetailedMetricsEnabled {
		t.Fatalf("route ANY /b after the redeploy: %+v, want the template's (metrics, no throttle)", rs)
	}
	if p, err := deployText(t, f, dir, "s", good, nil); err != nil || !p.Empty() {
		t.Fatalf("a deploy after that: plan %v, err %v; want up to date", p, err)
	}
}

// TestHandChangedWebSocketStageCorrected: a WebSocket API stage's route
// setting and access log added by hand (the template sets neither) are taken
// off by the next deploy, which said "up to date".
func TestHandChangedWebSocketStageCorrected(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	text := `
Transform: AWS::Serverless-2016-10-31
Resources:
  Ws:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: chat
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Ws
      StageName: dev
      AutoDeploy: true
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello
      Runtime: provided.al2
      Handler: bootstrap
      Events:
        Msg:
          Type: WebSocket
          Properties:
            ApiId: !Ref Ws
            Route: $default
`
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	id := f.stacks["s"].Resources["Ws"].PhysicalID
	n, r := 0, 0.0
	st := f.apis[id].v2Stage("dev")
	st.RouteSettings = map[string]RouteSettings{"$default": {ThrottlingBurstLimit: &n, ThrottlingRateLimit: &r}}
	st.AccessLogSettings = &AccessLogSettings{DestinationArn: "stdout", Format: "clf"}
	f.calls = nil
	p, err := deployText(t, f, dir, "s", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Empty() || len(st.RouteSettings) != 0 || st.AccessLogSettings != nil {
		t.Fatalf("plan %s (calls %v) left route settings %v and access log %+v the template does not have", actions(p), f.calls, st.RouteSettings, st.AccessLogSettings)
	}
	if p, err := deployText(t, f, dir, "s", text, nil); err != nil || !p.Empty() {
		t.Fatalf("a deploy after that: plan %v, err %v; want up to date", p, err)
	}
}

// TestHTTPStageDriftReadsTheServersShape: the stage as apigatewayv2's
// GetStage answers it (a throttle not configured left out, the half a
// template leaves out 0, a preset format expanded, a WebSocket stage's
// logging fields) is no drift from the template that set it.
func TestHTTPStageDriftReadsTheServersShape(t *testing.T) {
	n := func(v int) *int { return &v }
	r := func(v float64) *float64 { return &v }
	yes := true
	a := &API{Variables: map[string]string{"alias": "live"}, HTTPStage: &HTTPStage{
		DefaultRouteSettings: &RouteSettings{ThrottlingRateLimit: r(5)},
		RouteSettings:        map[string]RouteSettings{"$default": {DetailedMetricsEnabled: &yes}, "$connect": {}},
		AccessLogSettings:    &AccessLogSettings{DestinationArn: "stdout", Format: "CLF"}}}
	body, err := json.Marshal(map[string]any{
		"stageName": "dev", "autoDeploy": true, "stageVariables": map[string]string{"alias": "live"},
		"defaultRouteSettings": map[string]any{"throttlingBurstLimit": 0, "throttlingRateLimit": 5, "detailedMetricsEnabled": false, "dataTraceEnabled": false, "loggingLevel": "OFF"},
		"routeSettings": map[string]any{
			"$default":    map[string]any{"detailedMetricsEnabled": true, "loggingLevel": "OFF"},
			"$disconnect": map[string]any{"detailedMetricsEnabled": false, "loggingLevel": "INFO"}},
		"accessLogSettings": map[string]string{"destinationArn": "stdout", "format": accesslog.CLF}})
	if err != nil {
		t.Fatal(err)
	}
	live := func() *LiveHTTPStage {
		var s LiveHTTPStage
		if err := json.Unmarshal(body, &s); err != nil {
			t.Fatal(err)
		}
		return &s
	}
	if d := httpStageDrift(a, live()); len(d) != 0 {
		t.Fatalf("drift %v of the stage the template set", d)
	}
	for name, change := range map[string]func(*LiveHTTPStage){
		"variables":                       func(s *LiveHTTPStage) { s.Variables["x"] = "y" },
		"default route settings":          func(s *LiveHTTPStage) { s.DefaultRouteSettings.ThrottlingBurstLimit = nil },
		"route settings $default":         func(s *LiveHTTPStage) { delete(s.RouteSettings, "$default") },
		"route settings $disconnect":      func(s *LiveHTTPStage) { s.RouteSettings["$disconnect"] = RouteSettings{ThrottlingBurstLimit: n(1)} },
		"access log":                      func(s *LiveHTTPStage) { s.AccessLogSettings.Format = "$context.requestId" },
		"access log (to stdout; the temp": func(s *LiveHTTPStage) { s.Variables = map[string]string{"alias": "live"} },
	} {
		s, b := live(), a
		if strings.HasPrefix(name, "access log (") {
			cp := *a
			hs := *a.HTTPStage
			hs.AccessLogSettings = nil
			cp.HTTPStage = &hs
			b = &cp
		}
		change(s)
		if d := strings.Join(httpStageDrift(b, s), "; "); !strings.HasPrefix(d, name) {
			t.Errorf("%s: drift %q", name, d)
		}
	}
}

// TestFailedDeployPutsBackHTTPStageVariables: a failed deploy left an HTTP
// API stage's variables as the failed template set them.
func TestFailedDeployPutsBackHTTPStageVariables(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", withHTTPVariables(httpStageSettings, "        alias: live\n"), nil); err != nil {
		t.Fatal(err)
	}
	api := f.apis[f.stacks["s"].Resources["Http"].PhysicalID]
	f.failAt = "PutStack" // the record, the run's last step
	if _, err := deployText(t, f, dir, "s", withHTTPVariables(httpStageSettings, "        alias: other\n        extra: x\n"), nil); err == nil || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("err = %v, want the injected failure, rolled back", err)
	}
	if vars := api.stage("dev").Variables; len(vars) != 1 || vars["alias"] != "live" {
		t.Fatalf("stage dev's variables after the rollback: %v, want alias=live only", vars)
	}
}

// TestFailedDeployTakesOffNewHTTPStageSettings: a failed deploy that gave an
// HTTP API stage its first route settings and access log left them: only a
// stage the last deploy had set settings on was put back.
func TestFailedDeployTakesOffNewHTTPStageSettings(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	plain := httpStageSettings[:strings.Index(httpStageSettings, "      DefaultRouteSettings:")]
	for _, ev := range []string{"            RouteSettings:\n              ThrottlingBurstLimit: !Ref Burst\n", "            RouteSettings:\n              DetailedMetricsEnabled: true\n"} {
		plain = strings.Replace(plain, ev, "", 1)
	}
	if _, err := deployText(t, f, dir, "s", plain, nil); err != nil {
		t.Fatal(err)
	}
	api := f.apis[f.stacks["s"].Resources["Http"].PhysicalID]
	f.failAt = "PutStack" // the record, the run's last step
	if _, err := deployText(t, f, dir, "s", httpStageSettings, nil); err == nil || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("err = %v, want the injected failure, rolled back", err)
	}
	st := api.v2Stage("dev")
	if d := liveRoute(st.DefaultRouteSettings); len(st.RouteSettings) != 0 || st.AccessLogSettings != nil || d != liveRoute(nil) {
		t.Fatalf("stage dev after the rollback: default %+v, route settings %v, access log %+v; want none", d, st.RouteSettings, st.AccessLogSettings)
	}
}
