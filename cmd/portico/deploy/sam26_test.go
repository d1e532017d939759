package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
)

// keyedAll is twoFunctions with the REST API's methods requiring an API key
// (a PER_API usage plan), its HTTP API (AutoDeploy $default) and wsParts's
// WebSocket API with a REQUEST authorizer on $connect (AutoDeploy stage dev).
var keyedAll = strings.Replace(twoFunctions, "      StageName: prod\n",
	"      StageName: prod\n      Auth:\n        ApiKeyRequired: true\n        UsagePlan:\n          CreateUsagePlan: PER_API\n", 1) + wsParts

// TestAccessTakenOffByHandIsCorrected: access control the template sets,
// taken off by hand and served (a REST method's apiKeyRequired set false and
// a new deployment made; a WebSocket $connect set to no authorization on an
// AutoDeploy stage; an HTTP API's execute-api endpoint turned back on),
// was not seen: the deploy said "up to date" and the API stayed open. The
// plan (a dry run too) names it, the deploy serves the template's
// definition again, and the deploy after is up to date.
func TestAccessTakenOffByHandIsCorrected(t *testing.T) {
	cases := []struct {
		name, logical, stage, drift string
		served                      bool // the change by hand is served (a new deployment)
	}{
		{name: "REST method's API key, deployed", logical: "Api", stage: "prod", drift: "route GET /hello's API key requirement", served: true},
		{name: "REST method's API key, not deployed", logical: "Api", stage: "prod", drift: "route GET /hello's API key requirement"},
		{name: "WebSocket $connect authorization, AutoDeploy", logical: "Ws", stage: "dev", drift: "route $connect's authorization", served: true},
		{name: "HTTP API execute-api endpoint, AutoDeploy", logical: "ServerlessHttpApi", stage: "$default", drift: "execute-api endpoint (on; the template turns it off)", served: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := fixture(t)
			f := newFake()
			if _, err := deployText(t, f, dir, "s", keyedAll, nil); err != nil {
				t.Fatal(err)
			}
			if p, err := planOf(t, f, dir, "s", keyedAll, nil); err != nil || !p.Empty() {
				t.Fatalf("a plan after the first deploy: %v, %v; want up to date", p, err)
			}
			rec := f.stacks["s"].Resources[tc.logical]
			if rec == nil || rec.Deployment == "" {
				t.Fatalf("no deployment recorded for %s: %+v", tc.logical, rec)
			}
			api := f.apis[rec.PhysicalID]
			// The change by hand.
			api.access = []string{tc.drift}
			if tc.served {
				if api.auto[tc.stage] {
					api.autoDeploy()
				} else {
					api.stages[tc.stage] = api.deploy()
				}
			}
			handDep := api.stages[tc.stage]

			p, err := planOf(t, f, dir, "s", keyedAll, nil)
			if err != nil {
				t.Fatal(err)
			}
			steps := allSteps(p)
			want := []string{"correct API " + rec.PhysicalID + ": its " + tc.drift + " differs from what the stack deployed (deployment " + rec.Deployment,
				"replace the definition and deploy it to stage " + tc.stage}
			if tc.served && !api.auto[tc.stage] {
				// (A stage that deploys automatically serves every change,
				// one by hand that the template does not mind too.)
				want = append(want, "correct stage "+tc.stage+": it serves deployment "+handDep+", not the stack's "+rec.Deployment)
			}
			for _, w := range want {
				if !strings.Contains(steps, w) {
					t.Errorf("plan %s, steps:\n%s\nwant %q", actions(p), steps, w)
				}
			}
			f.calls = nil
			if _, err := deployText(t, f, dir, "s", keyedAll, nil); err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(f.calls, "ReplaceAPI "+rec.PhysicalID) || api.access != nil {
				t.Fatalf("the deploy did not put the definition back: calls %v, access drift %v", f.calls, api.access)
			}
			now := f.stacks["s"].Resources[tc.logical].Deployment
			if now == handDep || api.stages[tc.stage] != now {
				t.Fatalf("stage %s serves %s, the record names %s (the hand's was %s)", tc.stage, api.stages[tc.stage], now, handDep)
			}
			if p, err := planOf(t, f, dir, "s", keyedAll, nil); err != nil || !p.Empty() {
				t.Fatalf("a plan after the correction: %v, %v; want up to date", allSteps(p), err)
			}
		})
	}
}

