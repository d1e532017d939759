package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// TestGreedyPathKeepsClientEncoding: an HTTP_PROXY integration's greedy
// parameter reaches the backend with the segments as the client encoded them
// (docs/apis-and-stages.md): sub-delimiters, ':' and '@' stay raw and a
// percent-encoding stays as sent, where they were decoded and re-escaped
// ("%41" as "A"; an encoded ";" stays %3B, a raw one is refused before routing).
func TestGreedyPathKeepsClientEncoding(t *testing.T) {
	var mu sync.Mutex
	var got []string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.RequestURI)
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(backend.Close)
	e := newEnv(t)
	const sent = "/a%3Bb=c/!$&'()*+,=:@~/x%41y/%7Bz%7D/%20"
	for _, protocol := range []string{apis.ProtocolREST, apis.ProtocolHTTP} {
		for _, uri := range []string{backend.URL + "/{proxy}", backend.URL + "/pre/{proxy+}"} {
			in := &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "ANY", URI: uri}
			if protocol == apis.ProtocolHTTP {
				in.PayloadFormatVersion = "1.0"
			}
			id := e.deploy(&apis.API{Name: "greedy", Protocol: protocol, Definition: apis.Definition{Routes: []apis.Route{
				{Method: "ANY", Path: "/proxy/{proxy+}", Integration: in},
			}}}, "dev", nil)
			mu.Lock()
			got = nil
			mu.Unlock()
			if r := e.do("GET", "/"+id+"/dev/proxy"+sent+"?q=1", nil); r.status != 200 {
				t.Fatalf("%s %s: %d %s", protocol, uri, r.status, r.body)
			}
			want := sent + "?q=1"
			if uri == backend.URL+"/pre/{proxy+}" {
				want = "/pre" + want
			}
			mu.Lock()
			if len(got) != 1 || got[0] != want {
				t.Errorf("%s %s: the backend got %q, want %q", protocol, uri, got, want)
			}
			mu.Unlock()
		}
	}
}

// TestGreedyPathTrailingSlash: one trailing slash, which routing ignores, is
// not part of the greedy parameter's value, and the backend gets the value's
// segments, as routing saw them: /files/a/b/c/ reached it as /files/a%2Fb%2Fc
// (r-stages26 #1), one segment a backend's router reads as another resource.
func TestGreedyPathTrailingSlash(t *testing.T) {
	var mu sync.Mutex
	var got []string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.RequestURI)
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(backend.Close)
	e := newEnv(t)
	for _, protocol := range []string{apis.ProtocolREST, apis.ProtocolHTTP} {
		in := &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "ANY", URI: backend.URL + "/files/{proxy}"}
		if protocol == apis.ProtocolHTTP {
			in.PayloadFormatVersion = "1.0"
		}
		id := e.deploy(&apis.API{Name: "greedy", Protocol: protocol, Definition: apis.Definition{Routes: []apis.Route{
			{Method: "ANY", Path: "/files/{proxy+}", Integration: in},
		}}}, "dev", nil)
		for sent, want := range map[string]string{
			"/a/b/c":       "/files/a/b/c",
			"/a/b/c/":      "/files/a/b/c",
			"/a/b//":       "/files/a/b",
			"/a/":          "/files/a",
			"/a%41/b%20c/": "/files/a%41/b%20c",
		} {
			mu.Lock()
			got = nil
			mu.Unlock()
			if r := e.do("GET", "/"+id+"/dev/files"+sent, nil); r.status != 200 {
				t.Fatalf("%s %s: %d %s", protocol, sent, r.status, r.body)
			}
			mu.Lock()
			if len(got) != 1 || got[0] != want {
				t.Errorf("%s %s: the backend got %q, want %q", protocol, sent, got, want)
			}
			mu.Unlock()
		}
	}
}
