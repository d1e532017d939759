package openapi

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSwagger2ExportOfJWTAuthorizerImportsAgain: the Swagger 2.0 export of an
// HTTP API with a JWT authorizer writes its scheme as API Gateway writes a
// JWT authorizer (type oauth2, the authorizer in
// x-amazon-apigateway-authorizer), with no OAuth 2 flow, which Swagger 2.0's
// converter refused ("unsupported flow"): the export did not import again.
// A JWT authorizer's flow says nothing (the extension says what is
// enforced), so the import loads the scheme without one, and the API it
// makes has the same authorizer and route security.
func TestSwagger2ExportOfJWTAuthorizerImportsAgain(t *testing.T) {
	doc := `{"openapi": "3.0.1", "info": {"title": "jwt", "version": "1"},
	  "paths": {"/jwt": {"get": {"security": [{"MyJwt": ["read"]}], "responses": {"200": {"description": "ok"}},
	    "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "payloadFormatVersion": "2.0",
	      "uri": "arn:aws:lambda:us-east-1:000000000000:function:f"}}}},
	  "components": {"securitySchemes": {"MyJwt": {"type": "oauth2",
	    "x-amazon-apigateway-authorizer": {"type": "jwt", "identitySource": "$request.header.Authorization",
	      "jwtConfiguration": {"issuer": "https://issuer.example.com", "audience": ["pets"]}}}}}}`
	res, err := Import(t.Context(), []byte(doc), Options{Protocol: "HTTP"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Export(res.API, "swagger2")
	if err != nil {
		t.Fatal(err)
	}
	again, err := Import(t.Context(), out, Options{Protocol: "HTTP"})
	if err != nil {
		t.Fatalf("importing the swagger2 export: %v\n%s", err, out)
	}
	if got, want := string(again.API.Authorizers["MyJwt"]), string(res.API.Authorizers["MyJwt"]); got != want {
		t.Errorf("authorizer after the round trip:\n%s\nwant\n%s", got, want)
	}
	sec, _ := json.Marshal(again.API.Routes[0].Security)
	if len(again.API.Routes) != 1 || !strings.Contains(string(sec), `"MyJwt":["read"]`) {
		t.Errorf("routes after the round trip: %+v", again.API.Routes)
	}
}

// TestSwagger2ExportOfJWTSchemeIsSwagger2: an HTTP API's JWT scheme as API
// Gateway's OAS3 export writes it (type oauth2, flows {}) is written in a
// Swagger 2.0 export as Swagger 2.0 has an oauth2 scheme, with a flow,
// authorizationUrl and scopes and no OpenAPI 3 flows (r-openapi24 #5), and
// imports again as the same authorizer.
func TestSwagger2ExportOfJWTSchemeIsSwagger2(t *testing.T) {
	doc := `{"openapi": "3.0.1", "info": {"title": "jwt", "version": "1"},
	  "paths": {"/jwt": {"get": {"security": [{"MyJwt": []}], "responses": {"200": {"description": "ok"}},
	    "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "payloadFormatVersion": "2.0",
	      "uri": "arn:aws:lambda:us-east-1:000000000000:function:f"}}}},
	  "components": {"securitySchemes": {"MyJwt": {"type": "oauth2", "flows": {},
	    "x-amazon-apigateway-authorizer": {"type": "jwt", "identitySource": "$request.header.Authorization",
	      "jwtConfiguration": {"issuer": "https://issuer.example.com", "audience": ["pets"]}}}}}}`
	res, err := Import(t.Context(), []byte(doc), Options{Protocol: "HTTP"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Export(res.API, "swagger2")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Defs map[string]map[string]json.RawMessage `json:"securityDefinitions"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	s := got.Defs["MyJwt"]
	if s["flows"] != nil || string(s["flow"]) != `"implicit"` || s["authorizationUrl"] == nil || string(s["scopes"]) != "{}" {
		t.Fatalf("swagger2 securityDefinitions.MyJwt: %s, want a Swagger 2.0 oauth2 scheme (flow, authorizationUrl, scopes; no flows)", out)
	}
	again, err := Import(t.Context(), out, Options{Protocol: "HTTP"})
	if err != nil {
		t.Fatalf("importing the swagger2 export: %v\n%s", err, out)
	}
	var a, b map[string]any
	_ = json.Unmarshal(again.API.Authorizers["MyJwt"], &a)
	_ = json.Unmarshal(res.API.Authorizers["MyJwt"], &b)
	delete(b, "flows") // OpenAPI 3's empty flows says nothing
	if ja, jb := mustJSON(a), mustJSON(b); ja != jb {
		t.Errorf("authorizer after the round trip:\n%s\nwant\n%s", ja, jb)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
