package auth_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestPoliciesParseStrictly: put-user-policy and a REST API's import refuse a
// policy IAM would refuse (an element misspelt, named in another letter case or
// twice, a Version IAM does not know) with MalformedPolicyDocument / 400, where
// they used to store it and enforce another policy than its text: a misspelt
// Condition was an unconditional Allow, "effect":"Allow" after "Effect":"Deny"
// an Allow.
func TestPoliciesParseStrictly(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	id := createAPI(t, c, map[string]any{"name": "strict", "protocol": "REST",
		"authorizers": map[string]any{"sigv4": sigv4Scheme}, "routes": []any{mockRoute("GET", "/pets", "sigv4")}})
	base := env.GatewayURL + "/" + id + "/dev"
	erin := iamUser(t, env, "erin", "")
	bad := map[string]string{
		"misspelt Condition": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*","Conditon":{"IpAddress":{"aws:SourceIp":"10.99.0.0/16"}}}]}`,
		"effect twice":       `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`,
		"RESOURCE":           `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:none/*","RESOURCE":"*"}]}`,
		"Extra":              `{"Version":"2012-10-17","Extra":1,"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`,
		"Version":            `{"Version":"2012-10-18","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`,
	}
	for name, doc := range bad {
		st, body := iamCall(t, env, "PutUserPolicy", "UserName", "erin", "PolicyName", "p", "PolicyDocument", doc)
		if st != 400 || !strings.Contains(body, "<Code>MalformedPolicyDocument</Code>") {
			t.Errorf("PutUserPolicy %s: %d %s", name, st, body)
		}
	}
	expect(t, "erin after the refused policies", signedCall(t, erin, "GET", base+"/pets", "", "X-Forwarded-For", "10.16.0.1"), 403, "AccessDeniedException", "")

	// The same in a REST API's resource policy refuses the import.
	for name, stmt := range map[string]string{
		"misspelt Condition": `{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*","Conditon":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`,
		"effect twice":       `{"Effect":"Deny","effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"}`,
		"Effect twice":       `{"Effect":"Deny","Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"}`,
	} {
		doc := `{"openapi":"3.0.1","info":{"title":"rp","version":"1"},
  "x-amazon-apigateway-policy":{"Version":"2012-10-17","Statement":[` + stmt + `]},
  "paths":{"/open":{"get":{"x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\": 200}"},"responses":{"default":{"statusCode":"200"}}}}}}}`
		resp, err := c.Do(context.Background(), "POST", "/portico/v1/apis/import", url.Values{"name": {"rp"}}, []byte(doc), nil)
		if err == nil {
			t.Errorf("import with a resource policy (%s): %d %s", name, resp.Status, resp.Body)
		} else if !strings.Contains(err.Error(), "x-amazon-apigateway-policy") {
			t.Errorf("import with a resource policy (%s): %v", name, err)
		}
	}
}
