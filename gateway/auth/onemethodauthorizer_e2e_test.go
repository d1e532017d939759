package auth_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
)

// TestOneAuthorizerPerMethod: API Gateway gives a method one authorizer. A
// security requirement naming two (AND), alternatives naming different ones
// (OR), an empty alternative beside an authorizer (optional authorization), or
// an authorizer beside x-amazon-apigateway-auth AWS_IAM would have Portico
// enforce one of them only: the import is refused with 400
// BadRequestException saying so. An API key beside the authorizer, in the
// same requirement or another, is enforced and stays accepted.
func TestOneAuthorizerPerMethod(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	doc := func(security, ext string) string {
		return `{"openapi":"3.0.1","info":{"title":"x","version":"1"},
  "components":{"securitySchemes":{
    "tok":{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authtype":"custom",
      "x-amazon-apigateway-authorizer":{"type":"token","authorizerUri":"function:authz"}},
    "tok2":{"type":"apiKey","name":"X-Other","in":"header","x-amazon-apigateway-authtype":"custom",
      "x-amazon-apigateway-authorizer":{"type":"token","authorizerUri":"function:authz"}},
    "sigv4":{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authtype":"awsSigv4"},
    "api_key":{"type":"apiKey","name":"x-api-key","in":"header"}}},
  "paths":{"/a":{"get":{"security":` + security + `,` + ext + `"x-amazon-apigateway-integration":{"type":"mock"}}}}}`
	}
	for name, tc := range map[string]struct{ security, ext, want string }{
		"two authorizers required (AND)": {`[{"tok":[],"tok2":[]}]`, "", `names 2 authorizers (tok, tok2)`},
		"an authorizer and IAM (AND)":    {`[{"tok":[],"sigv4":[]}]`, "", `names 2 authorizers (sigv4, tok)`},
		"alternatives (OR)":              {`[{"tok":[]},{"tok2":[]}]`, "", `offers alternative authorizers (tok, tok2)`},
		"alternative with IAM (OR)":      {`[{"sigv4":[]},{"tok":[]}]`, "", `offers alternative authorizers (sigv4, tok)`},
		"optional authorizer":            {`[{"tok":[]},{}]`, "", `an empty security requirement ({}) beside authorizer tok`},
		"authorizer and AWS_IAM extension": {`[{"tok":[]}]`, `"x-amazon-apigateway-auth":{"type":"AWS_IAM"},`,
			`x-amazon-apigateway-auth AWS_IAM and authorizer tok`},
	} {
		// import-rest-api (API Gateway's shape), and Portico's own import.
		for _, imp := range []struct {
			path, typ string
			q         url.Values
		}{{"/restapis", "BadRequestException", url.Values{"mode": {"import"}}}, {"/portico/v1/apis/import", "", url.Values{"name": {"x"}}}} {
			_, err := c.Do(context.Background(), "POST", imp.path, imp.q, []byte(doc(tc.security, tc.ext)), nil)
			var ae *client.APIError
			if !errors.As(err, &ae) || ae.Status != 400 || imp.typ != "" && ae.Type != imp.typ || !strings.Contains(ae.Message, tc.want) ||
				!strings.Contains(ae.Message, "one authorizer per method") {
				t.Errorf("%s: %s answered %v, want 400 %s saying %q and one authorizer per method", name, imp.path, err, imp.typ, tc.want)
			}
		}
	}
	for name, security := range map[string]string{
		"one authorizer":                     `[{"tok":[]}]`,
		"an authorizer and an API key":       `[{"tok":[],"api_key":[]}]`,
		"an authorizer, then an API key":     `[{"tok":[]},{"api_key":[]}]`,
		"the same authorizer in two entries": `[{"tok":[]},{"tok":[],"api_key":[]}]`,
		"none":                               `[{}]`,
	} {
		if _, err := c.Do(context.Background(), "POST", "/portico/v1/apis/import", url.Values{"name": {"x"}}, []byte(doc(security, "")), nil); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
