package admin

import (
	"encoding/json"
	"testing"
)

// TestV2RequestAuthorizerSchemeNamesItsHeader: a Lambda (REQUEST)
// authorizer reading one header is exported with a security scheme naming
// that header; it named Authorization whatever the authorizer read, so tools
// rendering the export sent the key in the wrong header (r-httpapi25
// finding 8). So is one header among other identity sources.
func TestV2RequestAuthorizerSchemeNamesItsHeader(t *testing.T) {
	t.Parallel()
	srv, _ := newGatewayAdmin(t)
	var a struct {
		APIID string `json:"apiId"`
	}
	if c := call(t, srv, "POST", "/v2/apis", `{"name":"x","protocolType":"HTTP"}`, &a); c != 201 {
		t.Fatalf("create-api: %d", c)
	}
	for name, src := range map[string]string{"lam": `["$request.header.x-auth"]`, "two": `["$request.header.x-a","$request.querystring.q"]`,
		"four":    `["$request.header.x-b","$request.querystring.k","$context.routeKey","$stageVariables.a"]`,
		"headers": `["$request.header.x-a","$request.header.x-b"]`} {
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
	// One header among other sources is named too (r-httpapi27 finding 6);
	// with two headers neither is the one to name.
	if got["two"].Name != "x-a" || got["four"].Name != "x-b" {
		t.Errorf("scheme of an authorizer reading one header among other sources: %+v, %+v", got["two"], got["four"])
	}
	if got["headers"].Name != "Authorization" {
		t.Errorf("scheme of an authorizer reading two headers: %+v", got["headers"])
	}
}