// TestAccessDrift: what accessDrift compares of a live API with the
// stack's deployment's snapshot, and what it leaves alone.
func TestAccessDrift(t *testing.T) {
	base := func() *apis.API {
		a := &apis.API{}
		a.Routes = []apis.Route{
			{RouteKey: "GET /a", APIKeyRequired: true},
			{RouteKey: "GET /b", Security: []map[string][]string{{"tokens": {}}}},
			{RouteKey: "GET /c", Extensions: map[string]json.RawMessage{apis.ExtAuth: json.RawMessage(`{"type": "AWS_IAM"}`)}},
		}
		a.Authorizers = map[string]json.RawMessage{"tokens": json.RawMessage(`{"type":"apiKey"}`)}
		a.Extensions = map[string]json.RawMessage{
			apis.ExtPolicy:                      json.RawMessage(`{"Statement":[{"Effect":"Deny"}]}`),
			edge.EndpointConfigurationExtension: json.RawMessage(`{"disableExecuteApiEndpoint":true}`),
		}
		return a
	}
	cases := []struct {
		name   string
		change func(a *apis.API)
		want   []string
	}{
		{"same", func(*apis.API) {}, nil},
		{"other fields", func(a *apis.API) { a.Routes[0].Summary = "x"; a.Name = "other" }, nil},
		{"api key", func(a *apis.API) { a.Routes[0].APIKeyRequired = false }, []string{"route GET /a's API key requirement"}},
		{"authorizer taken off", func(a *apis.API) { a.Routes[1].Security = nil }, []string{"route GET /b's authorization"}},
		{"IAM taken off", func(a *apis.API) { a.Routes[2].Extensions = nil }, []string{"route GET /c's authorization"}},
		{"route added", func(a *apis.API) { a.Routes = append(a.Routes, apis.Route{RouteKey: "GET /d"}) }, nil},
		{"route deleted", func(a *apis.API) { a.Routes = a.Routes[1:] }, []string{"route GET /a (deleted)"}},
		{"authorizers", func(a *apis.API) { a.Authorizers = nil }, []string{"authorizers"}},
		{"policy", func(a *apis.API) { delete(a.Extensions, apis.ExtPolicy) }, []string{"resource policy"}},
		{"endpoint", func(a *apis.API) {
			a.Extensions[edge.EndpointConfigurationExtension] = json.RawMessage(`{"disableExecuteApiEndpoint":false}`)
		}, []string{"execute-api endpoint (on; the template turns it off)"}},
		{"key source", func(a *apis.API) { a.APIKeySource = "AUTHORIZER" }, []string{"API key source"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			live := base()
			tc.change(live)
			if got := accessDrift(live, base()); !slices.Equal(got, tc.want) {
				t.Fatalf("accessDrift = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPackageTypeChangeRefusedAtPlan: a function changed from CodeUri (Zip)
// to ImageUri, or back, was planned as an update, passed the dry run, and
// failed at Build with Lambda's "Please don't provide ImageUri when
// updating a function with packageType Zip". The plan refuses it, saying
// what to do, and changes nothing.
func TestPackageTypeChangeRefusedAtPlan(t *testing.T) {
	const zip = `
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      CodeUri: hello
      AutoPublishAlias: live
`
	const image = `
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageUri: portico-samples/hello:v1
      AutoPublishAlias: live
`
	for _, tc := range []struct{ name, from, to, want string }{
		{"Zip to Image", zip, image, "function s-Fn (Fn): its PackageType cannot change from Zip to Image in place"},
		{"Image to Zip", image, zip, "function s-Fn (Fn): its PackageType cannot change from Image to Zip in place"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := fixture(t)
			f := newFake()
			f.tellState = true
			if _, err := deployText(t, f, dir, "s", tc.from, nil); err != nil {
				t.Fatal(err)
			}
			f.calls = nil
			_, err := planOf(t, f, dir, "s", tc.to, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "give it another FunctionName") {
				t.Fatalf("plan err = %v, want %q and what to do", err, tc.want)
			}
			if _, err := deployText(t, f, dir, "s", tc.to, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("deploy err = %v, want %q", err, tc.want)
			}
			if m := f.mutating(); len(m) > 0 {
				t.Fatalf("a refused deploy changed %v", m)
			}
			// A new FunctionName replaces it.
			renamed := strings.Replace(tc.to, "    Properties:\n", "    Properties:\n      FunctionName: fn2\n", 1)
			if _, err := deployText(t, f, dir, "s", renamed, nil); err != nil {
				t.Fatalf("with a new FunctionName: %v", err)
			}
			if _, ok := f.fns["s-Fn"]; ok {
				t.Fatal("the replaced function s-Fn is still there")
			}
		})
	}
}

// TestFailedFirstDeployLeavesNoRecord: a new stack's first deploy that
// failed at Build (its function's name taken meanwhile) was rolled back but
// left an empty record (`portico stack list` showed it with 0 resources and
// no template) (r-sam26 #4). It leaves none.
func TestFailedFirstDeployLeavesNoRecord(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	f.failAt = "PublishVersion"
	_, err := deployText(t, f, dir, "s", twoFunctions, nil)
	if err == nil || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("deploy err = %v, want the injected failure, rolled back", err)
	}
	if !slices.Contains(f.calls, "PutStack s") {
		t.Fatalf("the run wrote no record before failing (calls %v): the test does not test it", f.calls)
	}
	if rec, ok := f.stacks["s"]; ok {
		t.Fatalf("a failed first deploy left stack record %+v", rec)
	}
	if len(f.fns) > 0 || len(f.apis) > 0 {
		t.Fatalf("left functions %v, APIs %v", f.fns, f.apis)
	}
	// A stack that has a record keeps the last deploy's.
	if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
		t.Fatal(err)
	}
	f.failAt = "PublishVersion"
	if _, err := deployText(t, f, dir, "s", strings.Replace(twoFunctions, "Default: hello", "Default: hi", 1), nil); err == nil {
		t.Fatal("the injected failure did not fail the deploy")
	}
	if rec := f.stacks["s"]; rec == nil || len(rec.Resources) == 0 {
		t.Fatalf("a failed redeploy left record %+v, want the last deploy's", rec)
	}
}

// TestShiftLineNamesTheLiveVersion: with the alias moved by hand off the
// recorded version, a traffic shift's progress line named the recorded
// version ("from version 3") while the shift started from the alias's
// (r-sam26 #6). It names the live one.
func TestShiftLineNamesTheLiveVersion(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	f.tellState = true
	text := otherProps("      DeploymentPreference:\n        Type: Linear10PercentEvery1Minute\n")
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := deployText(t, f, dir, "s", strings.Replace(text, "Default: 256", "Default: 512", 1), nil); err != nil {
		t.Fatal(err)
	}
	fn := f.fns["s-Other"]
	if fn.aliases["live"] != "2" {
		t.Fatalf("alias live on %q, want 2", fn.aliases["live"])
	}
	fn.aliases["live"] = "1" // by hand
	_, out, err := deployOutput(t, f, dir, "s", strings.Replace(text, "Default: 256", "Default: 1024", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "alias s-Other:live: shifting traffic from version 1 (not the recorded 2) to version 3"; !strings.Contains(out, want) {
		t.Fatalf("output:\n%s\nwant %q", out, want)
	}
}

// TestNotificationARNsSaidUnsupported: !Ref AWS::NotificationARNs (a
// CloudFormation pseudo parameter) was refused as "no parameter or resource
// is named AWS::NotificationARNs" (r-sam26 #5). It says the pseudo parameter
// is not supported, and an unknown AWS:: name that it is no pseudo
// parameter.
func TestNotificationARNsSaidUnsupported(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{"!Ref AWS::NotificationARNs", "Ref AWS::NotificationARNs: pseudo parameter AWS::NotificationARNs is not supported"},
		{`!Sub "${AWS::NotificationARNs}"`, "!Sub ${AWS::NotificationARNs}: pseudo parameter AWS::NotificationARNs is not supported"},
		{"!Ref AWS::Regio", "Ref AWS::Regio: no pseudo parameter is named AWS::Regio"},
	} {
		t.Run(tc.value, func(t *testing.T) {
			dir := fixture(t)
			text := strings.Replace(twoFunctions, "          GREETING: !Ref Greeting\n", "          GREETING: !Ref Greeting\n          N: "+tc.value+"\n", 1)
			_, err := planOf(t, newFake(), dir, "s", text, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestConditionFunctionAsValueRefused: a condition function used as a
// property's value (XX: !Or [!Condition T, ...] as an environment variable)
// dropped the property without a word (r-sam26 #5): CloudFormation takes
// them in the Conditions section only, and refuses the template. The refusal
// names the resource, the property and the function; the same functions in
// Conditions, read through !If, deploy.
func TestConditionFunctionAsValueRefused(t *testing.T) {
	withConds := strings.Replace(twoFunctions, "Globals:\n", "Conditions:\n  T: !Equals [a, a]\n  U: !Or [!Condition T, !Not [!Equals [a, b]]]\n  V: !And [!Condition T, !Condition U]\nGlobals:\n", 1)
	env := func(line string) string {
		return strings.Replace(withConds, "          GREETING: !Ref Greeting\n", "          GREETING: !Ref Greeting\n"+line, 1)
	}
	for _, tc := range []struct{ name, text, want string }{
		{"Or", env("          XX: !Or [!Condition T, !Condition U]\n"), "resource Hello: property Environment.Variables.XX: Fn::Or is a condition function"},
		{"And", env("          XX: !And [!Condition T, !Condition U]\n"), "Environment.Variables.XX: Fn::And is a condition function"},
		{"Not", env("          XX: !Not [!Condition T]\n"), "Environment.Variables.XX: Fn::Not is a condition function"},
		{"Equals", env("          XX: !Equals [a, a]\n"), "Environment.Variables.XX: Fn::Equals is a condition function"},
		{"in a list", strings.Replace(withConds, "            Method: get\n", "            Method: get\n            RequestParameters: [!Equals [a, a]]\n", 1),
			"resource Hello: property Events.Get.Properties.RequestParameters[0]: Fn::Equals is a condition function"},
		{"output", withConds + "Outputs:\n  O:\n    Value: !Not [!Condition T]\n", "output O: Value: Fn::Not is a condition function"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := planOf(t, newFake(), fixture(t), "s", tc.text, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Conditions section") {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	dir := fixture(t)
	path := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(path, []byte(env("          XX: !If [V, both, not]\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	tpl, err := Load(path, Options{Stack: "s"})
	if err != nil {
		t.Fatalf("condition functions in Conditions, read through !If: %v", err)
	}
	vars, _ := tpl.Resources["Hello"].Properties["Environment"].(map[string]any)["Variables"].(map[string]any)
	if vars["XX"] != "both" {
		t.Fatalf("XX = %v, want both (V holds)", vars["XX"])
	}
}
