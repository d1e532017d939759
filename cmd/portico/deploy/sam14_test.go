package deploy

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestWebACLAssociationRefused: a WAF web ACL attached to a stage the
// template deploys was only warned about ("not supported ... not
// deployed") and the stage was served unfiltered; an association with
// something Portico does not deploy stays a warning.
func TestWebACLAssociationRefused(t *testing.T) {
	for name, tc := range map[string]struct{ typ, arn, want string }{
		"v2 Sub of the API": {"AWS::WAFv2::WebACLAssociation",
			`!Sub "arn:aws:apigateway:${AWS::Region}::/restapis/${Api}/stages/prod"`,
			"Acl (AWS::WAFv2::WebACLAssociation): refused: it attaches a web ACL to Api, and Portico has no WAF"},
		"regional literal API ARN": {"AWS::WAFRegional::WebACLAssociation",
			"arn:aws:apigateway:us-east-1::/restapis/abc/stages/prod",
			"Acl (AWS::WAFRegional::WebACLAssociation): refused: it attaches a web ACL to arn:aws:apigateway:us-east-1::/restapis/abc/stages/prod"},
	} {
		t.Run(name, func(t *testing.T) {
			text := twoFunctions + "  Acl:\n    Type: " + tc.typ + "\n    Properties:\n      ResourceArn: " + tc.arn +
				"\n      WebACLArn: arn:aws:wafv2:us-east-1:123:regional/webacl/x/y\n"
			f := newFake()
			_, err := deployText(t, f, fixture(t), "s", text, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if len(f.apis) != 0 || len(f.fns) != 0 {
				t.Fatalf("the refused template deployed %d APIs and %d functions", len(f.apis), len(f.fns))
			}
		})
	}
	text := twoFunctions + "  Acl:\n    Type: AWS::WAFv2::WebACLAssociation\n    Properties:\n" +
		"      ResourceArn: arn:aws:elasticloadbalancing:us-east-1:123:loadbalancer/app/x/y\n      WebACLArn: arn:aws:wafv2:us-east-1:123:regional/webacl/x/y\n"
	p, err := deployText(t, newFake(), fixture(t), "s", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(p.Warnings, "\n"); !strings.Contains(w, "Acl: resource type AWS::WAFv2::WebACLAssociation is not supported by Portico and is not deployed") {
		t.Errorf("warnings:\n%s", w)
	}
}

// TestHTTPAPIName: an AWS::Serverless::HttpApi's Name (SAM's since 2022)
// was refused as "not a property SAM knows", followed by a false "an event
// names API H, which is not an ... HttpApi of the template"; it names the
// API.
func TestHTTPAPIName(t *testing.T) {
	text := strings.Replace(twoFunctions, "        Any:\n          Type: HttpApi\n",
		"        Any:\n          Type: HttpApi\n          Properties: {ApiId: !Ref H, Path: /a, Method: get}\n", 1) +
		"  H:\n    Type: AWS::Serverless::HttpApi\n    Properties: {Name: myhttp}\n"
	f := newFake()
	if _, err := deployText(t, f, fixture(t), "s", text, nil); err != nil {
		t.Fatal(err)
	}
	if got := deployedAPI(t, f, "H").Name; got != "myhttp" {
		t.Errorf("the API's name is %q, want myhttp", got)
	}
	// A failing HttpApi is named once, not also as "not an HttpApi".
	bad := strings.Replace(text, "{Name: myhttp}", "{Name: myhttp, Nmae: x}", 1)
	_, err := deployText(t, newFake(), fixture(t), "s", bad, nil)
	if err == nil || !strings.Contains(err.Error(), "Nmae") || strings.Contains(err.Error(), "which is not an") {
		t.Fatalf("err = %v", err)
	}
}

// TestV2StageRefInOutputs: !Ref of an AWS::ApiGatewayV2::Stage in Outputs
// was left out as naming a resource "which Portico does not make"; it is
// the stage's name, as CloudFormation's Ref gives it.
func TestV2StageRefInOutputs(t *testing.T) {
	dir := fixture(t)
	text := twoFunctions + httpV2Parts + "Outputs:\n  S2: {Value: !Ref Stage}\n  Url: {Value: !Sub \"${Http.ApiEndpoint}/${Stage}\"}\n"
	f := newFake()
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	tpl, err := Load(filepath.Join(dir, "template.yaml"), Options{Stack: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tpl.Warnings) != 0 {
		t.Errorf("warnings: %q", tpl.Warnings)
	}
	outs, warnings := tpl.ResolveOutputs(context.Background(), f.stacks["s"], fakeAttrs{})
	api := f.stacks["s"].Resources["Http"].PhysicalID
	want := map[string]string{"S2": "v1", "Url": "http://127.0.0.1:8080/" + api + "/v1"}
	if !reflect.DeepEqual(outs, want) || len(warnings) != 0 {
		t.Fatalf("outputs = %v (warnings %q), want %v", outs, warnings, want)
	}
}

// TestRunEndedAroundFunctionCreate: a run that ended (kill -9) after
// creating a function and before recording it left the function in no
// stack, and the next deploy refused it as "already exists and is not part
// of stack". The function is recorded before it is made, so the next deploy
// creates or updates it, whichever point the run ended at.
func TestRunEndedAroundFunctionCreate(t *testing.T) {
	for _, at := range []string{"PutStack", "PutFunction", "PublishVersion"} {
		t.Run(at, func(t *testing.T) {
			dir := fixture(t)
			f := newFake()
			f.downAt = at // the run's process is gone from here on: nothing is rolled back
			if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err == nil {
				t.Fatal("the run that ended succeeded")
			}
			f.down, f.downAt = false, ""
			if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
				t.Fatalf("the next deploy: %v", err)
			}
			for _, id := range []string{"Hello", "Other"} {
				r := f.stacks["s"].Resources[id]
				if r == nil || f.fns[r.PhysicalID] == nil || r.Version == "" {
					t.Errorf("%s: record %+v, function made %v", id, r, r != nil && f.fns[r.PhysicalID] != nil)
				}
			}
		})
	}
}

// TestRESTAPITagsApplied: Tags on an AWS::Serverless::Api were ignored with
// a warning; they are set on the REST API and on its stage, as SAM puts
// them on both, with no warning. (An HttpApi's Tags are still ignored, with
// a warning saying what is true of it, not the function's reason.)
func TestRESTAPITagsApplied(t *testing.T) {
	text := strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Tags:\n        team: blue\n", 1)
	f := newFake()
	p, err := deployText(t, f, fixture(t), "s", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(p.Warnings, "\n"); strings.Contains(w, "Tags") {
		t.Errorf("warnings:\n%s", w)
	}
	r := f.stacks["s"].Resources["Api"]
	if r == nil || !maps.Equal(r.Tags, map[string]string{"team": "blue"}) {
		t.Fatalf("record %+v, want the tags", r)
	}
	for _, stage := range []string{"", "prod"} {
		if got := f.apis[r.PhysicalID].tags[stage]; !maps.Equal(got, map[string]string{"team": "blue"}) {
			t.Errorf("tags of %q: %v", stage, got)
		}
	}
	path := filepath.Join(fixture(t), "template.yaml")
	writeText(t, path, "Transform: AWS::Serverless-2016-10-31\nResources:\n  H:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      Tags: {team: blue}\n"+
		"  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {Runtime: provided.al2023, Handler: bootstrap, CodeUri: hello,\n"+
		"      Events: {Get: {Type: HttpApi, Properties: {ApiId: !Ref H, Path: /hi, Method: get}}}}\n")
	tpl, err := Load(path, Options{Stack: "s"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Build(tpl)
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(d.Warnings, "\n")
	if !strings.Contains(w, "H (AWS::Serverless::HttpApi): property Tags is not supported by Portico and is ignored: the HTTP API is made without tags") {
		t.Errorf("HttpApi warnings:\n%s", w)
	}
}

func writeText(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
