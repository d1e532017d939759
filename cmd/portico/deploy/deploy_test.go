package deploy

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/gateway/apis"
)

const twoFunctions = `
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting:
    Type: String
    Default: hello
  Memory:
    Type: Number
    Default: 256
Globals:
  Function:
    Runtime: provided.al2023
    Handler: bootstrap
    MemorySize: !Ref Memory
    Environment:
      Variables:
        SHARED: "yes"
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello
      AutoPublishAlias: live
      Environment:
        Variables:
          GREETING: !Ref Greeting
      Events:
        Get:
          Type: Api
          Properties:
            Path: /hello
            Method: get
            RestApiId: !Ref Api
  Other:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: other
      AutoPublishAlias: live
      Events:
        Any:
          Type: HttpApi
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Variables:
        alias: live
`

// wsCredentials adds a WebSocket API to twoFunctions, with an integration
// declaring credentials.
const wsCredentials = `  Ws:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      ProtocolType: WEBSOCKET
  WsInteg:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Ws
      IntegrationType: AWS_PROXY
      IntegrationUri: !GetAtt Hello.Arn
      CredentialsArn: arn:aws:iam::123456789012:role/r
`

// wsRoute adds a route requiring an API key to wsCredentials.
const wsRoute = `  WsRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Ws
      RouteKey: $default
      ApiKeyRequired: true
      Target: !Join ["/", ["integrations", !Ref WsInteg]]
`

func fixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeCode(t, dir, "hello", "#!/bin/sh\necho hello\n")
	writeCode(t, dir, "other", "#!/bin/sh\necho other\n")
	return dir
}

func TestFirstDeployCreatesEverything(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	p, err := deployText(t, f, dir, "s", twoFunctions, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := actions(p), "Api=create Hello=create Other=create ServerlessHttpApi=create"; got != want {
		t.Fatalf("actions = %s, want %s", got, want)
	}
	h := f.fns["s-Hello"]
	if h == nil || !reflect.DeepEqual(h.versions, []string{"1"}) || h.aliases["live"] != "1" {
		t.Fatalf("function s-Hello = %+v, want version 1 with alias live -> 1", h)
	}
	if got := h.latest.Environment; !reflect.DeepEqual(got, map[string]string{"GREETING": "hello", "SHARED": "yes"}) {
		t.Errorf("environment = %v: Globals and the function's own variables should merge", got)
	}
	if h.latest.MemorySize != 256 {
		t.Errorf("memory = %d, want 256 from the Number parameter through Globals", h.latest.MemorySize)
	}
	rec := f.stacks["s"]
	if rec == nil || len(rec.Resources) != 4 {
		t.Fatalf("record = %+v, want 4 resources", rec)
	}
	api := f.apis[rec.Resources["Api"].PhysicalID]
	if api.stages["prod"] == "" {
		t.Errorf("stage prod was not deployed: %+v", api)
	}
	paths := api.def.Document["paths"].(map[string]any)
	op := paths["/hello"].(map[string]any)["get"].(map[string]any)
	integ := op["x-amazon-apigateway-integration"].(map[string]any)
	if integ["uri"] != "function:s-Hello:live" {
		t.Errorf("integration uri = %v, want the alias function:s-Hello:live", integ["uri"])
	}
	httpAPI := f.apis[rec.Resources["ServerlessHttpApi"].PhysicalID]
	if _, ok := httpAPI.def.Document["paths"].(map[string]any)["$default"]; !ok || httpAPI.stages["$default"] == "" {
		t.Errorf("the HttpApi event without a path should be the $default route on stage $default: %+v", httpAPI)
	}
}

func TestRedeployUnchangedTouchesNothing(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
		t.Fatal(err)
	}
	f.calls = nil
	// A rebuild with the same output (new modification times) is no change.
	writeCode(t, dir, "hello", "#!/bin/sh\necho hello\n")
	p, err := deployText(t, f, dir, "s", twoFunctions, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Empty() || len(f.calls) != 0 {
		t.Fatalf("plan %s made calls %v, want none", actions(p), f.calls)
	}
}

func TestEnvironmentChangePublishesOneVersion(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
		t.Fatal(err)
	}
	f.calls = nil
	p, err := deployText(t, f, dir, "s", twoFunctions, map[string]string{"Greeting": "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := actions(p), "Api=unchanged Hello=update Other=unchanged ServerlessHttpApi=unchanged"; got != want {
		t.Fatalf("actions = %s, want %s", got, want)
	}
	want := []string{"PutFunction s-Hello", "PublishVersion s-Hello", "SetAlias s-Hello:live=2"}
	if got := f.mutating(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	if f.fns["s-Hello"].latest.Environment["GREETING"] != "hi" || len(f.fns["s-Other"].versions) != 1 {
		t.Fatalf("s-Hello env %v, s-Other versions %v", f.fns["s-Hello"].latest.Environment, f.fns["s-Other"].versions)
	}
}

func TestRemovedResourceIsDeleted(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
		t.Fatal(err)
	}
	httpID := f.stacks["s"].Resources["ServerlessHttpApi"].PhysicalID
	without := strings.Replace(twoFunctions, `  Other:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: other
      AutoPublishAlias: live
      Events:
        Any:
          Type: HttpApi
`, "", 1)
	p, err := deployText(t, f, dir, "s", without, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := actions(p), "Api=unchanged Hello=unchanged Other=delete ServerlessHttpApi=delete"; got != want {
		t.Fatalf("actions = %s, want %s", got, want)
	}
	if _, ok := f.fns["s-Other"]; ok {
		t.Error("function s-Other is still there")
	}
	if _, ok := f.apis[httpID]; ok {
		t.Error("the implicit HTTP API is still there")
	}
	if _, ok := f.stacks["s"].Resources["Other"]; ok {
		t.Error("the record still names Other")
	}
}

// TestRenamedStageMovesNamedUsagePlan: a usage plan with a UsagePlanName
// (its fingerprint the same) still moves to the API's renamed stage.
func TestRenamedStageMovesNamedUsagePlan(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	text := strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Auth:\n        ApiKeyRequired: true\n        UsagePlan:\n          CreateUsagePlan: PER_API\n          UsagePlanName: mine\n", 1)
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	rec := f.stacks["s"].Resources["Api"]
	f.calls = nil
	if _, err := deployText(t, f, dir, "s", strings.Replace(text, "StageName: prod", "StageName: v2", 1), nil); err != nil {
		t.Fatal(err)
	}
	if want := "UpdateUsagePlan " + rec.UsagePlanID + " " + rec.PhysicalID + " v2"; !slices.Contains(f.calls, want) {
		t.Errorf("calls %v lack %q", f.calls, want)
	}
}

// TestReplacedFunctionAndAliasAreDeleted: a changed FunctionName replaces the
// function and a changed AutoPublishAlias the alias, as CloudFormation
// replaces them: the old ones are deleted once the new ones serve (they were
// left on the server, and reverting the name then failed: "already exists and
// is not part of stack").
func TestReplacedFunctionAndAliasAreDeleted(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
		t.Fatal(err)
	}
	renamed := strings.Replace(twoFunctions, "      CodeUri: hello\n", "      CodeUri: hello\n      FunctionName: renamed\n", 1)
	p, err := deployText(t, f, dir, "s", renamed, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p.Print(&out)
	if !strings.Contains(out.String(), "delete function s-Hello (replaced: its FunctionName changed)") {
		t.Errorf("the plan does not list the deletion:\n%s", out.String())
	}
	if _, ok := f.fns["s-Hello"]; ok {
		t.Error("function s-Hello is still there after the rename")
	}
	if _, ok := f.fns["renamed"]; !ok || f.stacks["s"].Resources["Hello"].PhysicalID != "renamed" {
		t.Errorf("function renamed: %v, record %+v", ok, f.stacks["s"].Resources["Hello"])
	}
	if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
		t.Fatalf("reverting the name: %v", err)
	}
	if _, ok := f.fns["renamed"]; ok {
		t.Error("function renamed is still there after the revert")
	}

	f.calls = nil
	prod := strings.Replace(twoFunctions, "      CodeUri: hello\n      AutoPublishAlias: live\n", "      CodeUri: hello\n      AutoPublishAlias: prod\n      ProvisionedConcurrencyConfig:\n        ProvisionedConcurrentExecutions: 1\n", 1)
	if _, err := deployText(t, f, dir, "s", prod, nil); err != nil {
		t.Fatal(err)
	}
	if got := f.fns["s-Hello"].aliases; got["live"] != "" || got["prod"] == "" {
		t.Errorf("aliases = %v, want prod only", got)
	}
	if !slices.Contains(f.calls, "DeleteAlias s-Hello:live") {
		t.Errorf("calls %v lack DeleteAlias s-Hello:live", f.calls)
	}
	f.calls = nil
	if _, err := deployText(t, f, dir, "s", strings.Replace(twoFunctions, "      CodeUri: hello\n      AutoPublishAlias: live\n", "      CodeUri: hello\n", 1), nil); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(f.calls, "DeleteAlias s-Hello:prod") {
		t.Errorf("dropping AutoPublishAlias: calls %v lack DeleteAlias s-Hello:prod", f.calls)
	}
}

// TestDeleteStack: deleting a stack deletes its functions, APIs and usage
// plans, then its record, so the template deploys again from nothing (only
// the record was forgotten, and the next deploy failed: "already exists and
// is not part of stack").
func TestDeleteStack(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	text := strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Auth:\n        UsagePlan:\n          CreateUsagePlan: PER_API\n", 1)
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := DeletePlan(ctx, f, "s")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p.Print(&out)
	if got, want := actions(p), "Api=delete Hello=delete Other=delete ServerlessHttpApi=delete"; got != want {
		t.Fatalf("actions = %s, want %s\n%s", got, want, out.String())
	}
	if err := Apply(ctx, f, p, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Stack s deleted: 4 resources deleted.") {
		t.Errorf("output:\n%s", out.String())
	}
	if len(f.fns) != 0 || len(f.apis) != 0 || len(f.plans) != 0 || f.stacks["s"] != nil {
		t.Fatalf("left: functions %v, APIs %v, plans %v, record %v", f.fns, f.apis, f.plans, f.stacks["s"])
	}
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatalf("deploying again: %v", err)
	}
	if _, err := DeletePlan(ctx, f, "nope"); err == nil || !strings.Contains(err.Error(), "stack nope does not exist") {
		t.Fatalf("an unknown stack: %v", err)
	}
}

func TestFailureMidwayRollsBack(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
		t.Fatal(err)
	}
	before := f.stacks["s"]
	apiID := before.Resources["Api"].PhysicalID
	servedBefore := f.apis[apiID].stages["prod"]
	latestBefore, defBefore := *f.fns["s-Hello"].latest, *f.apis[apiID].def
	// Change the function's environment and add a route, then fail deploying
	// the API: the alias must point back at version 1, the new function must go.
	changed := strings.Replace(twoFunctions, "            Path: /hello\n", "            Path: /hello2\n", 1) + `  Third:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: other
`
	f.failAt = "Deploy"
	_, err := deployText(t, f, dir, "s", changed, map[string]string{"Greeting": "hi"})
	if err == nil || !strings.Contains(err.Error(), "injected failure") || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("err = %v, want the injected failure, rolled back", err)
	}
	if got := f.fns["s-Hello"].aliases["live"]; got != "1" {
		t.Errorf("alias live -> %s after the failure, want 1", got)
	}
	if _, ok := f.fns["s-Third"]; ok {
		t.Error("function s-Third, created by the failed deploy, is still there")
	}
	if got := f.apis[apiID].stages["prod"]; got != servedBefore {
		t.Errorf("stage prod serves %s, want %s", got, servedBefore)
	}
	if got := *f.fns["s-Hello"].latest; !reflect.DeepEqual(got, latestBefore) {
		t.Errorf("$LATEST of s-Hello after the failure has environment %v, want %v", got.Environment, latestBefore.Environment)
	}
	if got := *f.apis[apiID].def; !reflect.DeepEqual(got, defBefore) {
		t.Errorf("the definition of API %s was not put back", apiID)
	}
	if !reflect.DeepEqual(f.stacks["s"], before) {
		t.Error("the stack record changed")
	}
	// The next deploy finishes the job.
	f.calls = nil
	p, err := deployText(t, f, dir, "s", changed, map[string]string{"Greeting": "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := actions(p), "Api=update Hello=update Other=unchanged ServerlessHttpApi=unchanged Third=create"; got != want {
		t.Fatalf("actions = %s, want %s", got, want)
	}
}

// TestFailedReplacePutsBackWhatWasThere checks that a deploy failing at any
// step after it replaced a function's $LATEST or an API's definition (the
// replace itself, the switch, a later resource's stage settings) puts back
// what was there before, as CloudFormation's rollback does.
func TestFailedReplacePutsBackWhatWasThere(t *testing.T) {
	changed := strings.Replace(twoFunctions, "            Path: /hello\n", "            Path: /hello2\n", 1)
	changed = strings.Replace(changed, "        alias: live\n", "        alias: live\n        extra: x\n", 1)
	changed = strings.Replace(changed, "      AutoPublishAlias: live\n", "      AutoPublishAlias: live\n      ReservedConcurrentExecutions: 5\n", 1)
	for _, failAt := range []string{"PutFunction", "ReplaceAPI", "SetAlias", "Deploy", "PatchStage"} {
		t.Run(failAt, func(t *testing.T) {
			dir := fixture(t)
			f := newFake()
			if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
				t.Fatal(err)
			}
			apiID := f.stacks["s"].Resources["Api"].PhysicalID
			latestBefore, defBefore := *f.fns["s-Hello"].latest, *f.apis[apiID].def
			f.failAt = failAt
			if _, err := deployText(t, f, dir, "s", changed, map[string]string{"Greeting": "hi"}); err == nil || !strings.Contains(err.Error(), "rolled back") {
				t.Fatalf("err = %v, want the injected failure, rolled back", err)
			}
			if f.failAt != "" {
				t.Fatalf("the deploy never called %s", failAt)
			}
			if got := *f.fns["s-Hello"].latest; !reflect.DeepEqual(got, latestBefore) {
				t.Errorf("$LATEST of s-Hello has environment %v, want %v", got.Environment, latestBefore.Environment)
			}
			if got := *f.apis[apiID].def; !reflect.DeepEqual(got, defBefore) {
				t.Errorf("the definition of API %s was not put back", apiID)
			}
			if r := f.fns["s-Hello"].reserved; r != nil {
				t.Errorf("reserved concurrency of s-Hello is %d after the failure, want none", *r)
			}
		})
	}
}

// TestMinimumCompressionSize checks that an AWS::Serverless::Api's
// MinimumCompressionSize reaches the API's definition (the gateway enforces
// it) instead of being ignored with a warning.
func TestMinimumCompressionSize(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	text := strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      MinimumCompressionSize: 1024\n", 1)
	p, err := deployText(t, f, dir, "s", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(p.Warnings, "\n"), "MinimumCompressionSize") {
		t.Fatalf("warnings: %q", p.Warnings)
	}
	def := f.apis[f.stacks["s"].Resources["Api"].PhysicalID].def
	if got := def.Document["x-amazon-apigateway-minimum-compression-size"]; got != 1024 {
		t.Fatalf("x-amazon-apigateway-minimum-compression-size = %v (%T), want 1024", got, got)
	}
}

