package deploy

import (
	"strings"
	"testing"
)

// uriFormsTemplate has an implicit REST API and HTTP API of events (their
// routes' URIs made as function:NAME:ALIAS), a REST API whose definition
// names its function in the form URI stands for, and a Lambda authorizer
// (its authorizerUri made as an invocation ARN).
const uriFormsTemplate = `
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: provided.al2023
    Handler: bootstrap
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello
      AutoPublishAlias: live
      Events:
        Get:
          Type: Api
          Properties: {Path: /hi, Method: get}
        Http:
          Type: HttpApi
          Properties: {Path: /hi, Method: get}
  Authz:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: other
  Defined:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Auth:
        DefaultAuthorizer: Tok
        Authorizers:
          Tok:
            FunctionArn: !GetAtt Authz.Arn
      DefinitionBody:
        openapi: 3.0.1
        info: {title: defined, version: "1"}
        paths:
          /named:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: URI
`

// oldBuildFingerprints are the definition fingerprints that builds before
// fix-arn13 recorded for uriFormsTemplate's APIs, with URI function:s-Hello:live:
// what a stack deployed by such a build holds.
var oldBuildFingerprints = map[string]string{
	"ServerlessRestApi": "b4d20ee384820444a514e462d51b208e3712067d3f619fd2008af54fe6345b6d",
	"ServerlessHttpApi": "456d03708d54e6e269598c7f48fb36d722e53d08d7af4f4cbd7dba72d459ef94",
	"Defined":           "743c42ceba90478d731add8f18fa48a9083904d045b0f93ce6ff6fc1559ab996",
}

// TestOldBuildStackPlansNoChange: a stack whose record holds the definition
// fingerprints an older build recorded plans no change under this build;
// and an API whose definition names its function as function:NAME has the
// fingerprint of one naming it by its invocation ARN or its function ARN:
// once this build has deployed a stack, how a URI is written is not a
// change.
func TestOldBuildStackPlansNoChange(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	withURI := func(uri string) string { return strings.Replace(uriFormsTemplate, "uri: URI", "uri: "+uri, 1) }
	named := withURI("function:s-Hello:live")
	if _, err := deployText(t, f, dir, "s", named, nil); err != nil {
		t.Fatal(err)
	}
	unchanged := func(when, text string) {
		t.Helper()
		p, err := planOf(t, f, dir, "s", text, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := actions(p); strings.Count(got, "="+string(Keep)) != strings.Count(got, "=") {
			t.Errorf("%s: actions = %s, want no change", when, got)
		}
	}
	rec := f.stacks["s"]
	for id, want := range oldBuildFingerprints {
		r := rec.Resources[id]
		if r == nil {
			t.Fatalf("no record of %s", id)
		}
		r.Fingerprint = want // as the older build recorded it
	}
	unchanged("the older build's record", named)

	// This build's deploy records this build's fingerprints (a change of
	// the stage makes it deploy), after which the URI's form is no change.
	if _, err := deployText(t, f, dir, "s", strings.Replace(named, "StageName: prod", "StageName: live", 1), nil); err != nil {
		t.Fatal(err)
	}
	forms := []string{
		`!Sub "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Hello.Alias}/invocations"`,
		`!Sub "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:s-Hello:live/invocations"`,
		`!Sub "arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:s-Hello:live"`,
	}
	for _, uri := range forms {
		unchanged("uri "+uri, strings.Replace(withURI(uri), "StageName: prod", "StageName: live", 1))
	}
}
