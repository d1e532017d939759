package admin

import (
	"testing"
)

// TestPatchAPIRESTOnlySettings: PATCH /portico/v1/apis/{id} refuses
// binaryMediaTypes and apiKeySource on an HTTP API (400), as the
// apigatewayv2 and OpenAPI import paths do: they are REST API settings, and
// binary media types would steer a payload 1.0 event's isBase64Encoded,
// which an HTTP API decides by the body alone. They were stored. A REST API
// takes both; a WebSocket API its apiKeySource (its apiKeySelectionExpression)
// but not binaryMediaTypes, which apigatewayv2 has no field for and the
// gateway does not apply to WebSocket messages (they were stored too).
func TestPatchAPIRESTOnlySettings(t *testing.T) {
	t.Parallel()
	srv, _ := newGatewayAdmin(t)
	create := func(protocol, extra string) string {
		var a struct{ ID string }
		if c := call(t, srv, "POST", "/portico/v1/apis", `{"name":"x","protocol":"`+protocol+`"`+extra+`}`, &a); c != 201 {
			t.Fatalf("create %s: %d", protocol, c)
		}
		return a.ID
	}
	httpAPI := create("HTTP", "")
	for _, body := range []string{`{"binaryMediaTypes":["image/png"]}`, `{"apiKeySource":"HEADER"}`, `{"apiKeySource":"AUTHORIZER"}`} {
		if c := call(t, srv, "PATCH", "/portico/v1/apis/"+httpAPI, body, nil); c != 400 {
			t.Errorf("HTTP API PATCH %s: %d, want 400", body, c)
		}
		if c := call(t, srv, "POST", "/portico/v1/apis", `{"name":"y","protocol":"HTTP",`+body[1:], nil); c != 400 {
			t.Errorf("create HTTP API with %s: %d, want 400", body, c)
		}
	}
	var got struct {
		BinaryMediaTypes []string
		APIKeySource     string
	}
	if call(t, srv, "GET", "/portico/v1/apis/"+httpAPI, "", &got); len(got.BinaryMediaTypes) > 0 || got.APIKeySource != "" {
		t.Errorf("HTTP API stored %+v", got)
	}
	restAPI := create("REST", "")
	if c := call(t, srv, "PATCH", "/portico/v1/apis/"+restAPI, `{"binaryMediaTypes":["image/png"],"apiKeySource":"AUTHORIZER"}`, nil); c != 200 {
		t.Errorf("REST API PATCH: %d, want 200", c)
	}
	wsAPI := create("WEBSOCKET", `,"routeSelectionExpression":"$request.body.action"`)
	if c := call(t, srv, "PATCH", "/portico/v1/apis/"+wsAPI, `{"apiKeySource":"AUTHORIZER"}`, nil); c != 200 {
		t.Errorf("WebSocket API PATCH apiKeySource: %d, want 200", c)
	}
	if c := call(t, srv, "PATCH", "/portico/v1/apis/"+wsAPI, `{"binaryMediaTypes":["image/png"]}`, nil); c != 400 {
		t.Errorf("WebSocket API PATCH binaryMediaTypes: %d, want 400", c)
	}
	if c := call(t, srv, "POST", "/portico/v1/apis", `{"name":"y","protocol":"WEBSOCKET","routeSelectionExpression":"$request.body.action","binaryMediaTypes":["*/*"]}`, nil); c != 400 {
		t.Errorf("create WebSocket API with binaryMediaTypes: %d, want 400", c)
	}
	if c := call(t, srv, "PUT", "/portico/v1/apis/"+wsAPI, `{"name":"x","protocol":"WEBSOCKET","routeSelectionExpression":"$request.body.action","binaryMediaTypes":["*/*"]}`, nil); c != 400 {
		t.Errorf("PUT WebSocket API with binaryMediaTypes: %d, want 400", c)
	}
	if call(t, srv, "GET", "/portico/v1/apis/"+wsAPI, "", &got); len(got.BinaryMediaTypes) > 0 {
		t.Errorf("WebSocket API stored %+v", got)
	}
}
