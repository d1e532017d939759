package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/listener"
)

// backendOwnHeaders are the fields remapHeadersBackend sets that a REST API's
// HTTP_PROXY answer may not pass as they are (remappedHeader's list).
var backendOwnHeaders = map[string]string{
	"Date":             "Mon, 01 Jan 2001 00:00:00 GMT",
	"Server":           "backend/1.0",
	"X-Amzn-Requestid": "backend-request-id",
	"X-Amz-Apigw-Id":   "backend-apigw-id",
	"Apigw-Requestid":  "backend-apigw-requestid",
	"X-Amzn-Errortype": "BackendError",
	"Www-Authenticate": `Basic realm="backend"`,
}

// remapHeadersBackend answers every request with backendOwnHeaders and
// X-Custom; /chunked answers without a Content-Length (the fast path's
// general reader, not its common-head one).
func remapHeadersBackend(t *testing.T) *httptest.Server {
	t.Helper()
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range backendOwnHeaders {
			h[k] = []string{v}
		}
		h.Set("X-Custom", "kept")
		h.Set("Content-Type", "text/plain")
		if r.URL.Path == "/chunked" {
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "o")
			http.NewResponseController(w).Flush() //nolint:errcheck // a test backend
			_, _ = io.WriteString(w, "k")
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(b.Close)
	return b
}

// TestHTTPProxyRemapsBackendHeaders: a REST API's HTTP_PROXY answer cannot
// carry the backend's Date, Server, request ids, x-amzn-ErrorType or
// WWW-Authenticate as its own: each goes to the client as
// x-amzn-Remapped-<name>, as API Gateway remaps them (the list the Lambda
// proxy path uses), and the gateway's own request ids and Date stay single.
// The same on every way a request goes: the fast path's common head, its
// general reader, httputil.ReverseProxy, and the buffered path of a route
// with parameter mappings. An HTTP API passes the backend's Date and Server
// as they are, as API Gateway's HTTP APIs do, and remaps none. A real
// net/http client against the gateway on a real listener.
func TestHTTPProxyRemapsBackendHeaders(t *testing.T) {
	backend := remapHeadersBackend(t)
	_, svc := gwtest.APIs(t)
	ctx := context.Background()
	deploy := func(protocol string) string {
		routes := []apis.Route{
			{Method: "GET", Path: "/mapped", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend.URL + "/mapped",
				RequestParameters: map[string]string{"integration.request.header.X-Mapped": "'yes'"}}},
			{Method: "ANY", Path: "/{proxy+}", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "ANY", URI: backend.URL + "/{proxy}"}},
		}
		if protocol == apis.ProtocolHTTP {
			routes[0].Integration.RequestParameters = map[string]string{"overwrite:header.X-Mapped": "yes"}
		}
		a, err := svc.Create(ctx, &apis.API{Name: "remap-" + protocol, Protocol: protocol, Definition: apis.Definition{Routes: routes}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.Deploy(ctx, a.ID, apis.DeployInput{StageName: "dev"}); err != nil {
			t.Fatal(err)
		}
		return "/" + a.ID + "/dev"
	}
	restPath, httpPath := deploy(apis.ProtocolREST), deploy(apis.ProtocolHTTP)
	log := slog.New(slog.DiscardHandler)
	fast, stock := New(Config{}, svc, nil, nil, log), New(Config{}, svc, nil, nil, log)
	stock.fast = nil
	// The fast gateway on its own Server (the default engine), the other on
	// net/http's.
	fastSrv := NewServer(fast, nil, listener.Limits{})
	if err := fastSrv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fastSrv.Stop(context.Background()) })
	fastURL := "http://" + fastSrv.Addr()
	stockSrv := httptest.NewServer(stock)
	t.Cleanup(stockSrv.Close)

	get := func(t *testing.T, url string) http.Header {
		t.Helper()
		resp, err := http.Get(url) //nolint:noctx // a test client
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK || string(body) != "ok" {
			t.Fatalf("GET %s: %d %q %v", url, resp.StatusCode, body, err)
		}
		return resp.Header
	}
	ways := []struct{ name, server, path string }{
		{"fast path, common head", fastURL, "/plain"},
		{"fast path, general reader", fastURL, "/chunked"},
		{"ReverseProxy", stockSrv.URL, "/plain"},
		{"parameter mappings", fastURL, "/mapped"},
	}
	for _, way := range ways {
		t.Run("REST/"+way.name, func(t *testing.T) {
			for range 2 { // the second answer reuses the connection's parsed head
				h := get(t, way.server+restPath+way.path)
				for name, backendValue := range backendOwnHeaders {
					if got := h.Values("X-Amzn-Remapped-" + name); len(got) != 1 || got[0] != backendValue {
						t.Errorf("x-amzn-Remapped-%s %q, want [%q]", name, got, backendValue)
					}
					for _, v := range h.Values(name) {
						if v == backendValue {
							t.Errorf("%s %q: the backend's passed as the gateway's", name, h.Values(name))
						}
					}
				}
				if ids := h.Values("X-Amzn-Requestid"); len(ids) != 1 {
					t.Errorf("x-amzn-RequestId %q, want the gateway's alone", ids)
				}
				if ids := h.Values("X-Amz-Apigw-Id"); len(ids) != 1 {
					t.Errorf("x-amz-apigw-id %q, want the gateway's alone", ids)
				}
				if d := h.Values("Date"); len(d) != 1 {
					t.Errorf("Date %q, want the gateway's alone", d)
				}
				if h.Get("Server") != "" || h.Get("Www-Authenticate") != "" {
					t.Errorf("Server %q, WWW-Authenticate %q: want none", h.Get("Server"), h.Get("Www-Authenticate"))
				}
				if h.Get("X-Custom") != "kept" {
					t.Errorf("X-Custom %q, want kept", h.Get("X-Custom"))
				}
			}
		})
		t.Run("HTTP/"+way.name, func(t *testing.T) {
			h := get(t, way.server+httpPath+way.path)
			for _, name := range []string{"Date", "Server", "Www-Authenticate"} {
				if got := h.Values(name); len(got) != 1 || got[0] != backendOwnHeaders[name] {
					t.Errorf("%s %q, want the backend's [%q]", name, got, backendOwnHeaders[name])
				}
				if got := h.Get("X-Amzn-Remapped-" + name); got != "" {
					t.Errorf("x-amzn-Remapped-%s %q on an HTTP API", name, got)
				}
			}
			if got := h.Get("X-Custom"); got != "kept" {
				t.Errorf("X-Custom %q, want kept", got)
			}
		})
	}
}