func TestFunctionNameTakenByAnotherStack(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	f.fns["s-Hello"] = &fakeFn{aliases: map[string]string{}}
	_, err := deployText(t, f, dir, "s", twoFunctions, nil)
	if err == nil || !strings.Contains(err.Error(), "function s-Hello (Hello) already exists and is not part of stack s") {
		t.Fatalf("err = %v", err)
	}
	if len(f.calls) != 0 {
		t.Fatalf("calls %v, want none", f.calls)
	}
}

func TestBadTemplates(t *testing.T) {
	dir := fixture(t)
	if err := os.WriteFile(filepath.Join(dir, "hello", "api.yaml"), []byte("openapi: 3.0.1\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      x-amazon-apigateway-integration:\n        type: aws_proxy\n        httpMethod: POST\n        uri:\n          Fn::Sub: arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Hello.Arn}/invocations\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A function's source, as a SAM user points CodeUri at it for sam build.
	if err := os.MkdirAll(filepath.Join(dir, "greeter"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "greeter", "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, text string
		params     map[string]string
		want       string
	}{
		{"not yaml", "Resources: [\n  {{{", nil, "is not a YAML or JSON template"},
		{"not a mapping", "just words", nil, "its top level must be a mapping"},
		{"bad json", `{"Transform": "AWS::Serverless-2016-10-31", "Resources": {`, nil, "is not a YAML or JSON template"},
		{"no transform", "Resources:\n  A:\n    Type: AWS::Serverless::Function\n", nil, "Transform must be AWS::Serverless-2016-10-31"},
		{"unknown ref", strings.Replace(twoFunctions, "!Ref Greeting", "!Ref Greting", 1), nil, "Ref Greting: no parameter or resource is named Greting"},
		{"usage plan key ref without a plan", strings.Replace(twoFunctions, "!Ref Greeting", "!Ref ApiApiKey", 1), nil,
			"Ref ApiApiKey: SAM makes ApiApiKey only for an API whose Auth.UsagePlan says CreateUsagePlan: PER_API, and Api's does not"},
		{"usage plan key ref in its API's function", strings.Replace(strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Auth:\n        ApiKeyRequired: true\n        UsagePlan:\n          CreateUsagePlan: PER_API\n", 1), "!Ref Greeting", "!Ref ApiApiKey", 1), nil,
			"environment variable GREETING names Api.ApiKey (AWS::Serverless::Api), whose routes call Hello: the function would depend on the API that depends on it"},
		{"shared key getatt without a shared plan", strings.Replace(twoFunctions, "!Ref Greeting", "!GetAtt ServerlessApiKey.APIKeyId", 1), nil,
			"!GetAtt ServerlessApiKey.APIKeyId: SAM makes ServerlessApiKey only when an AWS::Serverless::Api's Auth.UsagePlan says CreateUsagePlan: SHARED"},
		{"implicit usage plan sub", strings.Replace(twoFunctions, "!Ref Greeting", `!Sub "${ServerlessRestApiUsagePlan}"`, 1), nil,
			"!Sub ${ServerlessRestApiUsagePlan}: no parameter or resource is named ServerlessRestApiUsagePlan"},
		{"unknown sub", strings.Replace(twoFunctions, "!Ref Greeting", `!Sub "${Nope}-x"`, 1), nil, "!Sub ${Nope}: no parameter or resource is named Nope"},
		{"unknown getatt", strings.Replace(twoFunctions, "!Ref Greeting", "!GetAtt Other.Nope", 1), nil, "Other (AWS::Serverless::Function) has no attribute Nope"},
		{"reference cycle", strings.Replace(strings.Replace(twoFunctions, "!Ref Greeting", "!GetAtt Other.Arn", 1), "      CodeUri: other\n", "      CodeUri: other\n      Environment:\n        Variables:\n          HELLO: !Sub \"${Hello}\"\n", 1), nil,
			"circular dependency between resources: [Hello, Other] (Hello -> Other -> Hello, through DependsOn, Ref, Fn::GetAtt or Fn::Sub)"},
		{"self reference", strings.Replace(twoFunctions, "!Ref Greeting", "!Ref Hello", 1), nil, "circular dependency between resources: [Hello] (Hello -> Hello"},
		{"missing code", strings.Replace(twoFunctions, "CodeUri: other", "CodeUri: missing", 1), nil, "CodeUri missing: " + filepath.Join(dir, "missing") + " does not exist"},
		{"no bootstrap", strings.Replace(twoFunctions, "CodeUri: other", "CodeUri: .", 1), nil, "holds no bootstrap executable at its top level: build your function into DIR/bootstrap"},
		{"go source, no bootstrap", strings.Replace(twoFunctions, "CodeUri: other", "CodeUri: greeter", 1), nil,
			"holds Go source but no bootstrap executable at its top level: build it there with `CGO_ENABLED=0 GOOS=linux go build -o bootstrap .`"},
		{"unknown parameter", twoFunctions, map[string]string{"Nope": "1"}, "--parameter-overrides names Nope"},
		{"bad number", twoFunctions, map[string]string{"Memory": "lots"}, "parameter Memory is a Number"},
		{"allowed pattern", strings.Replace(twoFunctions, "    Default: hello\n", "    Default: hello\n    AllowedPattern: '[a-z]+'\n    ConstraintDescription: lower-case letters only\n", 1), map[string]string{"Greeting": "Hi there"},
			`parameter Greeting is "Hi there", which does not match its AllowedPattern [a-z]+: lower-case letters only`},
		{"max length", strings.Replace(twoFunctions, "    Default: hello\n", "    Default: hello\n    MaxLength: 5\n", 1), map[string]string{"Greeting": "hello!"}, "is longer than its MaxLength 5"},
		{"min value", strings.Replace(twoFunctions, "    Default: 256\n", "    Default: 256\n    MinValue: 128\n", 1), map[string]string{"Memory": "64"}, "is below its MinValue 128"},
		{"ssm parameter", strings.Replace(twoFunctions, "    Type: String\n", "    Type: AWS::SSM::Parameter::Value<String>\n", 1), nil, "Portico cannot resolve: it has no Systems Manager Parameter Store"},
		{"runtime", strings.Replace(twoFunctions, "provided.al2023", "python3.12", 1), nil, "Runtime python3.12 is not supported"},
		{"unknown authorizer", strings.Replace(twoFunctions, "            RestApiId: !Ref Api\n", "            RestApiId: !Ref Api\n            Auth:\n              Authorizer: Nope\n", 1), nil, "Authorizer Nope is not one of the API's Auth.Authorizers"},
		{"cognito", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Auth:\n        Authorizers:\n          Pool:\n            UserPoolArn: arn:aws:cognito-idp:x\n", 1), nil, "Cognito user pool authorizers are refused"},
		{"resource policy", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Auth:\n        ResourcePolicy:\n          IpRangeBlacklist: {a: b}\n", 1), nil, "IpRangeBlacklist must be a list"},
		{"vpc policy", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Auth:\n        ResourcePolicy:\n          SourceVpcWhitelist: [vpc-1]\n", 1), nil, "SourceVpcWhitelist is refused"},
		{"api invoke role", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Auth:\n        InvokeRole: arn:aws:iam::123456789012:role/api\n", 1), nil, "Api Auth.InvokeRole is refused"},
		{"event invoke role", strings.Replace(twoFunctions, "            RestApiId: !Ref Api\n", "            RestApiId: !Ref Api\n            Auth:\n              InvokeRole: arn:aws:iam::123456789012:role/r\n", 1), nil, "Auth.InvokeRole is refused"},
		{"authorizer invoke role", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Auth:\n        Authorizers:\n          Tok:\n            FunctionArn: !GetAtt Hello.Arn\n            FunctionInvokeRole: arn:aws:iam::123456789012:role/r\n", 1), nil, "Authorizers.Tok.FunctionInvokeRole is refused"},
		{"private endpoint", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      EndpointConfiguration:\n        Type: PRIVATE\n", 1), nil, "property EndpointConfiguration is refused: PRIVATE endpoints"},
		{"disabled endpoint not a bool", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      DisableExecuteApiEndpoint: yes please\n", 1), nil, "property DisableExecuteApiEndpoint is refused"},
		{"fail on warnings", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      FailOnWarnings: true\n      DefinitionBody:\n        openapi: 3.0.1\n        info: {title: t, version: '1'}\n        externalDocs: {url: 'https://example.com'}\n        paths: {}\n", 1), nil, "FailOnWarnings is set and the API definition has warnings: externalDocs is ignored"},
		{"gateway response unknown property", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      GatewayResponses:\n        DEFAULT_4XX:\n          Status: 400\n", 1), nil, "GatewayResponses.DEFAULT_4XX.Status is refused"},
		{"ws integration credentials", twoFunctions + wsCredentials, nil, "property CredentialsArn is refused"},
		{"ws vpc link", strings.Replace(twoFunctions+wsCredentials, "CredentialsArn: arn:aws:iam::123456789012:role/r", "ConnectionType: VPC_LINK", 1), nil, "property ConnectionType is refused"},
		{"ws route api key", strings.Replace(twoFunctions+wsCredentials, "      CredentialsArn: arn:aws:iam::123456789012:role/r\n", "", 1) + wsRoute, nil, "ApiKeyRequired is refused on route $default"},
		{"shared usage plans differ", strings.Replace(readTestdata(t, "shared-plan-two-apis.yaml"), "UsagePlanName: both", "UsagePlanName: b", 1), nil,
			"A and B: Auth.UsagePlan.UsagePlanName differ, and both APIs share ServerlessUsagePlan (CreateUsagePlan SHARED): set it on one of them only"},
		{"globals private endpoint on the implicit api", strings.Replace(readTestdata(t, "globals-implicit.yaml"), "  Api:\n", "  Api:\n    EndpointConfiguration: PRIVATE\n", 1), nil,
			"ServerlessRestApi (AWS::Serverless::Api): property EndpointConfiguration is refused"},
		{"globals cognito on the implicit api", strings.Replace(readTestdata(t, "globals-implicit.yaml"), "      ApiKeyRequired: true\n", "      ApiKeyRequired: true\n      Authorizers:\n        Pool:\n          UserPoolArn: arn:aws:cognito-idp:x\n", 1), nil,
			"Cognito user pool authorizers are refused"},
		{"timeout out of range", strings.Replace(twoFunctions, "      CodeUri: other\n", "      CodeUri: other\n      Timeout: 1000\n", 1), nil, "Other: Timeout 1000 is out of range: it must be between 1 and 900 seconds"},
		{"memory out of range", strings.Replace(twoFunctions, "      CodeUri: other\n", "      CodeUri: other\n      MemorySize: 20000\n", 1), nil, "Other: MemorySize 20000 is out of range: it must be between 128 and 10240 MB"},
		{"environment name lambda refuses", strings.Replace(twoFunctions, "GREETING: !Ref Greeting", "G: !Ref Greeting", 1), nil, `Hello: 1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+] (the name "G" does not match)`},
		{"reserved environment name", strings.Replace(twoFunctions, "GREETING: !Ref Greeting", "AWS_REGION: !Ref Greeting", 1), nil, "reserved keys"},
		{"negative reserved concurrency", strings.Replace(twoFunctions, "      CodeUri: other\n", "      CodeUri: other\n      ReservedConcurrentExecutions: -1\n", 1), nil, "ReservedConcurrentExecutions -1 must not be negative"},
		{"event auth misspelled", strings.Replace(twoFunctions, "            RestApiId: !Ref Api\n", "            RestApiId: !Ref Api\n            Auth:\n              ApiKeyRequried: true\n", 1), nil, "Auth.ApiKeyRequried is refused"},
		{"stage name", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: bad stage!\n", 1), nil, `Api: stage name "bad stage!" must match`},
		{"stage variable name", strings.Replace(twoFunctions, "        alias: live\n", "        bad-name: live\n", 1), nil, `Api: stage variable name "bad-name" must match`},
		{"nested application", twoFunctions + "  App:\n    Type: AWS::Serverless::Application\n    Properties:\n      Location: app.yaml\n", nil, "App (AWS::Serverless::Application): nested applications are refused"},
		{"cors credentials with any origin", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Cors:\n        AllowMethods: \"'GET'\"\n        AllowCredentials: true\n", 1), nil, "Api: Cors: AllowCredentials cannot be true when AllowOrigin is '*' or not set"},
		{"cors unknown property", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Cors:\n        AllowOrigins: \"'https://x'\"\n", 1), nil, "Api: Cors.AllowOrigins is refused"},
		{"api auth list", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Auth:\n        - ApiKeyRequired: true\n", 1), nil, "Api (AWS::Serverless::Api): property Auth must be a mapping (DefaultAuthorizer, Authorizers, ...), not a list"},
		{"http api auth list", httpAuth[:strings.Index(httpAuth, "      Auth:\n        DefaultAuthorizer")] + "      Auth:\n        - DefaultAuthorizer: Lam\n", nil, "Http (AWS::Serverless::HttpApi): property Auth must be a mapping"},
		{"globals api auth list", strings.Replace(twoFunctions, "Globals:\n", "Globals:\n  Api:\n    Auth:\n      - ApiKeyRequired: true\n", 1), nil, "Globals.Api.Auth must be a mapping (DefaultAuthorizer, Authorizers, ...), not a list"},
		{"events list", strings.Replace(twoFunctions, "      Events:\n        Any:\n          Type: HttpApi\n", "      Events:\n        - Type: HttpApi\n", 1), nil, "Other (AWS::Serverless::Function): property Events must be a mapping"},
		{"events string", strings.Replace(twoFunctions, "      Events:\n        Any:\n          Type: HttpApi\n", "      Events: HttpApi\n", 1), nil, `property Events must be a mapping (event names to {Type, Properties}), not the string "HttpApi"`},
		{"event not a mapping", strings.Replace(twoFunctions, "        Any:\n          Type: HttpApi\n", "        Any: HttpApi\n", 1), nil, `Other (AWS::Serverless::Function): Events.Any must be a mapping with Type and Properties, not the string "HttpApi"`},
		{"event auth string", strings.Replace(twoFunctions, "            RestApiId: !Ref Api\n", "            RestApiId: !Ref Api\n            Auth: ApiKeyRequired\n", 1), nil, `Hello event Get (Api): property Auth must be a mapping (ApiKeyRequired, Authorizer, AuthorizationScopes, ...), not the string "ApiKeyRequired"`},
		{"authorizers list", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Auth:\n        Authorizers: [a]\n", 1), nil, "Api Auth.Authorizers must map authorizer names to their settings, not a list"},
		// A setting of the wrong shape fails the build: ignored, it would leave the default in place.
		{"simple responses not a bool", strings.Replace(httpAuth, "EnableSimpleResponses: true", "EnableSimpleResponses: [true]", 1), nil, "Authorizers.Lam: EnableSimpleResponses must be true or false, not a list"},
		{"jwt identity source context", strings.Replace(httpAuth, "IdentitySource: $request.header.Authorization", "IdentitySource: $context.requestId", 1), nil, "Authorizers.Jwt: IdentitySource $context.requestId"},
		{"jwt identity source stage variable", strings.Replace(httpAuth, "IdentitySource: $request.header.Authorization", "IdentitySource: $stageVariables.token", 1), nil, "Authorizers.Jwt: IdentitySource $stageVariables.token"},
		{"jwt identity source list", strings.Replace(httpAuth, "IdentitySource: $request.header.Authorization", "IdentitySource: [$request.header.Authorization]", 1), nil, "Authorizers.Jwt: IdentitySource must be a string, not a list"},
		{"payload format mapping", strings.Replace(httpAuth, "EnableSimpleResponses: true", "AuthorizerPayloadFormatVersion: {v: 2}", 1), nil, "Authorizers.Lam: AuthorizerPayloadFormatVersion must be a string, not a mapping"},
		{"token header list", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Auth:\n        Authorizers:\n          Tok:\n            FunctionArn: !GetAtt Hello.Arn\n            Identity:\n              Header: [X-Token]\n", 1), nil, "Authorizers.Tok.Identity: Header must be a string, not a list"},
		{"usage plan name list", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Auth:\n        UsagePlan:\n          CreateUsagePlan: PER_API\n          UsagePlanName: [a]\n", 1), nil, "Auth.UsagePlan: UsagePlanName must be a string, not a list"},
		{"method setting path list", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      MethodSettings:\n        - ResourcePath: [/a]\n          HttpMethod: GET\n          ThrottlingRateLimit: 1\n", 1), nil, "Api: MethodSettings[0]: ResourcePath must be a string, not a list"},
		{"cors credentials string", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Cors:\n        AllowOrigin: \"'https://x'\"\n        AllowCredentials: sure\n", 1), nil, `Api: Cors: AllowCredentials must be true or false, not the string "sure"`},
		{"ws route authorization list", strings.Replace(twoFunctions+wsCredentials, "      CredentialsArn: arn:aws:iam::123456789012:role/r\n", "", 1) + strings.Replace(wsRoute, "      ApiKeyRequired: true\n", "      AuthorizationType: [AWS_IAM]\n", 1), nil, "WsRoute: AuthorizationType must be a string, not a list"},
		{"usage plan throttle list", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Auth:\n        UsagePlan:\n          CreateUsagePlan: PER_API\n          Throttle: [10]\n", 1), nil, "Api Auth.UsagePlan.Throttle must be a mapping, not a list"},
		{"unknown tag", strings.Replace(twoFunctions, "      CodeUri: other\n", "      CodeUri: other\n      Description: !Frobnicate x\n", 1), nil, "template.yaml: line 38: unknown tag !Frobnicate: the short forms of intrinsic functions are !And,"},
		{"misspelled ref tag", strings.Replace(twoFunctions, "!Ref Greeting", "!Refx Greeting", 1), nil, "unknown tag !Refx"},
		{"unknown tag on a mapping", strings.Replace(twoFunctions, "      CodeUri: other\n", "      CodeUri: other\n      Environment: !Frob\n        Variables: {A: b}\n", 1), nil, "unknown tag !Frob"},
		{"misspelled globals property", strings.Replace(twoFunctions, "    Handler: bootstrap\n", "    Handler: bootstrap\n    Timout: 10\n", 1), nil, "Globals.Function: 'Timout' is not a supported property of 'Function' (did you mean Timeout?)"},
		{"misspelled property", strings.Replace(twoFunctions, "      CodeUri: other\n", "      CodeUri: other\n      MemorySise: 256\n", 1), nil, "Other (AWS::Serverless::Function): 'MemorySise' is not a supported property of 'Function' (did you mean MemorySize?)"},
		{"misspelled parameter type", strings.Replace(twoFunctions, "    Type: String\n", "    Type: Strin\n", 1), nil, `parameter Greeting: Unrecognized parameter type: "Strin"`},
		{"invalid method", strings.Replace(twoFunctions, "Method: get", "Method: fetch", 1), nil, `Hello event Get (Api): Method "FETCH" is not an HTTP method API Gateway serves`},
		{"null variable", strings.Replace(twoFunctions, "        SHARED: \"yes\"\n", "        SHARED: \"yes\"\n        EMPTY:\n", 1), nil, "[/Globals/Function/Environment/Variables/EMPTY] 'null' values are not allowed in templates"},
		{"null resource property", strings.Replace(twoFunctions, "          GREETING: !Ref Greeting\n", "          GREETING: !Ref Greeting\n          NOTHING: null\n", 1), nil, "[/Resources/Hello/Properties/Environment/Variables/NOTHING] 'null' values are not allowed"},
		{"memory not a number", strings.Replace(twoFunctions, "      CodeUri: other\n", "      CodeUri: other\n      MemorySize: lots\n", 1), nil, `Other (AWS::Serverless::Function): property MemorySize: expected an integer, got the string "lots"`},
		{"memory not an integer", strings.Replace(twoFunctions, "      CodeUri: other\n", "      CodeUri: other\n      MemorySize: 256.5\n", 1), nil, `Other (AWS::Serverless::Function): property MemorySize: expected an integer, got the number 256.5`},
		{"environment list", strings.Replace(twoFunctions, "      CodeUri: other\n", "      CodeUri: other\n      Environment: [a]\n", 1), nil, "Other (AWS::Serverless::Function): property Environment: expected a mapping, got a list"},
		{"stage variable mapping", strings.Replace(twoFunctions, "        alias: live\n", "        alias: {b: c}\n", 1), nil, "Api (AWS::Serverless::Api): property Variables.alias: expected a string, got a mapping"},
		{"event method list", strings.Replace(twoFunctions, "            Method: get\n", "            Method: [get]\n", 1), nil, "Hello event Get (Api): property Method: expected a string, got a list"},
		{"intrinsic in definition uri", strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      DefinitionUri: hello/api.yaml\n", 1), nil,
			"Api: DefinitionUri hello/api.yaml has Fn::Sub at /paths/~1a/get/x-amazon-apigateway-integration/uri: intrinsic functions in a DefinitionUri file are not resolved (as in SAM); move the document into the template as DefinitionBody"},
		{"zero provisioned concurrency", strings.Replace(twoFunctions, "      CodeUri: other\n", "      CodeUri: other\n      ProvisionedConcurrencyConfig:\n        ProvisionedConcurrentExecutions: 0\n", 1), nil, "Other: ProvisionedConcurrentExecutions 0 is out of range: it must be at least 1"},
		{"allowed values not a list", strings.Replace(twoFunctions, "    Default: hello\n", "    Default: hello\n    AllowedValues: hello\n", 1), nil, `parameter Greeting: AllowedValues must be a list, not the string "hello"`},
		{"resources list", "Transform: AWS::Serverless-2016-10-31\nResources: []\n", nil, "Resources must be a mapping (logical ids to {Type, Properties}), not a list"},
		{"resource properties list", strings.Replace(twoFunctions, "    Properties:\n      StageName: prod\n      Variables:\n        alias: live\n", "    Properties: [StageName]\n", 1), nil, "resource Api: Properties must be a mapping (property names to values), not a list"},
		{"event on unknown api", strings.Replace(twoFunctions, "RestApiId: !Ref Api", "RestApiId: !Ref Hello", 1), nil, "RestApiId must be !Ref to an AWS::Serverless::Api"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			_, err := deployText(t, f, dir, "s", tc.text, tc.params)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if len(f.calls) != 0 {
				t.Fatalf("calls %v, want none", f.calls)
			}
		})
	}
}

// TestCognitoDefaultAuthorizerOneError: a Cognito authorizer, the API's
// DefaultAuthorizer, is refused once; its events are not also told that the
// authorizer is not one of the API's Auth.Authorizers (it is declared).
func TestCognitoDefaultAuthorizerOneError(t *testing.T) {
	dir := fixture(t)
	text := strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Auth:\n        DefaultAuthorizer: Cog\n        Authorizers:\n          Cog:\n            UserPoolArn: arn:aws:cognito-idp:us-east-1:123456789012:userpool/x\n", 1)
	f := newFake()
	_, err := deployText(t, f, dir, "s", text, nil)
	if err == nil || !strings.Contains(err.Error(), "Api Auth.Authorizers.Cog: Cognito user pool authorizers are refused") {
		t.Fatalf("err = %v, want the Cognito authorizer refused", err)
	}
	if strings.Contains(err.Error(), "is not one of the API's Auth.Authorizers") {
		t.Fatalf("err = %v, want only the first error", err)
	}
	if len(f.calls) != 0 {
		t.Fatalf("calls %v, want none", f.calls)
	}
}

func TestUnsupportedPropertiesAreNamed(t *testing.T) {
	dir := fixture(t)
	text := strings.Replace(twoFunctions, "      CodeUri: hello\n", "      CodeUri: hello\n      Tags: {team: x}\n      FunctionUrlConfig: {AuthType: NONE}\n", 1) +
		"  Table:\n    Type: AWS::DynamoDB::Table\n"
	path := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	tpl, err := Load(path, Options{Stack: "s"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Build(tpl)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(d.Warnings, "\n")
	for _, want := range []string{
		"Hello (AWS::Serverless::Function): property FunctionUrlConfig is not supported by Portico and is ignored: no function URL is served",
		"Hello (AWS::Serverless::Function): property Tags is not supported",
		"Table: resource type AWS::DynamoDB::Table is not supported",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
}

func TestAuthAndStageSettings(t *testing.T) {
	dir := fixture(t)
	text := strings.Replace(twoFunctions, "      StageName: prod\n", `      StageName: prod
      CacheClusterEnabled: true
      MethodSettings:
        - ResourcePath: "/*"
          HttpMethod: "*"
          ThrottlingRateLimit: 10
          ThrottlingBurstLimit: 5
      Cors: "'*'"
      Auth:
        ApiKeyRequired: true
        UsagePlan:
          CreateUsagePlan: PER_API
          Quota:
            Limit: 100
            Period: DAY
        Authorizers:
          Tok:
            FunctionArn: !GetAtt Other.Arn
        DefaultAuthorizer: Tok
`, 1)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	rec := f.stacks["s"].Resources["Api"]
	api := f.apis[rec.PhysicalID]
	op := api.def.Document["paths"].(map[string]any)["/hello"].(map[string]any)["get"].(map[string]any)
	sec, _ := op["security"].([]any)
	if len(sec) != 2 {
		t.Fatalf("security = %v, want the API key and authorizer Tok", op["security"])
	}
	if _, ok := api.def.Document["paths"].(map[string]any)["/hello"].(map[string]any)["options"]; !ok {
		t.Error("Cors should add an OPTIONS method")
	}
	ops := api.stageOps["prod"]
	want := []PatchOp{{"replace", "/cacheClusterEnabled", "true"}, {"replace", "/*/*/throttling/burstLimit", "5"},
		{"replace", "/*/*/throttling/rateLimit", "10"}, {"replace", "/variables/alias", "live"}}
	if !reflect.DeepEqual(ops, want) {
		t.Errorf("stage ops = %v, want %v", ops, want)
	}
	if rec.UsagePlanID == "" || f.plans[rec.UsagePlanID].Quota["limit"] != float64(100) {
		t.Errorf("usage plan %q = %+v", rec.UsagePlanID, f.plans[rec.UsagePlanID])
	}
	// A changed quota updates the plan in place (its keys stay with it).
	f.calls = nil
	if _, err := deployText(t, f, dir, "s", strings.Replace(text, "Limit: 100", "Limit: 200", 1), nil); err != nil {
		t.Fatal(err)
	}
	if got, want := f.mutating(), []string{"UpdateUsagePlan " + rec.UsagePlanID + " " + rec.PhysicalID + " prod"}; !reflect.DeepEqual(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
	if f.plans[rec.UsagePlanID].Quota["limit"] != float64(200) {
		t.Errorf("plan = %+v", f.plans[rec.UsagePlanID])
	}
}

const httpAuth = `
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: provided.al2023
    Handler: bootstrap
    CodeUri: hello
Resources:
  Authz:
    Type: AWS::Serverless::Function
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Jwt:
          Type: HttpApi
          Properties:
            ApiId: !Ref Http
            Path: /jwt
            Method: GET
            Auth:
              Authorizer: Jwt
              AuthorizationScopes: [read]
        Lambda:
          Type: HttpApi
          Properties:
            ApiId: !Ref Http
            Path: /lambda
            Method: GET
        Open:
          Type: HttpApi
          Properties:
            ApiId: !Ref Http
            Path: /open
            Method: GET
            Auth:
              Authorizer: NONE
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      StageName: live
      CorsConfiguration:
        AllowOrigins: ["https://example.com"]
      Auth:
        DefaultAuthorizer: Lam
        Authorizers:
          Jwt:
            JwtConfiguration:
              issuer: https://issuer.example.com
              audience: [portico]
            IdentitySource: $request.header.Authorization
          Lam:
            FunctionArn: !GetAtt Authz.Arn
            Identity:
              Headers: [X-Token]
            EnableSimpleResponses: true
`

func TestHTTPAPIAuthorizers(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", httpAuth, nil); err != nil {
		t.Fatal(err)
	}
	api := f.apis[f.stacks["s"].Resources["Http"].PhysicalID]
	paths := api.def.Document["paths"].(map[string]any)
	sec := func(p string) any { return paths[p].(map[string]any)["get"].(map[string]any)["security"] }
	if got := sec("/jwt"); !reflect.DeepEqual(got, []any{map[string]any{"Jwt": []any{"read"}}}) {
		t.Errorf("/jwt security = %v", got)
	}
	if got := sec("/lambda"); !reflect.DeepEqual(got, []any{map[string]any{"Lam": []any{}}}) {
		t.Errorf("/lambda security = %v, want the default authorizer", got)
	}
	if got := sec("/open"); got != nil {
		t.Errorf("/open security = %v, want none (Authorizer: NONE)", got)
	}
	if api.stages["live"] == "" {
		t.Error("stage live was not deployed")
	}
	// A misspelt JWT setting is refused, not dropped.
	typo := strings.Replace(httpAuth, "              audience: [portico]\n", "              audience: [portico]\n              audiences: [other]\n", 1)
	if _, err := deployText(t, newFake(), dir, "s2", typo, nil); err == nil || !strings.Contains(err.Error(), `"audiences" is not a JWT setting`) {
		t.Errorf("JwtConfiguration with audiences: %v", err)
	}
}

func TestCanaryRedeployGoesToTheCanary(t *testing.T) {
	dir := fixture(t)
	text := strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      CanarySetting:\n        PercentTraffic: 10\n", 1)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	api := f.apis[f.stacks["s"].Resources["Api"].PhysicalID]
	first := api.stages["prod"]
	if _, err := deployText(t, f, dir, "s", strings.Replace(text, "Path: /hello", "Path: /hello2", 1), nil); err != nil {
		t.Fatal(err)
	}
	if api.stages["prod"] != first || api.canary["prod"] == "" || api.canary["prod"] == first {
		t.Fatalf("stage prod -> %s (was %s), canary -> %s: the changed API should go to the canary only", api.stages["prod"], first, api.canary["prod"])
	}
}

func TestWebSocketEvent(t *testing.T) {
	dir := fixture(t)
	text := `
Transform: AWS::Serverless-2016-10-31
Resources:
  Ws:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      ProtocolType: WEBSOCKET
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
      AutoPublishAlias: live
      Events:
        Msg:
          Type: WebSocket
          Properties:
            ApiId: !Ref Ws
            Route: $default
`
	f := newFake()
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	api := f.apis[f.stacks["s"].Resources["Ws"].PhysicalID]
	want := []WSRoute{{Key: "$default", URI: "function:s-Fn:live", Type: "AWS_PROXY"}}
	if !reflect.DeepEqual(api.def.Routes, want) || api.stages["dev"] == "" {
		t.Fatalf("routes %+v stages %v, want %+v on stage dev", api.def.Routes, api.stages, want)
	}
}

func TestRefsPortikoCannotResolve(t *testing.T) {
	dir := fixture(t)
	for name, tc := range map[string]struct{ text, want string }{
		"table": {strings.Replace(twoFunctions, "!Ref Greeting", "!Ref Table", 1) + "  Table:\n    Type: AWS::DynamoDB::Table\n",
			"Hello names Table (AWS::DynamoDB::Table), which Portico cannot put there"},
		"api id in env": {strings.Replace(twoFunctions, "!Ref Greeting", "!Ref Api", 1), "Hello: environment variable GREETING names Api (AWS::Serverless::Api)"},
		"retain":        {strings.Replace(twoFunctions, "  Other:\n    Type: AWS::Serverless::Function\n", "  Other:\n    Type: AWS::Serverless::Function\n    DeletionPolicy: Retain\n", 1), "DeletionPolicy Retain is not supported"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake()
			_, err := deployText(t, f, dir, "s", tc.text, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestConcurrencySettingsPublishNothing(t *testing.T) {
	dir := fixture(t)
	text := strings.Replace(twoFunctions, "      AutoPublishAlias: live\n      Environment:", "      AutoPublishAlias: live\n      ReservedConcurrentExecutions: 5\n      ProvisionedConcurrencyConfig:\n        ProvisionedConcurrentExecutions: 2\n      Environment:", 1)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	if r := f.fns["s-Hello"].reserved; r == nil || *r != 5 {
		t.Fatalf("reserved = %v, want 5", r)
	}
	f.calls = nil
	changed := strings.Replace(strings.Replace(text, "ReservedConcurrentExecutions: 5", "ReservedConcurrentExecutions: 3", 1), "ProvisionedConcurrentExecutions: 2", "ProvisionedConcurrentExecutions: 1", 1)
	if _, err := deployText(t, f, dir, "s", changed, nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"SetReserved s-Hello", "SetProvisioned s-Hello live 1"}
	if got := f.mutating(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %v, want %v (no new version)", got, want)
	}
}

func TestImageFunction(t *testing.T) {
	dir := fixture(t)
	text := `
Transform: AWS::Serverless-2016-10-31
Resources:
  Img:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageUri: portico-samples/hello:v1
      AutoPublishAlias: live
`
	f := newFake()
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	if got := f.fns["s-Img"].latest.ImageURI; got != "portico-samples/hello:v1" {
		t.Fatalf("image = %q", got)
	}
	f.calls = nil
	if _, err := deployText(t, f, dir, "s", strings.Replace(text, ":v1", ":v2", 1), nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"PutFunction s-Img", "PublishVersion s-Img", "SetAlias s-Img:live=2"}
	if got := f.mutating(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	if _, err := deployText(t, newFake(), dir, "s", strings.Replace(text, "      ImageUri: portico-samples/hello:v1\n", "", 1), nil); err == nil || !strings.Contains(err.Error(), "PackageType Image needs ImageUri") {
		t.Fatalf("err = %v", err)
	}
}

// TestImageFunctionRefusedAtPlan: an Image function that the server cannot
// make (its runtime runs Zip functions only) stops the deploy at the plan,
// before any change, for a new stack and for one that exists.
func TestImageFunctionRefusedAtPlan(t *testing.T) {
	dir := fixture(t)
	img := `
Transform: AWS::Serverless-2016-10-31
Resources:
  Img:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageUri: portico-samples/hello:v1
`
	f := newFake()
	f.noImages = errors.New("the process runtime this server uses runs Zip functions only")
	for _, stack := range []string{"new", "old"} {
		if stack == "old" {
			f.noImages, f.calls = nil, nil
			if _, err := deployText(t, f, dir, stack, twoFunctions, nil); err != nil {
				t.Fatal(err)
			}
			f.noImages = errors.New("the process runtime this server uses runs Zip functions only")
		}
		f.calls = nil
		_, err := deployText(t, f, dir, stack, img, nil)
		if err == nil || !strings.Contains(err.Error(), "Img: ImageUri portico-samples/hello:v1: the process runtime") {
			t.Fatalf("stack %s: err = %v", stack, err)
		}
		if got := f.mutating(); len(got) != 0 {
			t.Fatalf("stack %s: calls %v before the refusal", stack, got)
		}
	}
}

func TestMappingsAndConditions(t *testing.T) {
	dir := fixture(t)
	text := strings.Replace(twoFunctions, "Resources:\n", `Mappings:
  Sizes:
    prod:
      Memory: 512
Conditions:
  IsProd: !Equals [!Ref Greeting, prod]
Resources:
`, 1)
	text = strings.Replace(text, "GREETING: !Ref Greeting", `GREETING: !If [IsProd, "production", !FindInMap [Sizes, prod, Memory]]`, 1)
	for _, tc := range []struct {
		greeting, want string
	}{{"prod", "production"}, {"dev", "512"}} {
		f := newFake()
		if _, err := deployText(t, f, dir, "s", text, map[string]string{"Greeting": tc.greeting}); err != nil {
			t.Fatal(err)
		}
		if got := f.fns["s-Hello"].latest.Environment["GREETING"]; got != tc.want {
			t.Errorf("Greeting=%s: GREETING = %q, want %q", tc.greeting, got, tc.want)
		}
	}
	bad := strings.Replace(text, "[Sizes, prod, Memory]", "[Sizes, test, Memory]", 1)
	if _, err := deployText(t, newFake(), dir, "s", bad, map[string]string{"Greeting": "dev"}); err == nil || !strings.Contains(err.Error(), "Mappings has no such entry") {
		t.Errorf("err = %v", err)
	}
}

// TestDirDigestFollowsDirectoryLinks: a file under a subdirectory that is a
// symbolic link is part of the code (the zip holds it), so changing it changes
// the digest and the next deploy updates the function.
func TestDirDigestFollowsDirectoryLinks(t *testing.T) {
	dir, shared := fixture(t), t.TempDir()
	if err := os.WriteFile(filepath.Join(shared, "page.html"), []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(shared, filepath.Join(dir, "hello", "lib")); err != nil {
		t.Fatal(err)
	}
	before, err := dirDigest(filepath.Join(dir, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shared, "page.html"), []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if after, err := dirDigest(filepath.Join(dir, "hello")); after == before || err != nil {
		t.Errorf("digest after lib/page.html changed = %q, %v; want it to differ from %q", after, err, before)
	}
}

func TestZipCodeUri(t *testing.T) {
	dir := fixture(t)
	zipped, err := client.ZipDir(filepath.Join(dir, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hello.zip"), zipped, 0o600); err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(twoFunctions, "CodeUri: hello", "CodeUri: hello.zip", 1)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	got, err := f.fns["s-Hello"].latest.Package()
	if err != nil || !bytes.Equal(got, zipped) {
		t.Fatalf("package = %d bytes, %v; want the zip file as it is", len(got), err)
	}
	// The same files as a directory or as a zip are the same code.
	dirSum, _ := dirDigest(filepath.Join(dir, "hello"))
	if zipSum, _ := zipDigest(filepath.Join(dir, "hello.zip")); zipSum != dirSum || dirSum == "" {
		t.Errorf("zip digest %q, directory digest %q", zipSum, dirSum)
	}
	// A CodeUri that is a symbolic link to the directory is the directory.
	if err := os.Symlink("hello", filepath.Join(dir, "hello-link")); err != nil {
		t.Fatal(err)
	}
	if linkSum, err := dirDigest(filepath.Join(dir, "hello-link")); linkSum != dirSum || err != nil {
		t.Errorf("digest through a symbolic link = %q, %v; want %q", linkSum, err, dirSum)
	}
	if err := os.Chmod(filepath.Join(dir, "other", "bootstrap"), 0o644); err != nil { //nolint:gosec // a test fixture
		t.Fatal(err)
	}
	if _, err := deployText(t, newFake(), dir, "s2", twoFunctions, nil); err == nil || !strings.Contains(err.Error(), "bootstrap is not executable") {
		t.Fatalf("err = %v, want bootstrap is not executable", err)
	}
}

// TestIAMInvokeRole: an AWS_IAM method's integration calls the function with
// the caller's credentials unless InvokeRole is NONE, as SAM's default
// (CALLER_CREDENTIALS) says; the event's InvokeRole overrides the API's.
func TestIAMInvokeRole(t *testing.T) {
	cases := []struct {
		name, apiAuth, eventAuth, want string
	}{
		{"default", "        DefaultAuthorizer: AWS_IAM\n", "", apis.CallerCredentials},
		{"api CALLER_CREDENTIALS", "        DefaultAuthorizer: AWS_IAM\n        InvokeRole: CALLER_CREDENTIALS\n", "", apis.CallerCredentials},
		{"api NONE", "        DefaultAuthorizer: AWS_IAM\n        InvokeRole: NONE\n", "", ""},
		{"event NONE over the api's default", "        DefaultAuthorizer: AWS_IAM\n", "              InvokeRole: NONE\n", ""},
		{"event AWS_IAM, api NONE, event CALLER_CREDENTIALS", "        InvokeRole: NONE\n",
			"              Authorizer: AWS_IAM\n              InvokeRole: CALLER_CREDENTIALS\n", apis.CallerCredentials},
		{"no AWS_IAM", "        InvokeRole: CALLER_CREDENTIALS\n", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Auth:\n"+tc.apiAuth, 1)
			if tc.eventAuth != "" {
				text = strings.Replace(text, "            RestApiId: !Ref Api\n", "            RestApiId: !Ref Api\n            Auth:\n"+tc.eventAuth, 1)
			}
			f := newFake()
			if _, err := deployText(t, f, fixture(t), "s", text, nil); err != nil {
				t.Fatal(err)
			}
			api := f.apis[f.stacks["s"].Resources["Api"].PhysicalID]
			op := api.def.Document["paths"].(map[string]any)["/hello"].(map[string]any)["get"].(map[string]any)
			got, _ := op["x-amazon-apigateway-integration"].(map[string]any)["credentials"].(string)
			if got != tc.want {
				t.Errorf("integration credentials = %q, want %q", got, tc.want)
			}
		})
	}
}

// readTestdata returns a template from testdata.
func readTestdata(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestFunctionPropertiesNameOtherFunctions: !GetAtt B.Arn, !Ref B and !Sub
// ${B.Arn} inside a function's own properties resolve to the other function's
// ARN and name, as they do elsewhere in the template.
func TestFunctionPropertiesNameOtherFunctions(t *testing.T) {
	f := newFake()
	if _, err := deployText(t, f, fixture(t), "s", readTestdata(t, "function-refs.yaml"), nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"OTHER":      "arn:aws:lambda:us-east-1:000000000000:function:s-B",
		"OTHER_NAME": "s-B",
		"BOTH":       "arn:aws:lambda:us-east-1:000000000000:function:s-B s-B named-fn",
	}
	if got := f.fns["s-A"].latest.Environment; !reflect.DeepEqual(got, want) {
		t.Fatalf("environment of s-A = %v, want %v", got, want)
	}
}

// TestGlobalsApplyToImplicitAPIs: Globals.Api and Globals.HttpApi apply to
// the implicit ServerlessRestApi and ServerlessHttpApi as to a declared API:
// the API key, usage plan, stage variables and authorizer they declare are on
// the implicit APIs, whose stages stay Prod and $default.
func TestGlobalsApplyToImplicitAPIs(t *testing.T) {
	f := newFake()
	if _, err := deployText(t, f, fixture(t), "s", readTestdata(t, "globals-implicit.yaml"), nil); err != nil {
		t.Fatal(err)
	}
	rec := f.stacks["s"].Resources
	rest := f.apis[rec["ServerlessRestApi"].PhysicalID]
	paths := rest.def.Document["paths"].(map[string]any)
	sec := func(paths map[string]any, p string) any {
		return paths[p].(map[string]any)["get"].(map[string]any)["security"]
	}
	if got := sec(paths, "/a"); !reflect.DeepEqual(got, []any{map[string]any{"api_key": []any{}}}) {
		t.Errorf("GET /a security = %v, want the API key Globals.Api requires", got)
	}
	if got := sec(paths, "/open"); got != nil {
		t.Errorf("GET /open security = %v, want none (the event's ApiKeyRequired: false)", got)
	}
	if rest.stages["Prod"] == "" || !reflect.DeepEqual(rest.stageOps["Prod"], []PatchOp{{"replace", "/variables/fromGlobals", "yes"}}) {
		t.Errorf("stages %v, stage ops %v: want stage Prod with Globals.Api's variables", rest.stages, rest.stageOps)
	}
	if plan := f.plans[rec["ServerlessRestApi"].UsagePlanID]; plan == nil || plan.Quota["limit"] != float64(100) {
		t.Errorf("usage plan = %+v, want Globals.Api's PER_API plan", plan)
	}
	httpAPI := f.apis[rec["ServerlessHttpApi"].PhysicalID]
	if got := sec(httpAPI.def.Document["paths"].(map[string]any), "/h"); !reflect.DeepEqual(got, []any{map[string]any{"Lam": []any{}}}) {
		t.Errorf("GET /h security = %v, want Globals.HttpApi's default authorizer", got)
	}
	if httpAPI.stages["$default"] == "" {
		t.Errorf("HTTP API stages %v, want $default", httpAPI.stages)
	}
}

// TestAPIKeySourceType: an Api's ApiKeySourceType becomes the API's key
// source (x-amazon-apigateway-api-key-source), which the gateway enforces,
// instead of a warning; a value other than HEADER or AUTHORIZER is refused.
func TestAPIKeySourceType(t *testing.T) {
	text := readTestdata(t, "api-key-source.yaml")
	f := newFake()
	p, err := deployText(t, f, fixture(t), "s", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(p.Warnings, "\n"); strings.Contains(w, "ApiKeySourceType") {
		t.Errorf("warnings: %s", w)
	}
	doc := f.apis[f.stacks["s"].Resources["Api"].PhysicalID].def.Document
	if got := doc["x-amazon-apigateway-api-key-source"]; got != "AUTHORIZER" {
		t.Errorf("x-amazon-apigateway-api-key-source = %v, want AUTHORIZER", got)
	}
	bad := strings.Replace(text, "ApiKeySourceType: AUTHORIZER", "ApiKeySourceType: QUERY", 1)
	if _, err := deployText(t, newFake(), fixture(t), "s", bad, nil); err == nil || !strings.Contains(err.Error(), "ApiKeySourceType must be HEADER or AUTHORIZER, not QUERY") {
		t.Errorf("err = %v, want ApiKeySourceType QUERY refused", err)
	}
}

// TestRequestValidation: an Api event's RequestModel and RequestParameters,
// and the Api's Models, become what SAM makes of them (the model, the request
// body, the parameters, the request validator), which the gateway enforces,
// instead of warnings. A model or required parameter that no validator checks
// is named in a warning; what SAM refuses, or Portico cannot add, is refused.
func TestRequestValidation(t *testing.T) {
	text := readTestdata(t, "request-validation.yaml")
	f := newFake()
	p, err := deployText(t, f, fixture(t), "s", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(p.Warnings, "\n"); strings.Contains(w, "Request") || strings.Contains(w, "Models") {
		t.Errorf("warnings: %s", w)
	}
	doc := f.apis[f.stacks["s"].Resources["Api"].PhysicalID].def.Document
	if got := doc["components"].(map[string]any)["schemas"].(map[string]any)["pet"]; got == nil {
		t.Errorf("components.schemas = %v, want model pet (SAM lowercases model names)", doc["components"])
	}
	if got, want := doc["x-amazon-apigateway-request-validators"], map[string]any{
		"body-and-params": map[string]any{"validateRequestBody": true, "validateRequestParameters": true}}; !reflect.DeepEqual(got, want) {
		t.Errorf("request validators = %v, want %v", got, want)
	}
	op := doc["paths"].(map[string]any)["/pets"].(map[string]any)["post"].(map[string]any)
	wantOp := map[string]any{
		"x-amazon-apigateway-request-validator": "body-and-params",
		"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{
			"schema": map[string]any{"$ref": "#/components/schemas/pet"}}}},
		"parameters": []any{
			map[string]any{"in": "query", "name": "q", "required": true, "schema": map[string]any{"type": "string"}},
			map[string]any{"in": "header", "name": "X-Trace", "required": false, "schema": map[string]any{"type": "string"}},
		},
	}
	for k, want := range wantOp {
		if got := op[k]; !reflect.DeepEqual(got, want) {
			t.Errorf("POST /pets %s = %v, want %v", k, got, want)
		}
	}
	if got := op["x-amazon-apigateway-integration"].(map[string]any)["cacheKeyParameters"]; !reflect.DeepEqual(got, []any{"method.request.querystring.q"}) {
		t.Errorf("cacheKeyParameters = %v, want the parameter with Caching: true", got)
	}

	// The audit's sam6 as written: ValidateParameters unset is false, as in
	// SAM, so the required parameter is not checked, and a warning says so.
	p, err = deployText(t, newFake(), fixture(t), "s", strings.Replace(text, "              ValidateParameters: true\n", "", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(p.Warnings, "\n"); !strings.Contains(w, "required parameter method.request.querystring.q is not checked") {
		t.Errorf("warnings lack the unchecked required parameter: %s", w)
	}

	cases := []struct{ name, from, to, want string }{
		{"unknown model", "Model: Pet", "Model: Dog", "RequestModel.Model Dog is not one of the API's Models (the API's Models are Pet)"},
		{"validate not a boolean", "ValidateBody: true", "ValidateBody: \"yes\"", "RequestModel.ValidateBody must be true or false"},
		{"unknown model property", "Required: true\n              ValidateBody", "Required: true\n              Strict: true\n              ValidateBody", "RequestModel.Strict is refused"},
		{"bad parameter name", "method.request.header.X-Trace", "method.request.body.x", "RequestParameters \"method.request.body.x\" must be method.request.querystring.NAME"},
		{"bad parameter setting", "Caching: true", "Cached: true", "RequestParameters method.request.querystring.q: Cached is refused"},
		{"not a schema", "name: {type: string}", "name: {type: 5}", "the API definition is refused: document does not load"},
		{"not a draft 4 schema", "name: {type: string}", "name: {type: string, pattern: \"(\"}", "model \"pet\""},
		{"definition body defines the method", "      Models:\n", "      DefinitionBody:\n        openapi: 3.0.1\n        info: {title: t, version: \"1\"}\n        paths:\n          /pets:\n            post:\n              responses: {}\n      Models:\n",
			"RequestModel and RequestParameters cannot be added to POST /pets, which the API's definition defines"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(text, tc.from, tc.to, 1)
			if bad == text {
				t.Fatalf("%q is not in the template", tc.from)
			}
			f := newFake()
			if _, err := deployText(t, f, fixture(t), "s", bad, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if len(f.calls) != 0 {
				t.Fatalf("calls %v, want none", f.calls)
			}
		})
	}
}

// TestAuthDefaultsApplyToDefinitionBody: an Api's Auth.ApiKeyRequired applies
// to the methods its DefinitionBody defines, as SAM applies it, those with
// security of their own (security: [] too) included, unless their security
// holds SAM's api_key_false marker; an event's Auth on a method the body
// defines is refused rather than dropped (the method would be open).
func TestAuthDefaultsApplyToDefinitionBody(t *testing.T) {
	f := newFake()
	if _, err := deployText(t, f, fixture(t), "s", readTestdata(t, "body-auth.yaml"), nil); err != nil {
		t.Fatal(err)
	}
	doc := f.apis[f.stacks["s"].Resources["Api"].PhysicalID].def.Document
	paths := doc["paths"].(map[string]any)
	sec := func(p string) any { return paths[p].(map[string]any)["get"].(map[string]any)["security"] }
	key := []any{map[string]any{"api_key": []any{}}}
	if got := sec("/body"); !reflect.DeepEqual(got, key) {
		t.Errorf("GET /body (the DefinitionBody's) security = %v, want the API key Auth requires", got)
	}
	if got := sec("/x"); !reflect.DeepEqual(got, key) {
		t.Errorf("GET /x (the event's) security = %v, want the API key", got)
	}
	if got := sec("/public"); !reflect.DeepEqual(got, key) {
		t.Errorf("GET /public (security: []) security = %v, want the API key, as SAM adds it", got)
	}
	if got := sec("/open"); !reflect.DeepEqual(got, []any{}) {
		t.Errorf("GET /open (api_key_false) security = %v, want none", got)
	}
	text := strings.Replace(readTestdata(t, "body-auth.yaml"), "            Path: /x\n            Method: get\n",
		"            Path: /body\n            Method: get\n            Auth:\n              ApiKeyRequired: false\n", 1)
	text = strings.Replace(text, "          /body:\n            get:\n              x-amazon-apigateway-integration:\n", "          /body:\n            get:\n              responses: {}\n              x-unused:\n", 1)
	if _, err := deployText(t, newFake(), fixture(t), "s2", text, nil); err == nil || !strings.Contains(err.Error(), "Auth cannot be added to GET /body") {
		t.Fatalf("an event's Auth on a method the body defines: %v", err)
	}
}

// TestAuthDefaultsAsSAMAppliesThem: an Api's DefaultAuthorizer and
// ApiKeyRequired reach OPTIONS methods (an event's and the CORS preflights)
// and the DefinitionBody's methods with security of their own, as SAM's
// set_path_default_authorizer and set_path_default_apikey_required apply
// them; NONE keeps the default authorizer off; the CORS flags keep the
// defaults off the OPTIONS methods, but not the API key an OPTIONS event
// requires itself. An Auth property SAM does not know is refused.
func TestAuthDefaultsAsSAMAppliesThem(t *testing.T) {
	tok, key := map[string]any{"Tok": []any{}}, map[string]any{"api_key": []any{}}
	cases := []struct {
		name, flags string
		want        map[string]any // "METHOD /path" -> security
	}{
		{"defaults", "", map[string]any{
			"OPTIONS /o": []any{key, tok}, "GET /o": []any{tok, key},
			"GET /keyed": []any{key, tok}, "OPTIONS /keyed": []any{tok, key},
			"GET /none": []any{key}, "OPTIONS /none": []any{tok, key},
		}},
		{"preflights left out", "        AddDefaultAuthorizerToCorsPreflight: false\n        AddApiKeyRequiredToCorsPreflight: false\n", map[string]any{
			"OPTIONS /o": []any{key}, "GET /o": []any{tok, key},
			"GET /keyed": []any{key, tok}, "OPTIONS /keyed": nil,
			"GET /none": []any{key}, "OPTIONS /none": nil,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(readTestdata(t, "auth-defaults.yaml"), "        DefaultAuthorizer: Tok\n", "        DefaultAuthorizer: Tok\n"+tc.flags, 1)
			f := newFake()
			if _, err := deployText(t, f, fixture(t), "s", text, nil); err != nil {
				t.Fatal(err)
			}
			paths := f.apis[f.stacks["s"].Resources["Api"].PhysicalID].def.Document["paths"].(map[string]any)
			for _, k := range slices.Sorted(maps.Keys(tc.want)) {
				m, p, _ := strings.Cut(k, " ")
				got := paths[p].(map[string]any)[strings.ToLower(m)].(map[string]any)["security"]
				if !reflect.DeepEqual(got, tc.want[k]) {
					t.Errorf("%s security = %v, want %v", k, got, tc.want[k])
				}
			}
		})
	}
	typo := strings.Replace(readTestdata(t, "auth-defaults.yaml"), "        DefaultAuthorizer: Tok\n", "        DefaultAuthoriser: Tok\n", 1)
	if _, err := deployText(t, newFake(), fixture(t), "s", typo, nil); err == nil || !strings.Contains(err.Error(), "Api Auth.DefaultAuthoriser is refused") {
		t.Fatalf("a misspelled Auth property: %v", err)
	}
}

// TestHTTPAuthorizerScopes: an HttpApi authorizer's AuthorizationScopes are
// the scopes of the routes that use it without scopes of their own, as the
// default authorizer or an event's, as SAM sets them.
func TestHTTPAuthorizerScopes(t *testing.T) {
	text := strings.Replace(httpAuth, "            IdentitySource: $request.header.Authorization\n",
		"            IdentitySource: $request.header.Authorization\n            AuthorizationScopes: [admin]\n", 1)
	text = strings.Replace(text, "        DefaultAuthorizer: Lam\n", "        DefaultAuthorizer: Jwt\n", 1)
	text = strings.Replace(text, "            Path: /jwt\n            Method: GET\n            Auth:\n              Authorizer: Jwt\n              AuthorizationScopes: [read]\n",
		"            Path: /jwt\n            Method: GET\n            Auth:\n              Authorizer: Jwt\n", 1)
	text = strings.Replace(text, "  Http:\n", `        Read:
          Type: HttpApi
          Properties:
            ApiId: !Ref Http
            Path: /read
            Method: GET
            Auth:
              Authorizer: Jwt
              AuthorizationScopes: [read]
  Http:
`, 1)
	f := newFake()
	if _, err := deployText(t, f, fixture(t), "s", text, nil); err != nil {
		t.Fatal(err)
	}
	paths := f.apis[f.stacks["s"].Resources["Http"].PhysicalID].def.Document["paths"].(map[string]any)
	sec := func(p string) any { return paths[p].(map[string]any)["get"].(map[string]any)["security"] }
	admin := []any{map[string]any{"Jwt": []any{"admin"}}}
	if got := sec("/jwt"); !reflect.DeepEqual(got, admin) {
		t.Errorf("/jwt (Authorizer: Jwt) security = %v, want %v", got, admin)
	}
	if got := sec("/lambda"); !reflect.DeepEqual(got, admin) {
		t.Errorf("/lambda (the default authorizer) security = %v, want %v", got, admin)
	}
	if got := sec("/read"); !reflect.DeepEqual(got, []any{map[string]any{"Jwt": []any{"read"}}}) {
		t.Errorf("/read (its own scopes) security = %v", got)
	}
	if got := sec("/open"); got != nil {
		t.Errorf("/open (Authorizer: NONE) security = %v, want none", got)
	}
}

// TestDuplicateEventRoutes: two events on one method of an API, or an event
// on a method the DefinitionBody integrates, are refused as SAM refuses them
// (one was dropped); a DefinitionBody method without an integration takes
// the event's, as SAM gives it.
func TestDuplicateEventRoutes(t *testing.T) {
	sameAsHello := "      Events:\n        Get:\n          Type: Api\n          Properties:\n            Path: /hello\n            Method: GET\n            RestApiId: !Ref Api\n"
	cases := []struct{ name, text, want string }{
		{"two api events", strings.Replace(twoFunctions, "      Events:\n        Any:\n          Type: HttpApi\n", sameAsHello, 1),
			`Other event Get (Api): API method "get" defined multiple times for path "/hello" (Hello event Get (Api) adds it too)`},
		{"two http api events", strings.Replace(twoFunctions, "        Get:\n          Type: Api\n", "        Any:\n          Type: HttpApi\n        Get:\n          Type: Api\n", 1),
			`Other event Any (HttpApi): API method "any" defined multiple times for path "$default" (Hello event Any (HttpApi) adds it too)`},
		{"event on a body method", strings.Replace(readTestdata(t, "body-auth.yaml"), "            Path: /x\n", "            Path: /body\n", 1),
			`F event Get (Api): API method "get" defined multiple times for path "/body" (the API's DefinitionBody defines it)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			if _, err := deployText(t, f, fixture(t), "s", tc.text, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if len(f.calls) != 0 {
				t.Fatalf("calls %v, want none", f.calls)
			}
		})
	}
	text := strings.Replace(readTestdata(t, "body-auth.yaml"), "            Path: /x\n", "            Path: /body\n", 1)
	text = strings.Replace(text, "          /body:\n            get:\n              x-amazon-apigateway-integration:\n", "          /body:\n            get:\n              responses: {}\n              x-unused:\n", 1)
	f := newFake()
	if _, err := deployText(t, f, fixture(t), "s", text, nil); err != nil {
		t.Fatal(err)
	}
	op := f.apis[f.stacks["s"].Resources["Api"].PhysicalID].def.Document["paths"].(map[string]any)["/body"].(map[string]any)["get"].(map[string]any)
	if integ, _ := op["x-amazon-apigateway-integration"].(map[string]any); integ["uri"] != "function:s-F" {
		t.Errorf("GET /body integration = %v, want the event's function", op["x-amazon-apigateway-integration"])
	}
}

// TestQuotedNumbers: a quoted number where a number goes is taken as the
// number, as CloudFormation takes it (it was Go's decoder error).
func TestQuotedNumbers(t *testing.T) {
	f := newFake()
	text := strings.Replace(twoFunctions, "      CodeUri: other\n", "      CodeUri: other\n      Timeout: \"10\"\n      MemorySize: \"512\"\n", 1)
	if _, err := deployText(t, f, fixture(t), "s", text, nil); err != nil {
		t.Fatal(err)
	}
	if fn := f.fns["s-Other"].latest; fn.Timeout != 10 || fn.MemorySize != 512 {
		t.Errorf("Timeout %d, MemorySize %d, want 10 and 512", fn.Timeout, fn.MemorySize)
	}
}

// TestEventScopesWithoutAuthorizer: an event's AuthorizationScopes without
// an Authorizer override the DefaultAuthorizer's scopes, as SAM documents (the
// default authorizer was applied without them: a token with scope read got
// through a route declaring write); with no DefaultAuthorizer they are
// refused (the route was deployed open).
func TestEventScopesWithoutAuthorizer(t *testing.T) {
	text := strings.Replace(httpAuth, "        DefaultAuthorizer: Lam\n", "        DefaultAuthorizer: Jwt\n", 1)
	text = strings.Replace(text, "            Path: /lambda\n            Method: GET\n",
		"            Path: /lambda\n            Method: GET\n            Auth:\n              AuthorizationScopes: [write]\n", 1)
	f := newFake()
	if _, err := deployText(t, f, fixture(t), "s", text, nil); err != nil {
		t.Fatal(err)
	}
	paths := f.apis[f.stacks["s"].Resources["Http"].PhysicalID].def.Document["paths"].(map[string]any)
	got := paths["/lambda"].(map[string]any)["get"].(map[string]any)["security"]
	if want := []any{map[string]any{"Jwt": []any{"write"}}}; !reflect.DeepEqual(got, want) {
		t.Errorf("/lambda security = %v, want %v", got, want)
	}

	for name, text := range map[string]string{
		"http": strings.Replace(text, "        DefaultAuthorizer: Jwt\n", "", 1),
		"rest": strings.Replace(twoFunctions, "            RestApiId: !Ref Api\n", "            RestApiId: !Ref Api\n            Auth:\n              AuthorizationScopes: [write]\n", 1),
	} {
		t.Run("no default authorizer "+name, func(t *testing.T) {
			f := newFake()
			_, err := deployText(t, f, fixture(t), "s", text, nil)
			if want := "Auth.AuthorizationScopes is set but no authorizer is"; err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want it to contain %q", err, want)
			}
			if len(f.calls) != 0 {
				t.Fatalf("calls %v, want none", f.calls)
			}
		})
	}
}

// TestIntrinsicsAsCloudFormationResolvesThem: conditions written with the
// short !Condition resolve the same on every deploy (goformation dropped the
// tag, and they resolved or failed by map order); !Select over !Split picks
// the entry (it was empty); !Join takes a Number parameter (it was dropped);
// AWS::NoValue removes the variable; an output's Condition keeps it or
// leaves it out (the deploy failed on a JSON error).
func TestIntrinsicsAsCloudFormationResolvesThem(t *testing.T) {
	dir := fixture(t)
	text := readTestdata(t, "intrinsics.yaml")
	for _, tc := range []struct {
		env     string
		want    map[string]string
		outputs []string
	}{
		{"prod", map[string]string{"PROD_AND_TRUE": "yes", "DEV_OR_FALSE": "no", "ZETA": "yes", "SELECTED": "b", "JOINED": "n-5"}, []string{"Always", "ProdOnly"}},
		{"dev", map[string]string{"PROD_AND_TRUE": "no", "DEV_OR_FALSE": "yes", "ZETA": "no", "SELECTED": "b", "JOINED": "n-5", "ONLY_IN_DEV": "dev"}, []string{"Always"}},
	} {
		// Each deploy must resolve the same: map order used to decide.
		for range 8 {
			f := newFake()
			if _, err := deployText(t, f, dir, "s", text, map[string]string{"Env": tc.env}); err != nil {
				t.Fatalf("Env=%s: %v", tc.env, err)
			}
			if got := f.fns["s-Fn"].latest.Environment; !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Env=%s: environment = %v, want %v", tc.env, got, tc.want)
			}
			tpl, err := Load(filepath.Join(dir, "template.yaml"), Options{Stack: "s", Parameters: map[string]string{"Env": tc.env}})
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Sorted(maps.Keys(tpl.Outputs)); !reflect.DeepEqual(got, tc.outputs) {
				t.Fatalf("Env=%s: outputs = %v, want %v", tc.env, got, tc.outputs)
			}
		}
	}
}

// TestBadIntrinsicsAreErrors: intrinsic functions with the wrong arguments,
// conditions or DependsOn naming each other in a cycle, and functions Portico
// does not resolve stop the deploy with a message, where they panicked,
// overflowed the stack or resolved to nothing.
func TestBadIntrinsicsAreErrors(t *testing.T) {
	dir := fixture(t)
	base := readTestdata(t, "intrinsics.yaml")
	desc := func(v string) string {
		return strings.Replace(base, "      CodeUri: hello\n", "      CodeUri: hello\n      Description: "+v+"\n", 1)
	}
	cases := []struct{ name, text, want string }{
		{"select without a list", desc("!Select [0]"), "Fn::Select takes [index, [values]]"},
		{"select out of range", desc("!Select [3, [a, b]]"), "index 3 is out of range"},
		{"split without a string", desc(`!Split [","]`), "Fn::Split takes [delimiter, string]"},
		{"find in map short", desc("!FindInMap [M]"), "Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]"},
		{"join without a list", desc(`!Join ["-", x]`), "Fn::Join takes [delimiter, [values]]"},
		{"unknown function", desc(`{"Fn::Length": [1, 2]}`), "Fn::Length (of the AWS::LanguageExtensions transform) is not supported"},
		{"condition cycle", strings.Replace(base, "  IsProd: !Equals [!Ref Env, prod]\n", "  IsProd: !Not [!Condition Zeta]\n", 1), "conditions IsProd -> Zeta -> ProdAndTrue -> IsProd name each other in a cycle"},
		{"unknown condition", strings.Replace(base, "!Not [!Condition IsProd]", "!Not [!Condition Nope]", 1), "condition NotProd names condition Nope, which Conditions does not define"},
		{"output condition unknown", strings.Replace(base, "    Condition: IsProd\n", "    Condition: Nope\n", 1), "output ProdOnly: Condition Nope is not one of the template's Conditions"},
		{"depends on cycle", strings.Replace(base, "  Fn:\n    Type: AWS::Serverless::Function\n", "  Fn:\n    Type: AWS::Serverless::Function\n    DependsOn: Fn\n", 1), "resources Fn -> Fn depend on each other in a cycle"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			_, err := deployText(t, f, dir, "s", tc.text, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if len(f.calls) != 0 {
				t.Fatalf("calls %v, want none", f.calls)
			}
		})
	}
}

// TestHTTPLambdaAuthorizerIdentity: an HttpApi Lambda authorizer's Identity
// StageVariables and Context become identity sources, as SAM writes them
// (they were dropped), and FunctionInvokeRole: NONE is no role, as SAM reads
// it (it was refused).
func TestHTTPLambdaAuthorizerIdentity(t *testing.T) {
	text := strings.Replace(httpAuth, "              Headers: [X-Token]\n",
		"              Headers: [X-Token]\n              StageVariables: [tenant]\n              Context: [requestId]\n            FunctionInvokeRole: NONE\n", 1)
	f := newFake()
	if _, err := deployText(t, f, fixture(t), "s", text, nil); err != nil {
		t.Fatal(err)
	}
	doc := f.apis[f.stacks["s"].Resources["Http"].PhysicalID].def.Document
	au := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)["Lam"].(map[string]any)["x-amazon-apigateway-authorizer"].(map[string]any)
	if got, want := au["identitySource"], "$request.header.X-Token,$stageVariables.tenant,$context.requestId"; got != want {
		t.Errorf("identitySource = %v, want %s", got, want)
	}
}

// TestCorsDefaultOrigin: a Cors mapping without AllowOrigin allows '*', as
// SAM's CorsProperties default it (the deploy was refused).
func TestCorsDefaultOrigin(t *testing.T) {
	text := strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Cors:\n        AllowMethods: \"'GET'\"\n", 1)
	f := newFake()
	if _, err := deployText(t, f, fixture(t), "s", text, nil); err != nil {
		t.Fatal(err)
	}
	doc := f.apis[f.stacks["s"].Resources["Api"].PhysicalID].def.Document
	opt := doc["paths"].(map[string]any)["/hello"].(map[string]any)["options"].(map[string]any)
	params := opt["x-amazon-apigateway-integration"].(map[string]any)["responses"].(map[string]any)["default"].(map[string]any)["responseParameters"].(map[string]any)
	if got := params["method.response.header.Access-Control-Allow-Origin"]; got != "'*'" {
		t.Errorf("Access-Control-Allow-Origin = %v, want '*'", got)
	}
}

// TestSwaggerDefinitionBodyAuth: an Api whose DefinitionBody is Swagger 2.0
// gets its Auth's security schemes in securityDefinitions, where SAM's
// SwaggerEditor writes them and the gateway's importer reads them; they went
// to components.securitySchemes and the deploy was refused.
func TestSwaggerDefinitionBodyAuth(t *testing.T) {
	text := strings.Replace(readTestdata(t, "body-auth.yaml"), `        openapi: "3.0.1"`, `        swagger: "2.0"`, 1)
	f := newFake()
	if _, err := deployText(t, f, fixture(t), "s", text, nil); err != nil {
		t.Fatal(err)
	}
	doc := f.apis[f.stacks["s"].Resources["Api"].PhysicalID].def.Document
	defs, _ := doc["securityDefinitions"].(map[string]any)
	if defs["api_key"] == nil || doc["components"] != nil {
		t.Errorf("securityDefinitions = %v, components = %v: want the API key scheme in securityDefinitions only", defs, doc["components"])
	}
	sec := doc["paths"].(map[string]any)["/body"].(map[string]any)["get"].(map[string]any)["security"]
	if !reflect.DeepEqual(sec, []any{map[string]any{"api_key": []any{}}}) {
		t.Errorf("GET /body security = %v, want the API key", sec)
	}
}

// httpStageSettings is an HttpApi with DefaultRouteSettings, RouteSettings
// (one overridden by its event's, as SAM merges them), an event of its own
// with RouteSettings, and AccessLogSettings.
const httpStageSettings = `
Transform: AWS::Serverless-2016-10-31
Parameters:
  Burst:
    Type: Number
    Default: 2
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello
      Runtime: provided.al2023
      Handler: bootstrap
      Events:
        A:
          Type: HttpApi
          Properties:
            ApiId: !Ref Http
            Path: /a
            Method: get
            RouteSettings:
              ThrottlingBurstLimit: !Ref Burst
        B:
          Type: HttpApi
          Properties:
            ApiId: !Ref Http
            Path: /b
            Method: any
            RouteSettings:
              DetailedMetricsEnabled: true
        C:
          Type: HttpApi
          Properties:
            ApiId: !Ref Http
            Path: /c
            Method: get
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      StageName: dev
      DefaultRouteSettings:
        ThrottlingBurstLimit: 100
        ThrottlingRateLimit: 50
      RouteSettings:
        "GET /a":
          ThrottlingBurstLimit: 9
          ThrottlingRateLimit: 1
        "GET /c":
          ThrottlingRateLimit: 3
      AccessLogSettings:
        DestinationArn: stdout
        Format: $context.requestId $context.routeKey $context.status
`

// TestHTTPStageSettings checks that an HttpApi's DefaultRouteSettings,
// RouteSettings (the events' merged over the API's, by route key) and
// AccessLogSettings go to the HTTP API stage, where they were warned about
// and ignored (RouteSettings, AccessLogSettings) or patched as REST method
// settings (DefaultRouteSettings); and that a redeploy without them hands the
// target what the last deploy set, to take off.
func TestHTTPStageSettings(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	p, err := deployText(t, f, dir, "s", httpStageSettings, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range p.Warnings {
		// GET /c's rate without a burst warns (TestHTTPStageHalfThrottleWarns).
		if strings.Contains(w, "Settings") && !strings.Contains(w, `"GET /c": ThrottlingRateLimit is set without`) {
			t.Errorf("warning: %s", w)
		}
	}
	id := f.stacks["s"].Resources["Http"].PhysicalID
	ptr := func(v float64) *float64 { return &v }
	n := func(v int) *int { return &v }
	yes := true
	want := &HTTPStage{
		DefaultRouteSettings: &RouteSettings{ThrottlingBurstLimit: n(100), ThrottlingRateLimit: ptr(50)},
		RouteSettings: map[string]RouteSettings{
			"GET /a": {ThrottlingBurstLimit: n(2), ThrottlingRateLimit: ptr(1)},
			"ANY /b": {DetailedMetricsEnabled: &yes},
			"GET /c": {ThrottlingRateLimit: ptr(3)},
		},
		AccessLogSettings: &AccessLogSettings{DestinationArn: "stdout", Format: "$context.requestId $context.routeKey $context.status"},
	}
	got := f.apis[id].httpStage["dev"]
	if got[0] != nil || !reflect.DeepEqual(got[1], want) {
		t.Fatalf("SetHTTPStage(old %+v, now %+v), want now %+v", got[0], got[1], want)
	}
	if ops := f.apis[id].stageOps["dev"]; len(ops) != 0 {
		t.Errorf("REST stage patch %v, want none", ops)
	}

	// Unchanged: nothing to do.
	f.calls = nil
	if _, err := deployText(t, f, dir, "s", httpStageSettings, nil); err != nil || slices.Contains(f.calls, "SetHTTPStage "+id+" dev") {
		t.Fatalf("unchanged redeploy: %v, calls %v", err, f.calls)
	}

	// Dropped: the target gets what was set, to take off.
	dropped := httpStageSettings[:strings.Index(httpStageSettings, "      DefaultRouteSettings:")]
	for _, ev := range []string{"            RouteSettings:\n              ThrottlingBurstLimit: !Ref Burst\n", "            RouteSettings:\n              DetailedMetricsEnabled: true\n"} {
		dropped = strings.Replace(dropped, ev, "", 1)
	}
	if _, err := deployText(t, f, dir, "s", dropped, nil); err != nil {
		t.Fatal(err)
	}
	got = f.apis[id].httpStage["dev"]
	if !reflect.DeepEqual(got[0], want) || got[1] != nil {
		t.Fatalf("SetHTTPStage(old %+v, now %+v), want old = the first deploy's, now nil", got[0], got[1])
	}
	if rec := f.stacks["s"].Resources["Http"]; rec.HTTPStage != nil {
		t.Errorf("record keeps %+v", rec.HTTPStage)
	}
}

// TestHTTPStageZeroThrottle checks that a throttle of 0 requests, with which
// API Gateway blocks a route (the gateway throttles every request), goes to
// the HTTP API stage as 0/0, whether both halves are 0 or one is 0 and the
// other left out (stored as 0, as API Gateway stores it): on the stage
// default, on an API's RouteSettings entry and on an event's. They were
// refused.
func TestHTTPStageZeroThrottle(t *testing.T) {
	dir := fixture(t)
	text := httpStageSettings
	for _, r := range [][2]string{
		{"        ThrottlingBurstLimit: 100\n        ThrottlingRateLimit: 50\n", "        ThrottlingBurstLimit: 0\n        ThrottlingRateLimit: 0\n"},
		{"          ThrottlingRateLimit: 3\n", "          ThrottlingRateLimit: 0\n"},
		// The event's over the API's 9/1 for GET /a.
		{"              ThrottlingBurstLimit: !Ref Burst\n", "              ThrottlingBurstLimit: 0\n              ThrottlingRateLimit: 0\n"},
	} {
		if !strings.Contains(text, r[0]) {
			t.Fatalf("%q is not in the template", r[0])
		}
		text = strings.Replace(text, r[0], r[1], 1)
	}
	f := newFake()
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	id := f.stacks["s"].Resources["Http"].PhysicalID
	now := f.apis[id].httpStage["dev"][1]
	if now == nil {
		t.Fatal("SetHTTPStage was not called")
	}
	zero := map[string]any{"throttlingBurstLimit": 0, "throttlingRateLimit": float64(0), "detailedMetricsEnabled": false}
	for where, rs := range map[string]*RouteSettings{"DefaultRouteSettings": now.DefaultRouteSettings} {
		if got := v2RouteSettings(rs); !reflect.DeepEqual(got, zero) {
			t.Errorf("%s sent as %v, want %v", where, got, zero)
		}
	}
	for _, key := range []string{"GET /a", "GET /c"} {
		rs := now.RouteSettings[key]
		if got := v2RouteSettings(&rs); !reflect.DeepEqual(got, zero) {
			t.Errorf("RouteSettings %q (%+v) sent as %v, want %v", key, rs, got, zero)
		}
	}
}

// TestHTTPStageHalfThrottleWarns checks that a route throttle setting one half
// only deploys without a warning: the half left out is inherited
// (DefaultRouteSettings', then the account's), it is not a bucket of 0 (nor a
// rate of 0), so nothing is throttled that the user did not ask for.
func TestHTTPStageHalfThrottleWarns(t *testing.T) {
	dir := fixture(t)
	for _, tc := range []struct{ name, from, to, want string }{
		{"rate only", "        ThrottlingBurstLimit: 100\n        ThrottlingRateLimit: 50\n", "        ThrottlingRateLimit: 50\n", ""},
		{"burst only", "        ThrottlingBurstLimit: 100\n        ThrottlingRateLimit: 50\n", "        ThrottlingBurstLimit: 100\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(httpStageSettings, tc.from, tc.to, 1)
			if text == httpStageSettings {
				t.Fatalf("%q is not in the template", tc.from)
			}
			p, err := deployText(t, newFake(), dir, "s", text, nil)
			if err != nil {
				t.Fatal(err)
			}
			if all := strings.Join(p.Warnings, "\n"); strings.Contains(all, "DefaultRouteSettings: Throttling") {
				t.Errorf("a half throttle warns (the other half is inherited):\n%s", all)
			}
		})
	}
	p, err := deployText(t, newFake(), dir, "s", httpStageSettings, nil)
	if err != nil {
		t.Fatal(err)
	}
	if all := strings.Join(p.Warnings, "\n"); strings.Contains(all, "DefaultRouteSettings: Throttling") {
		t.Errorf("a whole throttle (DefaultRouteSettings 100/50) warns:\n%s", all)
	}
}

// TestHTTPStageSettingsRefused checks what the gateway could not honour:
// a route the API lacks, a CloudWatch log group, an unknown $context variable.
func TestHTTPStageSettingsRefused(t *testing.T) {
	dir := fixture(t)
	for _, tc := range []struct{ name, from, to, want string }{
		{"unknown route", `"GET /c":`, `"GET /nope":`, `RouteSettings names route "GET /nope", which the API does not have (its routes: ANY /b, GET /a, GET /c)`},
		{"negative burst", "ThrottlingBurstLimit: 100", "ThrottlingBurstLimit: -1", "DefaultRouteSettings: ThrottlingBurstLimit must be a whole number of requests, 0 or more"},
		{"not a number", "ThrottlingRateLimit: 50", "ThrottlingRateLimit: lots", "ThrottlingRateLimit must be a number"},
		{"log group", "DestinationArn: stdout", "DestinationArn: arn:aws:logs:us-east-1:123456789012:log-group:api", "Portico does not write to CloudWatch Logs"},
		{"log group resource", "DestinationArn: stdout", "DestinationArn: !Sub 'arn:aws:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Logs}'", "AccessLogSettings.DestinationArn names a resource Portico does not create"},
		{"unknown variable", "$context.routeKey", "$context.nope", "AccessLogSettings:"},
		{"no request id", "Format: $context.requestId $context.routeKey", "Format: $context.extendedRequestId $context.routeKey",
			"AccessLogSettings: the access log format must include at least $context.requestId"},
		{"no format", "        Format: $context.requestId $context.routeKey $context.status\n", "", "AccessLogSettings needs DestinationArn and Format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(httpStageSettings, tc.from, tc.to, 1)
			if strings.Contains(tc.to, "${Logs}") {
				text += "  Logs:\n    Type: AWS::Logs::LogGroup\n"
			}
			if text == httpStageSettings {
				t.Fatalf("%q is not in the template", tc.from)
			}
			f := newFake()
			_, err := deployText(t, f, dir, "s", text, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if len(f.calls) != 0 {
				t.Fatalf("calls %v, want none", f.calls)
			}
		})
	}
}

// TestRESTAccessLogSetting checks that an Api's AccessLogSetting, warned
// about and ignored before, patches the stage's access log, that a redeploy
// without it removes it, and that a destination the gateway cannot write is
// refused.
func TestRESTAccessLogSetting(t *testing.T) {
	dir := fixture(t)
	text := strings.Replace(twoFunctions, "      StageName: prod\n", `      StageName: prod
      AccessLogSetting:
        DestinationArn: stdout
        Format: clf
`, 1)
	f := newFake()
	p, err := deployText(t, f, dir, "s", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(p.Warnings, "\n"); strings.Contains(w, "AccessLogSetting") {
		t.Errorf("warnings:\n%s", w)
	}
	id := f.stacks["s"].Resources["Api"].PhysicalID
	want := []PatchOp{{"replace", "/accessLogSettings/destinationArn", "stdout"}, {"replace", "/accessLogSettings/format", "clf"},
		{"replace", "/variables/alias", "live"}}
	if got := f.apis[id].stageOps["prod"]; !reflect.DeepEqual(got, want) {
		t.Fatalf("stage ops %v, want %v", got, want)
	}
	if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
		t.Fatal(err)
	}
	want = []PatchOp{{"remove", "/accessLogSettings", ""}, {"replace", "/variables/alias", "live"}}
	if got := f.apis[id].stageOps["prod"]; !reflect.DeepEqual(got, want) {
		t.Fatalf("stage ops after dropping AccessLogSetting %v, want %v", got, want)
	}
	bad := strings.Replace(text, "DestinationArn: stdout", "DestinationArn: arn:aws:firehose:us-east-1:123456789012:deliverystream/x", 1)
	if _, err := deployText(t, newFake(), dir, "s", bad, nil); err == nil || !strings.Contains(err.Error(), "Api: AccessLogSetting: access log destination") {
		t.Fatalf("a Firehose destination: %v", err)
	}
}

// TestWebSocketStageRouteSettings checks that an AWS::ApiGatewayV2::Stage's
// RouteSettings and DefaultRouteSettings, warned about and ignored before (a
// declared route throttle the gateway did not enforce), go to the stage; a
// route key the API lacks is refused; a throttle of 0 requests is kept;
// AccessLogSettings go to the stage too, as apigatewayv2 update-stage sets
// them, with a WebSocket format (obs11: they were warned about and dropped).
func TestWebSocketStageRouteSettings(t *testing.T) {
	dir := fixture(t)
	text := `
Transform: AWS::Serverless-2016-10-31
Resources:
  Ws:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      ProtocolType: WEBSOCKET
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Ws
      StageName: dev
      AutoDeploy: true
      DefaultRouteSettings:
        ThrottlingBurstLimit: 10
        ThrottlingRateLimit: 5
      RouteSettings:
        $default:
          ThrottlingBurstLimit: 1
          ThrottlingRateLimit: 1
      AccessLogSettings:
        DestinationArn: stdout
        Format: clf
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
	f := newFake()
	p, err := deployText(t, f, dir, "s", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(p.Warnings, "\n"); strings.Contains(w, "RouteSettings") || strings.Contains(w, "AccessLogSettings") {
		t.Errorf("warnings:\n%s", w)
	}
	n := func(v int) *int { return &v }
	r := func(v float64) *float64 { return &v }
	want := &HTTPStage{DefaultRouteSettings: &RouteSettings{ThrottlingBurstLimit: n(10), ThrottlingRateLimit: r(5)},
		RouteSettings:     map[string]RouteSettings{"$default": {ThrottlingBurstLimit: n(1), ThrottlingRateLimit: r(1)}},
		AccessLogSettings: &AccessLogSettings{DestinationArn: "stdout", Format: "clf"}}
	if got := f.apis[f.stacks["s"].Resources["Ws"].PhysicalID].httpStage["dev"]; got[0] != nil || !reflect.DeepEqual(got[1], want) {
		t.Fatalf("SetHTTPStage(old %+v, now %+v), want now %+v", got[0], got[1], want)
	}
	wsFormat := strings.Replace(text, "Format: clf", `Format: '{"requestId":"$context.requestId","eventType":"$context.eventType"}'`, 1)
	f = newFake()
	if _, err := deployText(t, f, dir, "s", wsFormat, nil); err != nil {
		t.Fatalf("a WebSocket access log format: %v", err)
	}
	if al := f.apis[f.stacks["s"].Resources["Ws"].PhysicalID].httpStage["dev"][1].AccessLogSettings; al == nil || !strings.Contains(al.Format, "$context.eventType") {
		t.Errorf("access log settings %+v", al)
	}
	bad := strings.Replace(text, "        $default:\n", "        sendmessage:\n", 1)
	if _, err := deployText(t, newFake(), dir, "s", bad, nil); err == nil ||
		!strings.Contains(err.Error(), `Ws: RouteSettings names route "sendmessage", which the API does not have (its routes: $default)`) {
		t.Fatalf("an unknown route key: %v", err)
	}
	// A throttle of 0 requests on a route (API Gateway blocks it; the
	// gateway throttles every message) goes to the stage; it was refused.
	zero := strings.Replace(text, "          ThrottlingBurstLimit: 1\n          ThrottlingRateLimit: 1\n", "          ThrottlingBurstLimit: 0\n          ThrottlingRateLimit: 0\n", 1)
	if zero == text {
		t.Fatal("the template's RouteSettings changed; update the test")
	}
	f = newFake()
	if _, err := deployText(t, f, dir, "s", zero, nil); err != nil {
		t.Fatalf("RouteSettings $default 0/0: %v", err)
	}
	want.RouteSettings["$default"] = RouteSettings{ThrottlingBurstLimit: n(0), ThrottlingRateLimit: r(0)}
	if got := f.apis[f.stacks["s"].Resources["Ws"].PhysicalID].httpStage["dev"]; !reflect.DeepEqual(got[1], want) {
		t.Fatalf("SetHTTPStage(now %+v), want %+v", got[1], want)
	}
}

// TestMethodSettingPaths: a MethodSettings ResourcePath is taken as CloudFormation
// writes it (encoded, /~1pets~1{id}) or plain (/pets/{id}), and patched once
// encoded either way.
func TestMethodSettingPaths(t *testing.T) {
	for _, c := range []struct{ res, want string }{
		{"/*", "/*/GET/metrics/enabled"},
		{"/", "/~1/GET/metrics/enabled"},
		{"/pets/{id}", "/~1pets~1{id}/GET/metrics/enabled"},
		{"/~1pets~1{id}", "/~1pets~1{id}/GET/metrics/enabled"},
		{"/~1pets", "/~1pets/GET/metrics/enabled"},
	} {
		ops := methodSettingOps("Api", 0, map[string]any{"ResourcePath": c.res, "HttpMethod": "GET", "MetricsEnabled": true}, &builder{d: &Desired{}})
		if len(ops) != 1 || ops[0].Path != c.want {
			t.Errorf("ResourcePath %q: ops %v, want the path %s", c.res, ops, c.want)
		}
	}
}

// TestDefinitionUriJSONSurrogatePairs: an Api's DefinitionUri file in JSON is
// read as JSON, so a surrogate pair escape (valid JSON, not YAML) deploys; a
// YAML parser refused the file.
func TestDefinitionUriJSONSurrogatePairs(t *testing.T) {
	dir := fixture(t)
	def := `{"openapi": "3.0.1", "info": {"title": "emoji \ud83d\ude00", "version": "1"}, "paths": {}}`
	if err := os.WriteFile(filepath.Join(dir, "api.json"), []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFake()
	text := strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      DefinitionUri: api.json\n", 1)
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	doc := f.apis[f.stacks["s"].Resources["Api"].PhysicalID].def.Document
	if info, _ := doc["info"].(map[string]any); info["title"] != "emoji \U0001F600" {
		t.Errorf("info %v", doc["info"])
	}
}

// TestEventInvokeConfig: a function's EventInvokeConfig is set on its alias
// (or $LATEST without one), changed and taken off by later deploys without a
// new version, and moved when the alias changes; a DestinationConfig or an
// out-of-range value fails the build.
func TestEventInvokeConfig(t *testing.T) {
	dir := fixture(t)
	text := strings.Replace(twoFunctions, "      AutoPublishAlias: live\n      Environment:",
		"      AutoPublishAlias: live\n      EventInvokeConfig:\n        MaximumRetryAttempts: 0\n        MaximumEventAgeInSeconds: 600\n      Environment:", 1)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := f.calls, "SetEventInvoke s-Hello live 0 retries, maximum age 600 s"; !slices.Contains(got, want) {
		t.Fatalf("calls = %v, want %q", got, want)
	}
	for _, step := range []struct{ name, text, want string }{
		{"changed", strings.Replace(text, "MaximumRetryAttempts: 0", "MaximumRetryAttempts: 1", 1), "SetEventInvoke s-Hello live 1 retries, maximum age 600 s"},
		{"alias dropped", strings.Replace(strings.Replace(text, "MaximumRetryAttempts: 0", "MaximumRetryAttempts: 1", 1), "      AutoPublishAlias: live\n      EventInvokeConfig", "      EventInvokeConfig", 1), ""},
		{"removed", twoFunctions, ""},
	} {
		f.calls = nil
		if _, err := deployText(t, f, dir, "s", step.text, nil); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		var got []string
		for _, c := range f.mutating() {
			if strings.HasPrefix(c, "SetEventInvoke") || strings.HasPrefix(c, "PublishVersion") {
				got = append(got, c)
			}
		}
		switch step.name {
		case "changed":
			if !reflect.DeepEqual(got, []string{step.want}) {
				t.Fatalf("%s: calls = %v, want only %q (no new version)", step.name, got, step.want)
			}
		case "alias dropped":
			want := []string{"SetEventInvoke s-Hello $LATEST 1 retries, maximum age 600 s", "SetEventInvoke s-Hello live none"}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: calls = %v, want %v", step.name, got, want)
			}
		case "removed":
			// twoFunctions has the alias back: the $LATEST setting goes.
			if !slices.Contains(got, "SetEventInvoke s-Hello $LATEST none") {
				t.Fatalf("%s: calls = %v, want the $LATEST configuration taken off", step.name, got)
			}
		}
	}

	for name, tc := range map[string]struct{ prop, want string }{
		"destination": {"        DestinationConfig:\n          OnFailure:\n            Type: SQS\n            Destination: arn:aws:sqs:us-east-1:000000000000:dlq\n",
			"Hello: EventInvokeConfig.DestinationConfig: Portico cannot send the outcome of an asynchronous invocation anywhere"},
		"retries": {"        MaximumRetryAttempts: 3\n", "Hello: EventInvokeConfig.MaximumRetryAttempts 3 is out of range"},
		"age":     {"        MaximumEventAgeInSeconds: 30\n", "Hello: EventInvokeConfig.MaximumEventAgeInSeconds 30 is out of range"},
	} {
		t.Run(name, func(t *testing.T) {
			bad := strings.Replace(twoFunctions, "      AutoPublishAlias: live\n      Environment:",
				"      AutoPublishAlias: live\n      EventInvokeConfig:\n"+tc.prop+"      Environment:", 1)
			if _, err := deployText(t, newFake(), fixture(t), "s", bad, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestBinaryMediaTypesTildeOne: SAM's BinaryMediaTypes are written with ~1
// for / (SAM's documentation asks for it, and its translator turns every ~1
// into /), in Globals.Api as on an AWS::Serverless::Api; the deploy takes
// them as SAM does instead of refusing "*~1*" as not type/subtype.
func TestBinaryMediaTypesTildeOne(t *testing.T) {
	text := strings.Replace(twoFunctions, "Globals:\n", "Globals:\n  Api:\n    BinaryMediaTypes: [\"*~1*\"]\n", 1)
	text = strings.Replace(text, "      StageName: prod\n", "      StageName: prod\n      BinaryMediaTypes: [image~1png, image/gif, application~1vnd.a+json]\n", 1)
	f := newFake()
	if _, err := deployText(t, f, fixture(t), "s", text, nil); err != nil {
		t.Fatal(err)
	}
	rec := f.stacks["s"].Resources
	doc := f.apis[rec["Api"].PhysicalID].def.Document
	want := []string{"*/*", "image/png", "image/gif", "application/vnd.a+json"}
	if got := doc["x-amazon-apigateway-binary-media-types"]; !reflect.DeepEqual(got, want) {
		t.Errorf("Api's x-amazon-apigateway-binary-media-types = %#v, want %#v (Globals' list, then the Api's, ~1 read as /)", got, want)
	}
}

// TestDefinitionBodyPathsExtension: an x- extension directly under a
// DefinitionBody's paths (valid OpenAPI 3) is kept where it stands: Cors adds
// no OPTIONS method to it and the deploy goes through.
func TestDefinitionBodyPathsExtension(t *testing.T) {
	text := strings.Replace(twoFunctions, "      StageName: prod\n", `      StageName: prod
      Cors: "'*'"
      DefinitionBody:
        openapi: "3.0.1"
        info: {title: ext, version: "1"}
        paths:
          x-paths-ext: {kept: true}
`, 1)
	f := newFake()
	if _, err := deployText(t, f, fixture(t), "s", text, nil); err != nil {
		t.Fatal(err)
	}
	paths := f.apis[f.stacks["s"].Resources["Api"].PhysicalID].def.Document["paths"].(map[string]any)
	if got := paths["x-paths-ext"]; !reflect.DeepEqual(got, map[string]any{"kept": true}) {
		t.Errorf("paths.x-paths-ext = %#v, want it as written", got)
	}
	if _, ok := paths["/hello"].(map[string]any)["options"]; !ok {
		t.Errorf("/hello has no OPTIONS method: %v", paths["/hello"])
	}
}

// TestZeroBurstWarns checks that a throttle whose burst is 0 (a bucket of 0,
// which throttles every request whatever the rate, as on API Gateway) deploys
// with a warning that says so, a route's and a REST stage's MethodSettings'; a
// burst left out is inherited, without a warning; a usage plan's burst left
// out (read back as 0 by API Gateway) warns that the account's is taken.
func TestZeroBurstWarns(t *testing.T) {
	dir := fixture(t)
	for _, tc := range []struct{ name, base, from, to, want string }{
		{"route burst 0", httpStageSettings, "        ThrottlingBurstLimit: 100\n", "        ThrottlingBurstLimit: 0\n",
			"DefaultRouteSettings: ThrottlingBurstLimit is 0: a burst of 0 throttles every request of the route"},
		{"method settings rate only", twoFunctions, "      StageName: prod\n",
			"      StageName: prod\n      MethodSettings:\n        - ResourcePath: /*\n          HttpMethod: '*'\n          ThrottlingRateLimit: 10\n",
			""},
		{"method settings burst 0", twoFunctions, "      StageName: prod\n",
			"      StageName: prod\n      MethodSettings:\n        - ResourcePath: /*\n          HttpMethod: '*'\n          ThrottlingRateLimit: 10\n          ThrottlingBurstLimit: 0\n",
			"Api: MethodSettings[0]: ThrottlingRateLimit is set with ThrottlingBurstLimit 0: a burst of 0 admits no request"},
		{"usage plan rate only", twoFunctions, "      StageName: prod\n",
			"      StageName: prod\n      Auth:\n        ApiKeyRequired: true\n        UsagePlan:\n          CreateUsagePlan: PER_API\n          Throttle:\n            RateLimit: 10\n",
			"Throttle: BurstLimit is 0 or not set: API Gateway reads a missing one back as 0, and Portico takes it as not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(tc.base, tc.from, tc.to, 1)
			if text == tc.base {
				t.Fatalf("%q is not in the template", tc.from)
			}
			p, err := deployText(t, newFake(), dir, "s", text, nil)
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(p.Warnings, "\n")
			if tc.want == "" && strings.Contains(all, "Throttl") {
				t.Errorf("a burst left out (inherited) warns:\n%s", all)
			}
			if !strings.Contains(all, tc.want) {
				t.Errorf("warnings lack %q:\n%s", tc.want, all)
			}
		})
	}
}

// TestDeploymentPreferenceIsReadOrRefused: a DeploymentPreference is read
// into a traffic shift (its type checked, its hooks resolved to the stack's
// functions); what Portico cannot run (Alarms, TriggerConfigurations) is
// refused, with why, unless the preference is disabled.
func TestDeploymentPreferenceIsReadOrRefused(t *testing.T) {
	const hooks = `  PreHook:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: other
      FunctionName: pre-hook
  PostHook:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: other
      AutoPublishAlias: live
`
	build := func(pref string) (*Desired, error) {
		t.Helper()
		dir := fixture(t)
		text := strings.Replace(twoFunctions, "      CodeUri: hello\n", "      CodeUri: hello\n      DeploymentPreference:\n"+pref, 1) + hooks
		path := filepath.Join(dir, "template.yaml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		tpl, err := Load(path, Options{Stack: "s"})
		if err != nil {
			t.Fatal(err)
		}
		return Build(tpl)
	}
	for name, tc := range map[string]struct{ pref, want string }{
		"alarms":   {"        Type: Linear10PercentEvery1Minute\n        Alarms: [errors-alarm]\n", "property DeploymentPreference is refused: Alarms are refused: Portico has no CloudWatch alarms"},
		"triggers": {"        Type: AllAtOnce\n        TriggerConfigurations: [{TriggerName: t}]\n", "property DeploymentPreference is refused: TriggerConfigurations are refused: Portico has no SNS"},
		"unknown type": {"        Type: Linear50PercentEvery1Minute\n",
			`DeploymentPreference: Deployment type "Linear50PercentEvery1Minute" is not one Portico knows: use one of AllAtOnce, Canary10Percent10Minutes`},
		"no type":      {"        Enabled: true\n", "DeploymentPreference needs a Type: one of AllAtOnce"},
		"unknown hook": {"        Type: AllAtOnce\n        Hooks: {PreTraffic: NoSuchHook}\n", `PreTraffic hook "NoSuchHook" is not a function of this stack`},
	} {
		if _, err := build(tc.pref); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
	for name, tc := range map[string]struct {
		pref string
		want *DeploymentPreference
	}{
		"shift only": {"        Type: Canary10Percent5Minutes\n", &DeploymentPreference{Type: "Canary10Percent5Minutes"}},
		"hooks by logical id and Ref": {"        Type: Linear10PercentEvery1Minute\n        Hooks:\n          PreTraffic: PreHook\n          PostTraffic: !Ref PostHook\n",
			&DeploymentPreference{Type: "Linear10PercentEvery1Minute", PreTraffic: "pre-hook", PostTraffic: "s-PostHook"}},
		"hook by its alias": {"        Type: AllAtOnce\n        Hooks:\n          PostTraffic: !Ref PostHook.Alias\n",
			&DeploymentPreference{Type: "AllAtOnce", PostTraffic: "s-PostHook:live"}},
		"disabled": {"        Enabled: false\n        Type: Canary10Percent5Minutes\n        Hooks: {PreTraffic: check-fn}\n        Alarms: [a]\n", nil},
	} {
		d, err := build(tc.pref)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var got *DeploymentPreference
		for _, f := range d.Functions {
			if f.LogicalID == "Hello" {
				got = f.Deployment
			}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: deployment %+v, want %+v", name, got, tc.want)
		}
		if all := strings.Join(d.Warnings, "\n"); strings.Contains(all, "DeploymentPreference") {
			t.Errorf("%s: warnings name DeploymentPreference:\n%s", name, all)
		}
	}
	noAlias := strings.Replace(twoFunctions, "      CodeUri: other\n      AutoPublishAlias: live\n", "      CodeUri: other\n      DeploymentPreference: {Type: AllAtOnce}\n", 1)
	dir := fixture(t)
	path := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(path, []byte(noAlias), 0o600); err != nil {
		t.Fatal(err)
	}
	tpl, err := Load(path, Options{Stack: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(tpl); err == nil || !strings.Contains(err.Error(), "DeploymentPreference needs AutoPublishAlias") {
		t.Errorf("without AutoPublishAlias: %v", err)
	}
}

// TestDeploymentPreferenceShiftsTheAlias: the first deploy points the alias at
// once (there is no version to shift from, as in SAM); a later one that
// publishes a version shifts the alias's traffic to it by the preference,
// and a failed shift fails the deploy with the alias left where it was.
func TestDeploymentPreferenceShiftsTheAlias(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	text := strings.Replace(twoFunctions, "      CodeUri: hello\n", "      CodeUri: hello\n      DeploymentPreference:\n        Type: Canary10Percent5Minutes\n        Hooks: {PreTraffic: Other}\n", 1)
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.calls, "\n"); strings.Contains(got, "ShiftAlias") || !strings.Contains(got, "SetAlias s-Hello:live=1") {
		t.Fatalf("first deploy calls:\n%s", got)
	}
	f.calls = nil
	p, err := deployText(t, f, dir, "s", text, map[string]string{"Greeting": "hi"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Changes {
		if steps := strings.Join(c.Steps, "; "); c.LogicalID == "Hello" && !strings.Contains(steps, "publish a new version and shift alias live to it (Canary10Percent5Minutes, PreTraffic hook s-Other), waiting for the shift") {
			t.Errorf("plan steps of Hello: %s", steps)
		}
	}
	got := strings.Join(f.calls, "\n")
	if !strings.Contains(got, "ShiftAlias s-Hello:live=2 Canary10Percent5Minutes pre=s-Other post=") || strings.Contains(got, "SetAlias s-Hello") {
		t.Fatalf("second deploy calls:\n%s", got)
	}
	if f.fns["s-Hello"].aliases["live"] != "2" {
		t.Fatalf("alias on %s, want 2", f.fns["s-Hello"].aliases["live"])
	}
	f.failAt = "ShiftAlias"
	_, err = deployText(t, f, dir, "s", text, map[string]string{"Greeting": "hey"})
	if err == nil || !strings.Contains(err.Error(), "alias live of s-Hello: ShiftAlias: injected failure") {
		t.Fatalf("failed shift: %v", err)
	}
	if f.fns["s-Hello"].aliases["live"] != "2" {
		t.Fatalf("alias on %s after a failed shift, want 2", f.fns["s-Hello"].aliases["live"])
	}
	// Enabled: false moves the alias at once.
	f.calls = nil
	off := strings.Replace(text, "        Type: Canary", "        Enabled: false\n        Type: Canary", 1)
	if _, err := deployText(t, f, dir, "s", off, map[string]string{"Greeting": "yo"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.calls, "\n"); strings.Contains(got, "ShiftAlias") || !strings.Contains(got, "SetAlias s-Hello:live=") {
		t.Fatalf("disabled preference calls:\n%s", got)
	}
}

// TestRenamedStageIsAnnouncedDeletion: a StageName changed (here through a
// parameter) deletes the old stage, and the plan says so: a delete step
// naming the stage, counted among the deletions and printed under
// "Removing:" (it was deleted unannounced, its URL gone without a word).
func TestRenamedStageIsAnnouncedDeletion(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	text := strings.Replace(twoFunctions, "Parameters:\n", "Parameters:\n  Stage:\n    Type: String\n", 1)
	text = strings.Replace(text, "      StageName: prod\n", "      StageName: !Ref Stage\n", 1)
	if _, err := deployText(t, f, dir, "s", text, map[string]string{"Stage": "dev"}); err != nil {
		t.Fatal(err)
	}
	id := f.stacks["s"].Resources["Api"].PhysicalID
	path := filepath.Join(dir, "template.yaml")
	tpl, err := Load(path, Options{Stack: "s", Parameters: map[string]string{"Stage": "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Build(tpl)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rec, err := f.GetStack(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	obs, err := Observe(ctx, f, d, rec)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(d, rec, obs)
	if err != nil {
		t.Fatal(err)
	}
	var plan bytes.Buffer
	p.Print(&plan)
	if !strings.Contains(plan.String(), "- delete stage dev (StageName changed to prod)") {
		t.Errorf("the plan does not list the stage's deletion:\n%s", plan.String())
	}
	if !strings.Contains(plan.String(), ", 1 to delete,") {
		t.Errorf("the plan does not count the stage's deletion:\n%s", plan.String())
	}
	var out bytes.Buffer
	if err := Apply(ctx, f, p, &out); err != nil {
		t.Fatal(err)
	}
	removing := out.String()[strings.Index(out.String(), "Removing:")+1:]
	if !strings.Contains(out.String(), "Removing:") || !strings.Contains(removing, "deleting stage dev of API "+id) {
		t.Errorf("the progress does not show the stage's deletion under Removing:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "1 deleted") {
		t.Errorf("the result does not count the stage's deletion:\n%s", out.String())
	}
	if _, ok := f.apis[id].stages["dev"]; ok {
		t.Error("stage dev is still there")
	}
	if _, ok := f.apis[id].stages["prod"]; !ok {
		t.Error("stage prod was not deployed")
	}
}
