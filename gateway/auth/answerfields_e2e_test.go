package auth_test

import (
	"net/http"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestAuthorizerAnswerFieldsStrict is what the authz16 tester found: an
// authorizer's answer was decoded with encoding/json, which matches field
// names in any letter case and keeps the last of a name given twice, so
// {"policyDocument": DENY, "PolicyDocument": ALLOW} admitted the request its
// authorizer denied, and {"isAuthorized": false, "IsAuthorized": true} or
// {"ISAUTHORIZED": true} too. The answer's fields are now read as strictly as
// the policy in them: a field named twice (also in the context) or in another
// letter case is an authorizer failure (500), on REST and HTTP APIs.
func TestAuthorizerAnswerFieldsStrict(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "authz", 2)
	createFunction(t, c, "echo", 5)
	const (
		deny  = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"*"}]}`
		allow = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`
	)

	restID := createAPI(t, c, map[string]any{"name": "r", "protocol": "REST",
		"authorizers": map[string]any{"tok": lambdaScheme(map[string]any{"type": "token", "authorizerUri": "function:authz",
			"authorizerResultTtlInSeconds": 0})},
		"routes": []any{mockRoute("DELETE", "/n", "tok")}})
	rest := func(what, answer string, status int, errType string) {
		t.Helper()
		req, _ := http.NewRequest("DELETE", env.GatewayURL+"/"+restID+"/dev/n", nil)
		req.Header.Set("Authorization", "raw:"+answer)
		expect(t, "REST: "+what, do(t, req), status, errType, "")
	}
	rest("a plain Allow", `{"principalId":"x","policyDocument":`+allow+`}`, 200, "")
	rest("an Allow with a field Portico does not know", `{"principalId":"x","policyDocument":`+allow+`,"extra":1}`, 200, "")
	rest("a plain Deny", `{"principalId":"x","policyDocument":`+deny+`}`, 403, "AccessDeniedException")
	for what, answer := range map[string]string{
		"Deny, then an Allow as PolicyDocument":  `{"principalId":"x","policyDocument":` + deny + `,"PolicyDocument":` + allow + `}`,
		"an Allow as PolicyDocument, then Deny":  `{"principalId":"x","PolicyDocument":` + allow + `,"policyDocument":` + deny + `}`,
		"policyDocument twice":                   `{"principalId":"x","policyDocument":` + deny + `,"policyDocument":` + allow + `}`,
		"only names in other letter cases":       `{"PRINCIPALID":"x","policydocument":` + allow + `}`,
		"usageIdentifierKey and UsageIdentifier": `{"principalId":"x","policyDocument":` + allow + `,"usageIdentifierKey":"a","UsageIdentifierKey":"b"}`,
		"Context":                                `{"principalId":"x","policyDocument":` + allow + `,"Context":{"role":"admin"}}`,
		"a context key twice":                    `{"principalId":"x","policyDocument":` + allow + `,"context":{"role":"user","role":"admin"}}`,
	} {
		rest(what, answer, 500, "AuthorizerConfigurationException")
	}

	route := func(path string) map[string]any {
		return map[string]any{"method": "GET", "path": path, "security": []any{map[string]any{path[1:]: []any{}}},
			"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:echo", "payloadFormatVersion": "2.0"}}
	}
	httpID := createAPI(t, c, map[string]any{"name": "h", "protocol": "HTTP",
		"authorizers": map[string]any{
			"s": lambdaScheme(map[string]any{"type": "request", "authorizerUri": "function:authz",
				"identitySource": "$request.header.Authorization", "authorizerPayloadFormatVersion": "2.0", "enableSimpleResponses": true}),
			"p": lambdaScheme(map[string]any{"type": "request", "authorizerUri": "function:authz",
				"identitySource": "$request.header.Authorization", "authorizerPayloadFormatVersion": "2.0"}),
		},
		"routes": []any{route("/s"), route("/p")}})
	httpCall := func(path, what, answer string, status int, errType string) {
		t.Helper()
		expect(t, "HTTP "+path+": "+what, call(t, env.GatewayURL+"/"+httpID+"/dev"+path, "Authorization", "raw:"+answer), status, errType, "")
	}
	httpCall("/s", "isAuthorized true", `{"isAuthorized":true,"context":{"role":"user"}}`, 200, "")
	httpCall("/s", "isAuthorized false", `{"isAuthorized":false}`, 403, "AccessDeniedException")
	httpCall("/p", "a plain Deny", `{"principalId":"x","policyDocument":`+deny+`}`, 403, "AccessDeniedException")
	for path, answers := range map[string]map[string]string{
		"/s": {
			"isAuthorized false, then IsAuthorized true": `{"isAuthorized":false,"IsAuthorized":true}`,
			"isAuthorized twice":                         `{"isAuthorized":false,"isAuthorized":true}`,
			"only ISAUTHORIZED":                          `{"ISAUTHORIZED":true}`,
			"a context key twice":                        `{"isAuthorized":true,"context":{"role":"user","role":"admin"}}`,
		},
		"/p": {
			"Deny, then an Allow as PolicyDocument": `{"principalId":"x","policyDocument":` + deny + `,"PolicyDocument":` + allow + `}`,
		},
	} {
		for what, answer := range answers {
			httpCall(path, what, answer, 500, "AuthorizerConfigurationException")
		}
	}
}
