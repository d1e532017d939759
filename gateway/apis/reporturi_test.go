package apis_test

import (
	"regexp"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// awsLambdaURIRe is the form API Gateway's put-integration requires of a
// Lambda integration's uri on REST and WebSocket APIs (and of every
// authorizerUri); stage variable references stand where a name may.
var awsLambdaURIRe = regexp.MustCompile(`^arn:aws:apigateway:[a-z]{2}(-gov)?-[a-z]+-\d:lambda:path/2015-03-31/functions/arn:aws:lambda:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:function:([A-Za-z0-9_-]|\$\{stageVariables\.[A-Za-z0-9_]+\})+(:([A-Za-z0-9_$-]|\$\{stageVariables\.[A-Za-z0-9_]+\})+)?/invocations$`)

func TestReportedURI(t *testing.T) {
	const (
		fnARN  = "arn:aws:lambda:us-east-1:000000000000:function:hello"
		invoke = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + fnARN + "/invocations"
	)
	cases := []struct {
		name, protocol, typ, uri, want string
	}{
		{"REST function name", apis.ProtocolREST, apis.IntegrationAWSProxy, "function:hello", invoke},
		{"REST lower-case type (as exports spell it)", apis.ProtocolREST, "aws_proxy", "function:hello", invoke},
		{"REST AWS integration", apis.ProtocolREST, apis.IntegrationAWS, "function:hello", invoke},
		{"REST alias", apis.ProtocolREST, apis.IntegrationAWSProxy, "function:hello:live",
			"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + fnARN + ":live/invocations"},
		{"REST stage variable alias", apis.ProtocolREST, apis.IntegrationAWSProxy, "function:hello:${stageVariables.alias}",
			"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + fnARN + ":${stageVariables.alias}/invocations"},
		{"REST function ARN", apis.ProtocolREST, apis.IntegrationAWSProxy, fnARN, invoke},
		{"REST invocation ARN as stored", apis.ProtocolREST, apis.IntegrationAWSProxy, invoke, invoke},
		{"WebSocket function name", apis.ProtocolWebSocket, apis.IntegrationAWSProxy, "function:hello", invoke},
		{"HTTP function name: the function ARN", apis.ProtocolHTTP, apis.IntegrationAWSProxy, "function:hello", fnARN},
		{"HTTP function ARN as stored", apis.ProtocolHTTP, apis.IntegrationAWSProxy, fnARN, fnARN},
		{"HTTP invocation ARN as stored", apis.ProtocolHTTP, apis.IntegrationAWSProxy, invoke, invoke},
		{"HTTP URL untouched", apis.ProtocolREST, apis.IntegrationHTTPProxy, "http://example.com/function:hello", "http://example.com/function:hello"},
		{"MOCK untouched", apis.ProtocolREST, apis.IntegrationMock, "", ""},
		{"not a function: as stored", apis.ProtocolREST, apis.IntegrationAWS, "arn:aws:apigateway:us-east-1:s3:path/b", "arn:aws:apigateway:us-east-1:s3:path/b"},
		{"partial ARN behind the prefix: as stored", apis.ProtocolREST, apis.IntegrationAWSProxy, "function:000000000000:function:hello", "function:000000000000:function:hello"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := apis.ReportedURI(c.protocol, c.typ, c.uri)
			if got != c.want {
				t.Fatalf("ReportedURI(%s, %s, %q) = %q, want %q", c.protocol, c.typ, c.uri, got, c.want)
			}
			if c.protocol != apis.ProtocolHTTP && got != c.uri && !awsLambdaURIRe.MatchString(got) {
				t.Fatalf("%q is not in the form API Gateway takes", got)
			}
			if _, err := apis.FunctionRef(c.uri); err == nil {
				a, errA := apis.FunctionRef(c.uri)
				b, errB := apis.FunctionRef(got)
				if errA != nil || errB != nil || a != b {
					t.Fatalf("%q names %+v (%v), reported %q names %+v (%v)", c.uri, a, errA, got, b, errB)
				}
			}
		})
	}
}

func TestReportedAuthorizerURI(t *testing.T) {
	const invoke = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:authz:live/invocations"
	for _, uri := range []string{"function:authz:live", "arn:aws:lambda:us-east-1:000000000000:function:authz:live", invoke} {
		if got := apis.ReportedAuthorizerURI(uri); got != invoke {
			t.Errorf("ReportedAuthorizerURI(%q) = %q, want %q", uri, got, invoke)
		}
	}
	if got := apis.ReportedAuthorizerURI(""); got != "" {
		t.Errorf("ReportedAuthorizerURI(\"\") = %q", got)
	}
	if !awsLambdaURIRe.MatchString(invoke) {
		t.Fatal("the pattern refuses API Gateway's own form")
	}
}
