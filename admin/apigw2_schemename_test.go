package admin

import (
	"encoding/json"
	"testing"
)

// TestV2RequestAuthorizerSchemeNamesItsHeader: a Lambda (REQUEST)
// authorizer reading one header is exported with a security scheme naming
// that header; it named Authorization whatever the authorizer read, so tools
// rendering the export sent the key in the wrong header (r-httpapi25
// finding 8).
func TestV2RequestAuthorizerSchemeNamesItsHeader(t *testing.T) {
	t.Parallel()
	srv, _ := newGatewayAdmin(t)
	var a struct {
		APIID string `json:"apiId"`
	}
	if c := call(t, srv, "POST", "/v2/apis", `{"name":"x","protocolType":"HTTP"}`, &a); c != 201 {
		t.Fatalf("create-api: %d", c)
	}
	for name, src := range map[string]string{"lam": `["$request.header.x-auth"]`, "two": `["$request.header.x-a","$request.querystring.q"]`} {
		if c := call(t, srv, "POST", "/v2/apis/"+a.APIID+"/authorizers", `{"name":"`+name+`","authorizerType":"REQUEST","authorizerUri":"function:auth",`+
			`"identitySource":`+src+`,"authorizerPayloadFormatVersion":"2.0","enableSimpleResponses":true}`, nil); c != 201 {
			t.Fatalf("create-authorizer %s: %d", name, c)
		}
	}
	var doc struct {
		Components struct {
			SecuritySchemes map[string]struct{ Name, In string }
		}
	}
	if c := call(t, srv, "GET", "/v2/apis/"+a.APIID+"/exports/OAS30?outputType=JSON", "", &doc); c != 200 {
		t.Fatalf("export: %d", c)
	}
	got := doc.Components.SecuritySchemes
	if got["lam"].Name != "x-auth" || got["lam"].In != "header" {
		raw, _ := json.Marshal(got)
		t.Errorf("scheme of an authorizer reading x-auth: %s", raw)
	}
	if got["two"].Name != "Authorization" {
		t.Errorf("scheme of an authorizer reading two sources: %+v", got["two"])
	}
}
