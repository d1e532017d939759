package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/mapping"
)

func mappingTestContext() *Context {
	return &Context{RequestID: "r-1", ExtendedRequestID: "x-1", RequestTime: time.Date(2026, 11, 30, 23, 5, 9, 0, time.UTC),
		APIID: "a1", Stage: "prod", Protocol: "REST", DeploymentID: "d1", DomainName: "a1.example", DomainPrefix: "a1",
		HTTPMethod: "POST", Path: "/pets/7", StagePrefix: "/prod", RouteKey: "POST /pets/{id}", ResourcePath: "/pets/{id}",
		Identity:   Identity{SourceIP: "1.2.3.4", UserAgent: "curl/8", APIKey: "k", APIKeyID: "kid", AccountID: "123"},
		Authorizer: Authorizer{PrincipalID: "u1", Context: map[string]any{"z": "last", "a": int64(1), "m": true, "claims": map[string]any{"sub": "u1"}}},
		Error:      Error0(),
	}
}

// Error0 is an error being answered, with characters JSON escapes.
func Error0() ErrorInfo {
	return ErrorInfo{Message: `bad "thing"`, ResponseType: "BAD_REQUEST_BODY", ValidationErrorString: "v"}
}

// $context holds the request's values, in AWS's key order, with the override
// maps first; the authorizer's context keys are sorted.
func TestMappingContext(t *testing.T) {
	tm, err := mapping.Parse("t", `$context.keySet()
$context.identity.keySet() $context.identity.sourceIp $context.identity.userAgent $context.identity.apiKeyId $context.identity.caller|
$context.authorizer $context.authorizer.claims.sub $context.authorizer.a
$context.error.message $context.error.messageString $context.error.responseType $context.error.validationErrorString
$context.requestTime $context.requestTimeEpoch $context.path $context.isCanaryRequest $context.httpMethod $context.routeKey`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tm.RenderString(context.Background(), &mapping.Vars{Context: mappingTestContext().MappingContext()})
	if err != nil {
		t.Fatal(err)
	}
	want := `[requestOverride, responseOverride, accountId, apiId, deploymentId, domainName, domainPrefix, extendedRequestId, httpMethod, path, protocol, requestId, requestTime, requestTimeEpoch, resourcePath, routeKey, stage, identity, error]
[sourceIp, userAgent, apiKey, apiKeyId, accessKey, caller, user, userArn, accountId] 1.2.3.4 curl/8 kid |
{principalId=u1, a=1, claims={sub=u1}, m=true, z=last} u1 1
bad "thing" "bad \"thing\"" BAD_REQUEST_BODY v
30/Nov/2026:23:05:09 +0000 1796079909000 /prod/pets/7 false POST POST /pets/{id}`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func BenchmarkMappingContext(b *testing.B) {
	c := mappingTestContext()
	b.ReportAllocs()
	for b.Loop() {
		c.MappingContext()
	}
}
