package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/invoker"
)

// png is a body that is not UTF-8, as an image is.
var png = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0x00, 0xff, 0xfe}

// bodyRecorder keeps the last request's body
// and Content-Type.
type bodyRecorder struct {
	mu   sync.Mutex
	body []byte
	ct   string
}

func (b *bodyRecorder) last() ([]byte, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.body, b.ct
}

func TestContentHandlingRequests(t *testing.T) {
	rec := &bodyRecorder{}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.body, rec.ct = b, r.Header.Get("Content-Type")
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok": true}`)
	}))
	defer backend.Close()
	e := newEnv(t)
	route := func(path, handling string, templates map[string]string) apis.Route {
		return apis.Route{Method: "POST", Path: path, Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "POST",
			URI: backend.URL + path, ContentHandling: handling, RequestTemplates: templates}}
	}
	a := &apis.API{Name: "bin", Protocol: apis.ProtocolREST, Definition: apis.Definition{
		BinaryMediaTypes: []string{"image/png", "application/octet-stream"},
		Routes: []apis.Route{
			route("/text", apis.ContentHandlingToText, map[string]string{"image/png": `{"image": "$input.body"}`}),
			route("/passthrough", "", map[string]string{"image/png": `{"image": "$input.body"}`}),
			route("/binary", apis.ContentHandlingToBinary, nil),
		}}}
	id := e.deploy(a, "dev", nil)

	// Binary in, CONVERT_TO_TEXT: the template sees the base64 text.
	if r := e.do("POST", "/"+id+"/dev/text", bytes.NewReader(png), "Content-Type", "image/png"); r.status != 200 {
		t.Fatalf("text: %d %s", r.status, r.body)
	}
	if got, _ := rec.last(); string(got) != `{"image": "`+base64.StdEncoding.EncodeToString(png)+`"}` {
		t.Errorf("CONVERT_TO_TEXT: backend got %q", got)
	}
	// Text in, CONVERT_TO_TEXT: text stays text, through the JSON template.
	e.do("POST", "/"+id+"/dev/text", strings.NewReader(`{"a":1}`), "Content-Type", "application/json")
	if got, _ := rec.last(); string(got) != `{"a":1}` {
		t.Errorf("CONVERT_TO_TEXT of text: backend got %q", got)
	}

	// Binary in, no contentHandling: the bytes pass through, template or not.
	if r := e.do("POST", "/"+id+"/dev/passthrough", bytes.NewReader(png), "Content-Type", "image/png"); r.status != 200 {
		t.Fatalf("passthrough: %d %s", r.status, r.body)
	}
	if got, ct := rec.last(); !bytes.Equal(got, png) || ct != "image/png" {
		t.Errorf("binary passthrough: backend got %q (%s)", got, ct)
	}

	// Text in, CONVERT_TO_BINARY: the base64 text reaches the backend decoded.
	e.do("POST", "/"+id+"/dev/binary", strings.NewReader(base64.StdEncoding.EncodeToString(png)), "Content-Type", "text/plain")
	if got, _ := rec.last(); !bytes.Equal(got, png) {
		t.Errorf("CONVERT_TO_BINARY: backend got %q", got)
	}
	// Binary in, CONVERT_TO_BINARY: binary stays as it is.
	e.do("POST", "/"+id+"/dev/binary", bytes.NewReader(png), "Content-Type", "application/octet-stream")
	if got, _ := rec.last(); !bytes.Equal(got, png) {
		t.Errorf("CONVERT_TO_BINARY of binary: backend got %q", got)
	}
	// Text that is not base64 cannot become binary: API Gateway's 500.
	e.do("POST", "/"+id+"/dev/binary", strings.NewReader("not base64!"), "Content-Type", "text/plain").
		expectError(t, 500, "InternalServerErrorException", "Internal server error")
}

