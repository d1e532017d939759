package deploy

import (
	"context"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/functions"
)

// fakeAttrs answers APIAttributes from the API's id.
type fakeAttrs struct{}

func (fakeAttrs) APIEndpoint(_ context.Context, id string) (string, error) {
	return "http://127.0.0.1:8080/" + id, nil
}

func (fakeAttrs) RootResourceID(_ context.Context, id string) (string, error) {
	return "root-of-" + id, nil
}

func (fakeAttrs) V2IDs(_ context.Context, id string) (*V2IDs, error) {
	return &V2IDs{Routes: map[string]string{}, Integrations: map[string]string{}, Authorizers: map[string]string{}}, nil
}

func hasWarning(ws []string, parts ...string) bool {
	return slices.ContainsFunc(ws, func(w string) bool {
		for _, p := range parts {
			if !strings.Contains(w, p) {
				return false
			}
		}
		return true
	})
}

// TestSAMInitGoTemplate deploys the template `sam init` writes for Go
// (hello-world, provided.al2023) unedited: its output naming the role SAM
// generates for the function (HelloWorldFunctionRole.Arn) failed the deploy;
// it resolves to the role Portico reports for every function, with a warning
// saying why, and the other outputs resolve as before.
func TestSAMInitGoTemplate(t *testing.T) {
	dir := t.TempDir()
	writeCode(t, dir, "hello-world", "#!/bin/sh\necho hello\n")
	f := newFake()
	p, err := deployText(t, f, dir, "sam-app", readTestdata(t, "sam-init-go.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := actions(p), "HelloWorldFunction=create ServerlessRestApi=create"; got != want {
		t.Fatalf("actions = %s, want %s", got, want)
	}
	if !hasWarning(p.Warnings, "output HelloWorldFunctionIamRole", "HelloWorldFunctionRole is the execution role SAM would make for function HelloWorldFunction", "Portico makes no IAM roles", functions.RoleARN) {
		t.Errorf("no warning about the implicit role: %q", p.Warnings)
	}
	tpl, err := Load(filepath.Join(dir, "template.yaml"), Options{Stack: "sam-app"})
	if err != nil {
		t.Fatal(err)
	}
	rec := f.stacks["sam-app"]
	outs, warnings := tpl.ResolveOutputs(context.Background(), rec, fakeAttrs{})
	api := rec.Resources["ServerlessRestApi"].PhysicalID
	want := map[string]string{
		"HelloWorldAPI":             "https://" + api + ".execute-api.us-east-1.amazonaws.com/Prod/hello/",
		"HelloWorldFunction":        "arn:aws:lambda:us-east-1:000000000000:function:sam-app-HelloWorldFunction",
		"HelloWorldFunctionIamRole": "arn:aws:iam::000000000000:role/portico",
	}
	if !reflect.DeepEqual(outs, want) || len(warnings) != 0 {
		t.Fatalf("outputs = %v (warnings %q), want %v", outs, warnings, want)
	}
}

// TestOutputsPorticoCannotResolve: an output Portico cannot resolve (an
// attribute it does not know, a resource it does not make, an imported
// value) is left out with a warning saying to remove it, and the deploy goes
// on; a name the template does not define fails it, listing the names that
// exist: the template's own, then those SAM generates, and no implicit API the
// template does not have.
func TestOutputsPorticoCannotResolve(t *testing.T) {
	dir := t.TempDir()
	writeCode(t, dir, "hello-world", "#!/bin/sh\necho hello\n")
	base := readTestdata(t, "sam-init-go.yaml")
	for name, tc := range map[string]struct {
		output  string
		err     string
		notErr  string
		warning []string
	}{
		"typo": {output: "!GetAtt HelloWorldFunctionRoel.Arn",
			err:    "output Extra: !GetAtt HelloWorldFunctionRoel.Arn: no resource is named HelloWorldFunctionRoel (the template defines ApplicationInsightsMonitoring, ApplicationResourceGroup, HelloWorldFunction; SAM generates HelloWorldFunctionRole, ServerlessRestApi)",
			notErr: "ServerlessHttpApi"},
		"typo in Sub": {output: `!Sub "https://${ServerlessHttpApi}.execute-api.${AWS::Region}.amazonaws.com/"`,
			err: "no parameter or resource is named ServerlessHttpApi"},
		"attribute of a resource Portico does not make": {output: "!GetAtt ApplicationResourceGroup.Arn",
			warning: []string{"output Extra is left out", "Portico knows no attributes of ApplicationResourceGroup (AWS::ResourceGroups::Group)", "remove it from the template"}},
		"attribute Portico does not know": {output: "!GetAtt HelloWorldFunction.SnapStartResponse",
			warning: []string{"output Extra is left out", "has no attribute SnapStartResponse that Portico knows", "remove it from the template"}},
		"Ref of a resource Portico does not make": {output: "!Ref ApplicationResourceGroup",
			warning: []string{"output Extra is left out: it names ApplicationResourceGroup (AWS::ResourceGroups::Group), which Portico does not make; remove it from the template"}},
		"imported value": {output: "!ImportValue shared-vpc",
			warning: []string{"output Extra is left out", "stacks do not export values in Portico"}},
		"role's other attribute": {output: "!GetAtt HelloWorldFunctionRole.RoleId",
			warning: []string{"output Extra is left out", "knows only its Arn"}},
	} {
		t.Run(name, func(t *testing.T) {
			text := base + "  Extra:\n    Value: " + tc.output + "\n"
			f := newFake()
			p, err := deployText(t, f, dir, "sam-app", text, nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || (tc.notErr != "" && strings.Contains(err.Error(), tc.notErr)) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if len(f.calls) != 0 {
					t.Errorf("a refused template changed things: %v", f.calls)
				}
				return
			}
			if err != nil {
				t.Fatalf("an output Portico cannot resolve failed the deploy: %v", err)
			}
			if !hasWarning(p.Warnings, tc.warning...) {
				t.Errorf("warnings %q, want one saying %q", p.Warnings, tc.warning)
			}
			tpl, err := Load(filepath.Join(dir, "template.yaml"), Options{Stack: "sam-app"})
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Sorted(maps.Keys(tpl.Outputs)); !reflect.DeepEqual(got, []string{"HelloWorldAPI", "HelloWorldFunction", "HelloWorldFunctionIamRole"}) {
				t.Errorf("outputs %v: the unresolvable one should be left out, the others kept", got)
			}
		})
	}
}

// TestAPIAttributesInOutputs: !GetAtt of each attribute Portico lists as
// known resolves (ApiEndpoint was printed as «ServerlessHttpApi.ApiEndpoint»,
// RootResourceId as «RestApi.RootResourceId»).
func TestAPIAttributesInOutputs(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	p, err := deployText(t, f, dir, "s", readTestdata(t, "api-attributes.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{"TableName", "TableArn"} {
		if !hasWarning(p.Warnings, "output "+out+" is left out", "remove it from the template") {
			t.Errorf("no warning leaving out %s: %q", out, p.Warnings)
		}
	}
	tpl, err := Load(filepath.Join(dir, "template.yaml"), Options{Stack: "s"})
	if err != nil {
		t.Fatal(err)
	}
	rec := f.stacks["s"]
	outs, warnings := tpl.ResolveOutputs(context.Background(), rec, fakeAttrs{})
	httpID, restID := rec.Resources["ServerlessHttpApi"].PhysicalID, rec.Resources["RestApi"].PhysicalID
	want := map[string]string{
		"HttpApiUrl":   "http://127.0.0.1:8080/" + httpID,
		"HttpApiId":    httpID,
		"HelloUrl":     "http://127.0.0.1:8080/" + httpID + "/hello",
		"RestRoot":     "root-of-" + restID,
		"FunctionRole": "portico",
	}
	if !reflect.DeepEqual(outs, want) || len(warnings) != 0 {
		t.Fatalf("outputs = %v (warnings %q), want %v", outs, warnings, want)
	}

	// Every attribute !GetAtt accepts is one ResolveOutputs resolves.
	kinds := map[string]string{TypeFunction: KindFunction, TypeAPI: KindAPI, TypeHTTPAPI: KindAPI, TypeV2API: KindAPI}
	for typ, attrs := range knownAttributes {
		kind, ok := kinds[typ]
		if !ok {
			t.Errorf("!GetAtt knows attributes of %s, which the stack's record does not hold", typ)
			continue
		}
		for _, a := range attrs {
			tpl := &Template{Outputs: map[string]string{"O": tokenOpen + "X." + a + tokenClose}}
			rec := &Record{Resources: map[string]*Resource{"X": {Kind: kind, PhysicalID: "abc"}}}
			outs, warnings := tpl.ResolveOutputs(context.Background(), rec, fakeAttrs{})
			if v := outs["O"]; v == "" || strings.Contains(v, tokenOpen) || len(warnings) != 0 {
				t.Errorf("%s.%s resolves to %q (warnings %q)", typ, a, v, warnings)
			}
		}
	}
}

// TestAPINamedInFunctionSaysWhy: a function naming an API its own events
// make is refused as the circular dependency CloudFormation refuses too, and
// one naming another API as something Portico cannot do; both say what to do.
func TestAPINamedInFunctionSaysWhy(t *testing.T) {
	dir := fixture(t)
	for name, tc := range map[string]struct{ from, to, want string }{
		"its own API": {"          GREETING: !Ref Greeting", `          API_URL: !Sub "https://${Api}.execute-api.${AWS::Region}.amazonaws.com/prod"`,
			"Hello: environment variable API_URL names Api (AWS::Serverless::Api), whose routes call Hello: the function would depend on the API that depends on it, a circular dependency CloudFormation refuses too. Remove it from the function; the function can read its API's id, domain name and stage from each event's requestContext"},
		"its own implicit HTTP API": {"      AutoPublishAlias: live\n      Events:\n        Any:", "      AutoPublishAlias: live\n      Environment:\n        Variables:\n          URL: !GetAtt ServerlessHttpApi.ApiEndpoint\n      Events:\n        Any:",
			"Other: environment variable URL names ServerlessHttpApi.ApiEndpoint (AWS::Serverless::HttpApi), whose routes call Other: the function would depend on the API that depends on it"},
		"another API": {"          GREETING: !Ref Greeting", "          OTHER_API: !Ref ServerlessHttpApi",
			"Hello: environment variable OTHER_API names ServerlessHttpApi (AWS::Serverless::HttpApi), which Portico cannot put there: it makes a stack's functions before its APIs"},
	} {
		t.Run(name, func(t *testing.T) {
			text := strings.Replace(twoFunctions, tc.from, tc.to, 1)
			if text == twoFunctions {
				t.Fatal("the test's replacement did not apply")
			}
			_, err := deployText(t, newFake(), dir, "s", text, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestSAMReferenceableProperties: SAM's Function.Alias, Function.Version,
// Api.Stage and the ids SAM generates for them (FnAliasLIVE, ApiSTAGEStage,
// ServerlessHttpApiApiGatewayDefaultStage) resolve as CloudFormation's Ref
// resolves them (the alias's and the version's ARN, the stage's name), in
// outputs and in a function's environment (they stopped the deploy: "no
// parameter or resource is named AppFn.Alias"); a version, published during
// the deploy, is refused in the environment, saying to name the alias.
func TestSAMReferenceableProperties(t *testing.T) {
	dir := fixture(t)
	text := strings.Replace(twoFunctions, "          GREETING: !Ref Greeting\n", `          GREETING: !Ref Greeting
          OTHER_ALIAS: !Ref Other.Alias
          STAGE: !Sub "${Api.Stage}/${ApiprodStage}/${ServerlessHttpApiApiGatewayDefaultStage}"
`, 1) + `Outputs:
  Alias:
    Value: !Ref Hello.Alias
  AliasById:
    Value: !Ref HelloAliaslive
  Version:
    Value: !Ref Hello.Version
  Stage:
    Value: !Ref Api.Stage
  StageById:
    Value: !Sub "${ApiprodStage}"
`
	f := newFake()
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := f.fns["s-Hello"].latest.Environment["OTHER_ALIAS"], "arn:aws:lambda:us-east-1:000000000000:function:s-Other:live"; got != want {
		t.Errorf("OTHER_ALIAS = %q, want %q", got, want)
	}
	if got, want := f.fns["s-Hello"].latest.Environment["STAGE"], "prod/prod/$default"; got != want {
		t.Errorf("STAGE = %q, want %q", got, want)
	}
	tpl, err := Load(filepath.Join(dir, "template.yaml"), Options{Stack: "s"})
	if err != nil {
		t.Fatal(err)
	}
	outs, warnings := tpl.ResolveOutputs(context.Background(), f.stacks["s"], fakeAttrs{})
	fn := "arn:aws:lambda:us-east-1:000000000000:function:s-Hello"
	want := map[string]string{"Alias": fn + ":live", "AliasById": fn + ":live", "Version": fn + ":" + f.stacks["s"].Resources["Hello"].Version,
		"Stage": "prod", "StageById": "prod"}
	if !reflect.DeepEqual(outs, want) || len(warnings) != 0 {
		t.Fatalf("outputs = %v (warnings %q), want %v", outs, warnings, want)
	}

	bad := strings.Replace(text, "!Ref Other.Alias", "!Ref Other.Version", 1)
	if _, err := deployText(t, newFake(), dir, "s2", bad, nil); err == nil || !strings.Contains(err.Error(), "name the alias (Other.Alias) instead") {
		t.Fatalf("Other.Version in the environment: %v", err)
	}
	noAlias := strings.Replace(text, "      CodeUri: other\n      AutoPublishAlias: live\n", "      CodeUri: other\n", 1)
	if _, err := deployText(t, newFake(), dir, "s3", noAlias, nil); err == nil || !strings.Contains(err.Error(), "Other.Alias: Other has no AutoPublishAlias") {
		t.Fatalf("Other.Alias without AutoPublishAlias: %v", err)
	}
}
