package deploy

import (
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