func TestContentHandlingResponses(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/image":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(png)
		default:
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, base64.StdEncoding.EncodeToString(png))
		}
	}))
	defer backend.Close()
	e := newEnv(t)
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		return &invoker.Result{Payload: []byte(`{"image": "` + base64.StdEncoding.EncodeToString(png) + `"}`)}, nil
	}
	httpRoute := func(path, backendPath, handling string) apis.Route {
		return apis.Route{Method: "GET", Path: path, Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "GET",
			URI: backend.URL + backendPath, Responses: map[string]apis.IntegrationResponse{
				"default": {StatusCode: "200", ContentHandling: handling}}}}
	}
	a := &apis.API{Name: "bin", Protocol: apis.ProtocolREST, Definition: apis.Definition{
		BinaryMediaTypes: []string{"image/png"},
		Routes: []apis.Route{
			httpRoute("/image", "/image", ""),
			httpRoute("/image/text", "/image", apis.ContentHandlingToText),
			httpRoute("/encoded", "/encoded", ""),
			httpRoute("/encoded/binary", "/encoded", apis.ContentHandlingToBinary),
			httpRoute("/encoded/text", "/encoded", apis.ContentHandlingToText),
			{Method: "GET", Path: "/image/template", Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "GET",
				URI: backend.URL + "/image", Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200",
					ContentHandling: apis.ContentHandlingToText, ResponseTemplates: map[string]string{"application/json": `{"img":"$input.body"}`}}}}},
			{Method: "GET", Path: "/function", Integration: &apis.Integration{Type: apis.IntegrationAWS, URI: "function:hello", HTTPMethod: "POST",
				Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ContentHandling: apis.ContentHandlingToBinary,
					ResponseTemplates: map[string]string{"application/json": `$input.path('$.image')`}}}}},
		}}}
	id := e.deploy(a, "dev", nil)
	b64 := base64.StdEncoding.EncodeToString(png)
	for _, c := range []struct {
		name, path, accept, want string
	}{
		{"binary to a binary client", "/image", "image/png", string(png)},
		{"binary to a text client is base64", "/image", "application/json", b64},
		{"binary to a client without Accept is base64", "/image", "", b64},
		{"CONVERT_TO_TEXT to a binary client", "/image/text", "image/png", b64},
		{"text to a text client", "/encoded", "text/plain", b64},
		{"text to a binary client is decoded", "/encoded", "image/png, */*", string(png)},
		{"only the first Accept type counts", "/encoded", "text/html, image/png", b64},
		{"CONVERT_TO_BINARY to a text client", "/encoded/binary", "text/plain", string(png)},
		{"CONVERT_TO_TEXT of text to a binary client", "/encoded/text", "image/png", b64},
		{"CONVERT_TO_TEXT: the response template sees base64", "/image/template", "", `{"img":"` + b64 + `"}`},
		{"a function's base64 through a template and CONVERT_TO_BINARY", "/function", "", string(png)},
	} {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.accept != "" {
				hdr = []string{"Accept", c.accept}
			}
			r := e.do("GET", "/"+id+"/dev"+c.path, nil, hdr...)
			if r.status != 200 || r.body != c.want {
				t.Fatalf("%d %q, want %q", r.status, r.body, c.want)
			}
		})
	}
}

// TestContentHandlingMockWildcard is the famous case of binaryMediaTypes */*: a
// MOCK's JSON (a CORS preflight's, say) asked for by a client accepting */* is
// base64-decoded and fails (500) unless its integration response says
// CONVERT_TO_TEXT.
func TestContentHandlingMockWildcard(t *testing.T) {
	e := newEnv(t)
	mock := func(handling string) *apis.Integration {
		return &apis.Integration{Type: apis.IntegrationMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ContentHandling: handling,
				ResponseTemplates: map[string]string{"application/json": `{"pong": true}`}}}}
	}
	a := &apis.API{Name: "wild", Protocol: apis.ProtocolREST, Definition: apis.Definition{BinaryMediaTypes: []string{"*/*"},
		Routes: []apis.Route{{Method: "GET", Path: "/plain", Integration: mock("")}, {Method: "GET", Path: "/text", Integration: mock(apis.ContentHandlingToText)}}}}
	id := e.deploy(a, "dev", nil)
	e.do("GET", "/"+id+"/dev/plain", nil, "Accept", "*/*").expectError(t, 500, "InternalServerErrorException", "Internal server error")
	if r := e.do("GET", "/"+id+"/dev/text", nil, "Accept", "*/*"); r.status != 200 || r.body != `{"pong": true}` {
		t.Fatalf("CONVERT_TO_TEXT: %d %q", r.status, r.body)
	}
	if !strings.Contains(e.logs.String(), "CONVERT_TO_BINARY") {
		t.Errorf("the 500's reason is not in the log:\n%s", e.logs.String())
	}
}

func TestContentHandlingRefusedWhereNotApplied(t *testing.T) {
	svc := newEnv(t).svc
	for _, c := range []struct {
		name, protocol string
		in             apis.Integration
	}{
		{"HTTP_PROXY", apis.ProtocolREST, apis.Integration{Type: apis.IntegrationHTTPProxy, URI: "http://example.com", ContentHandling: apis.ContentHandlingToText}},
		{"AWS_PROXY to binary", apis.ProtocolREST, apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello", ContentHandling: apis.ContentHandlingToBinary}},
		{"WebSocket", apis.ProtocolWebSocket, apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello", ContentHandling: apis.ContentHandlingToText}},
		{"integration response", apis.ProtocolREST, apis.Integration{Type: apis.IntegrationMock, Responses: map[string]apis.IntegrationResponse{
			"default": {StatusCode: "200", ContentHandling: "CONVERT_TO_PDF"}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			route := apis.Route{Method: "GET", Path: "/x", Integration: &in}
			if c.protocol == apis.ProtocolWebSocket {
				route = apis.Route{RouteKey: "$default", Integration: &in}
			}
			_, err := svc.Create(context.Background(), &apis.API{Name: "x", Protocol: c.protocol, Definition: apis.Definition{
				RouteSelectionExpression: "$request.body.action", Routes: []apis.Route{route}}})
			if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "contentHandling") {
				t.Fatalf("err = %v, want an invalid contentHandling", err)
			}
		})
	}
	// AWS_PROXY with CONVERT_TO_TEXT (the AWS petstore's) is what its event does.
	if _, err := svc.Create(context.Background(), &apis.API{Name: "ok", Protocol: apis.ProtocolREST, Definition: apis.Definition{
		Routes: []apis.Route{{Method: "GET", Path: "/x", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello", ContentHandling: apis.ContentHandlingToText}}}}}); err != nil {
		t.Fatal(err)
	}
}
