package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// TestHTTPProxyForwardedHeadersConsistent: an HTTP_PROXY backend receives the
// same forwarding headers whichever path the request takes (the fast proxy,
// httputil.ReverseProxy for a request with trailers, the buffered path of an
// integration with parameter mappings): X-Forwarded-For, -Host, -Port and
// -Proto, and X-Amzn-Trace-Id (the client's own when it sent one); a client's
// X-Forwarded-Host or -Port is never passed for the gateway's.
func TestHTTPProxyForwardedHeadersConsistent(t *testing.T) {
	e, seen, _, id := forwardEnv(t)
	_, port, _ := strings.Cut(strings.TrimPrefix(e.srv.URL, "http://"), ":")
	host := strings.TrimPrefix(e.srv.URL, "http://")
	for _, c := range []struct {
		name, path string
		hdr        []string
	}{
		{"fast", "/plain", nil},
		{"reverse proxy", "/plain", []string{"Trailer", "X-T"}},
		{"mapped", "/mapped", nil},
	} {
		hdr := append([]string{"X-Forwarded-Host", "evil.example", "X-Forwarded-Port", "1"}, c.hdr...)
		send(t, e, "/"+id+"/dev"+c.path, hdr)
		got := seen().header
		if got.Get("X-Forwarded-For") != "127.0.0.1" || got.Get("X-Forwarded-Proto") != "http" || got.Get("X-Forwarded-Port") != port ||
			got.Get("X-Forwarded-Host") != host || !strings.HasPrefix(got.Get("X-Amzn-Trace-Id"), "Root=1-") ||
			len(got.Values("X-Forwarded-Host")) != 1 || len(got.Values("X-Forwarded-Port")) != 1 {
			t.Errorf("%s: backend saw X-Forwarded-For %q -Proto %q -Port %q -Host %q, X-Amzn-Trace-Id %q; want 127.0.0.1, http, %s, %s, Root=1-...",
				c.name, got.Values("X-Forwarded-For"), got.Values("X-Forwarded-Proto"), got.Values("X-Forwarded-Port"), got.Values("X-Forwarded-Host"),
				got.Values("X-Amzn-Trace-Id"), port, host)
		}
		hdr = append(hdr, "X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793")
		send(t, e, "/"+id+"/dev"+c.path, hdr)
		if got := seen().header.Values("X-Amzn-Trace-Id"); len(got) != 1 || got[0] != "Root=1-5759e988-bd862e3fe1be46a994272793" {
			t.Errorf("%s: the client's trace id became %q", c.name, got)
		}
	}
}

// send posts a body to path with the header fields hdr names; a Trailer field
// sends the body chunked with that trailer.
func send(t *testing.T, e *env, path string, hdr []string) {
	t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+path, strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Trailer" {
			req.ContentLength = -1
			req.Body = io.NopCloser(strings.NewReader("body"))
			req.Trailer = http.Header{hdr[i+1]: {"v"}}
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
	}
}

// TestHTTPProxyConnectionCannotDropForwardedHeaders: a client's Connection
// header naming the gateway's forwarding fields removes none of them on any
// HTTP_PROXY path (the fast proxy, httputil.ReverseProxy, the buffered path
// of an HTTP or REST API integration with parameter mappings): the backend
// still gets X-Forwarded-For with the client's address appended to the
// client's own, the gateway's X-Forwarded-Host, -Port and -Proto, and an
// X-Amzn-Trace-Id (the client's when it sent one).
func TestHTTPProxyConnectionCannotDropForwardedHeaders(t *testing.T) {
	e, seen, proxy, id := forwardEnv(t)
	rest := e.deploy(&apis.API{Name: "fwr", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "POST", Path: "/mapped", Integration: proxy(map[string]string{"integration.request.header.X-M": "'1'"})},
	}}}, "dev", nil)
	_, port, _ := strings.Cut(strings.TrimPrefix(e.srv.URL, "http://"), ":")
	host := strings.TrimPrefix(e.srv.URL, "http://")
	const trace = "Root=1-5759e988-bd862e3fe1be46a994272793"
	for _, c := range []struct {
		name, path string
		hdr        []string
	}{
		{"fast", "/" + id + "/dev/plain", nil},
		{"reverse proxy", "/" + id + "/dev/plain", []string{"Trailer", "X-T"}},
		{"HTTP API mapped", "/" + id + "/dev/mapped", nil},
		{"REST API mapped", "/" + rest + "/dev/mapped", nil},
	} {
		for _, clientTrace := range []bool{false, true} {
			hdr := append([]string{"Connection", "X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Port, X-Forwarded-Proto, X-Amzn-Trace-Id, Host, X-Portico-Hops, X-Gone",
				"X-Forwarded-For", "10.0.0.1", "X-Gone", "1"}, c.hdr...)
			if clientTrace {
				hdr = append(hdr, "X-Amzn-Trace-Id", trace)
			}
			send(t, e, c.path, hdr)
			got := seen().header
			if v := got.Values("X-Forwarded-For"); len(v) != 1 || v[0] != "10.0.0.1, 127.0.0.1" {
				t.Errorf("%s (client trace %v): backend saw X-Forwarded-For %q; want \"10.0.0.1, 127.0.0.1\"", c.name, clientTrace, v)
			}
			if got.Get("X-Forwarded-Proto") != "http" || got.Get("X-Forwarded-Port") != port || got.Get("X-Forwarded-Host") != host ||
				got.Get("X-Portico-Hops") != "1" {
				t.Errorf("%s (client trace %v): backend saw X-Forwarded-Proto %q -Port %q -Host %q, X-Portico-Hops %q; want http, %s, %s, 1",
					c.name, clientTrace, got.Values("X-Forwarded-Proto"), got.Values("X-Forwarded-Port"), got.Values("X-Forwarded-Host"),
					got.Values("X-Portico-Hops"), port, host)
			}
			tr := got.Values("X-Amzn-Trace-Id")
			if len(tr) != 1 || (clientTrace && tr[0] != trace) || !strings.HasPrefix(tr[0], "Root=1-") {
				t.Errorf("%s (client trace %v): backend saw X-Amzn-Trace-Id %q", c.name, clientTrace, tr)
			}
			if v := got.Values("X-Gone"); len(v) != 0 {
				t.Errorf("%s: X-Gone, which Connection names, reached the backend: %q", c.name, v)
			}
		}
	}
}

// forwardEnv is a gateway with an HTTP API whose POST /plain and /mapped (with
// a parameter mapping) are HTTP_PROXY routes to a backend that records what it
// saw (seen); proxy makes more such integrations.
func forwardEnv(t *testing.T) (e *env, seen func() seenRequest, proxy func(map[string]string) *apis.Integration, id string) {
	t.Helper()
	backend, seen := newSeenBackend(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	})
	e = newEnv(t)
	proxy = func(params map[string]string) *apis.Integration {
		return &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "ANY", URI: backend.URL + "/b", RequestParameters: params}
	}
	id = e.deploy(&apis.API{Name: "fw", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "POST", Path: "/plain", Integration: proxy(nil)},
		{Method: "POST", Path: "/mapped", Integration: proxy(map[string]string{"overwrite:header.x-m": "1"})},
	}}}, "dev", nil)
	return e, seen, proxy, id
}
