package gateway

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/cors"
	"github.com/portico-dev/portico/gateway/openapi"
	"github.com/portico-dev/portico/internal/errdefs"
)

func TestHTTPAPICORS(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "https://evil.example")
		w.Header().Set("X-Backend", "yes")
		_, _ = w.Write([]byte("hi"))
	}))
	defer backend.Close()
	e := newEnv(t)
	e.gw.Use(cors.New())
	a := &apis.API{Name: "c", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{
		CORS: &apis.CORSConfiguration{AllowOrigins: []string{"https://app.example"}, AllowMethods: []string{"GET", "POST"},
			AllowHeaders: []string{"content-type", "x-token"}, ExposeHeaders: []string{"x-backend"}, MaxAge: new(300), AllowCredentials: true},
		Routes: []apis.Route{{Method: "GET", Path: "/items", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, URI: backend.URL}}},
	}}
	id := e.deploy(a, "dev", nil)
	base := "/" + id + "/dev"

	// A preflight is answered by the gateway, with no OPTIONS route.
	r := e.do("OPTIONS", base+"/items", nil, "Origin", "https://app.example", "Access-Control-Request-Method", "POST")
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "https://app.example" || r.header.Get("Access-Control-Allow-Methods") != "GET,POST" ||
		r.header.Get("Access-Control-Allow-Headers") != "content-type,x-token" || r.header.Get("Access-Control-Max-Age") != "300" ||
		r.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("preflight: %d %v", r.status, r.header)
	}
	// A disallowed origin or method gets no CORS headers.
	for _, hdr := range [][]string{{"Origin", "https://other.example", "Access-Control-Request-Method", "GET"},
		{"Origin", "https://app.example", "Access-Control-Request-Method", "DELETE"}} {
		if r := e.do("OPTIONS", base+"/items", nil, hdr...); r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("refused preflight %v: %d %v", hdr, r.status, r.header)
		}
	}
	// An actual request: the gateway's CORS headers replace the backend's.
	r = e.do("GET", base+"/items", nil, "Origin", "https://app.example")
	if r.status != 200 || r.body != "hi" || r.header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		r.header.Get("Access-Control-Expose-Headers") != "x-backend" || r.header.Get("X-Backend") != "yes" || r.header.Get("Vary") != "Origin" {
		t.Fatalf("actual: %d %q %v", r.status, r.body, r.header)
	}
	r = e.do("GET", base+"/items", nil, "Origin", "https://other.example")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin kept the backend's header: %v", r.header)
	}
	// Errors carry them too.
	r = e.do("GET", base+"/nothing", nil, "Origin", "https://app.example")
	if r.status != 404 || r.header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("error: %d %v", r.status, r.header)
	}
	// A REST API cannot have a corsConfiguration.
	rest := &apis.API{Name: "r", Protocol: apis.ProtocolREST, Definition: apis.Definition{CORS: &apis.CORSConfiguration{AllowOrigins: []string{"*"}},
		Routes: []apis.Route{{Method: "GET", Path: "/x", Integration: mockBody("x")}}}}
	if _, err := e.svc.Create(t.Context(), rest); err == nil {
		t.Fatal("REST API with corsConfiguration accepted")
	}
	bad := &apis.API{Name: "h", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{CORS: &apis.CORSConfiguration{AllowOrigins: []string{"*"}, AllowCredentials: true},
		Routes: []apis.Route{{Method: "GET", Path: "/x", Integration: mockBody("x")}}}}
	if _, err := e.svc.Create(t.Context(), bad); err == nil {
		t.Fatal("credentials with * accepted")
	}
	// https://* and http://* match every host as * does: not with
	// credentials either, in any spelling.
	for _, o := range []string{"https://*", "http://*", "HTTPS://*"} {
		bad.CORS = &apis.CORSConfiguration{AllowOrigins: []string{"https://app.example", o}, AllowCredentials: true}
		_, err := e.svc.Create(t.Context(), bad)
		if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "allowCredentials cannot be used with the origin "+o) {
			t.Errorf("credentials with %s: err = %v", o, err)
		}
	}
}

// TestHTTPAPICORSWildcardOrigins: https://* and http://* allow any origin that
// begins with that scheme, as API Gateway documents; the answer names the
// origin and varies by it. Other wildcards are refused when the API is saved.
func TestHTTPAPICORSWildcardOrigins(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Encoding")
		_, _ = w.Write([]byte("hi"))
	}))
	defer backend.Close()
	e := newEnv(t)
	e.gw.Use(cors.New())
	a := &apis.API{Name: "w", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{
		CORS:   &apis.CORSConfiguration{AllowOrigins: []string{"https://*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}},
		Routes: []apis.Route{{Method: "POST", Path: "/items", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, URI: backend.URL}}},
	}}
	id := e.deploy(a, "dev", nil)
	base := "/" + id + "/dev"

	for _, origin := range []string{"https://a.example.com", "https://localhost:8443"} {
		r := e.do("OPTIONS", base+"/items", nil, "Origin", origin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "x-a")
		if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != origin || r.header.Get("Access-Control-Allow-Headers") != "x-a" ||
			r.header.Get("Vary") != "Origin" {
			t.Fatalf("preflight from %s: %d %v", origin, r.status, r.header)
		}
		r = e.do("POST", base+"/items", nil, "Origin", origin)
		if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != origin ||
			len(r.header.Values("Vary")) != 2 || !slices.Contains(r.header.Values("Vary"), "Accept-Encoding") || !slices.Contains(r.header.Values("Vary"), "Origin") {
			t.Fatalf("actual from %s: %d %v", origin, r.status, r.header)
		}
	}
	// Another scheme, or a bare https:// with no host, is not allowed.
	for _, origin := range []string{"http://a.example.com", "https://"} {
		r := e.do("OPTIONS", base+"/items", nil, "Origin", origin, "Access-Control-Request-Method", "POST")
		if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("preflight from %s: %d %v", origin, r.status, r.header)
		}
		r = e.do("POST", base+"/items", nil, "Origin", origin)
		if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" || !slices.Contains(r.header.Values("Vary"), "Origin") {
			t.Fatalf("actual from %s: %d %v", origin, r.status, r.header)
		}
	}

	// API Gateway takes no other wildcard: refused when saved, never stored
	// to match nothing.
	for _, o := range []string{"https://*.example.com", "https://ex*mple.com/", "*.example.com", "https://a.example.com:*", "ftp://*"} {
		bad := &apis.API{Name: "h", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{CORS: &apis.CORSConfiguration{AllowOrigins: []string{o}},
			Routes: []apis.Route{{Method: "GET", Path: "/x", Integration: mockBody("x")}}}}
		_, err := e.svc.Create(t.Context(), bad)
		if err == nil || !strings.Contains(err.Error(), "https://* and http://*") {
			t.Fatalf("origin %s: %v", o, err)
		}
	}
	for _, o := range []string{"http://*", "HTTPS://*"} {
		ok := &apis.API{Name: "h", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{CORS: &apis.CORSConfiguration{AllowOrigins: []string{o}},
			Routes: []apis.Route{{Method: "GET", Path: "/x", Integration: mockBody("x")}}}}
		if _, err := e.svc.Create(t.Context(), ok); err != nil {
			t.Fatalf("origin %s: %v", o, err)
		}
	}
}

// TestHTTPAPICORSVaryOnEveryAnswer: with a corsConfiguration that names
// origins, every answer says Vary: Origin (an allowed origin's, a refused
// origin's, one without Origin, a preflight refused, an unknown route's), since
// each depends on the Origin value; with allowOrigins ["*"] alone none does.
func TestHTTPAPICORSVaryOnEveryAnswer(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("hi")) }))
	defer backend.Close()
	e := newEnv(t)
	e.gw.Use(cors.New())
	deploy := func(origins ...string) string {
		return "/" + e.deploy(&apis.API{Name: "v", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{
			CORS:   &apis.CORSConfiguration{AllowOrigins: origins, AllowMethods: []string{"GET"}},
			Routes: []apis.Route{{Method: "GET", Path: "/items", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, URI: backend.URL}}},
		}}, "dev", nil) + "/dev"
	}
	named, star := deploy("https://a.example"), deploy("*")
	for _, c := range []struct {
		name, method, path string
		hdr                []string
	}{
		{"allowed", "GET", "/items", []string{"Origin", "https://a.example"}},
		{"refused origin", "GET", "/items", []string{"Origin", "https://evil.example"}},
		{"no Origin", "GET", "/items", nil},
		{"preflight refused", "OPTIONS", "/items", []string{"Origin", "https://evil.example", "Access-Control-Request-Method", "GET"}},
		{"preflight allowed", "OPTIONS", "/items", []string{"Origin", "https://a.example", "Access-Control-Request-Method", "GET"}},
		{"unknown route", "GET", "/nope", []string{"Origin", "https://evil.example"}},
	} {
		r := e.do(c.method, named+c.path, nil, c.hdr...)
		if v := r.header.Values("Vary"); len(v) != 1 || v[0] != "Origin" {
			t.Errorf("named origins, %s: %d, Vary %q; want Origin", c.name, r.status, v)
		}
		r = e.do(c.method, star+c.path, nil, c.hdr...)
		if v := r.header.Values("Vary"); len(v) != 0 {
			t.Errorf("allowOrigins *, %s: %d, Vary %q; want none", c.name, r.status, v)
		}
	}
}

// TestHTTPAPICORSMaxAgeZero: maxAge 0 (x-amazon-apigateway-cors on import) is
// a value: the preflight carries Access-Control-Max-Age: 0, so that a browser
// does not cache it (without the header it would for 5 s). -1 is sent as is;
// no maxAge sends no header.
func TestHTTPAPICORSMaxAgeZero(t *testing.T) {
	e := newEnv(t)
	e.gw.Use(cors.New())
	for _, tc := range []struct{ maxAge, want string }{{`, "maxAge": 0`, "0"}, {`, "maxAge": -1`, "-1"}, {``, ""}} {
		doc := `{"openapi": "3.0.1", "info": {"title": "c", "version": "1"},
  "x-amazon-apigateway-cors": {"allowOrigins": ["*"], "allowMethods": ["GET"]` + tc.maxAge + `},
  "paths": {"/page": {"get": {"x-amazon-apigateway-integration": {"type": "http_proxy", "httpMethod": "GET", "uri": "http://127.0.0.1:1/page", "payloadFormatVersion": "1.0"}}}}}`
		res, err := openapi.Import(t.Context(), []byte(doc), openapi.Options{Protocol: apis.ProtocolHTTP})
		if err != nil {
			t.Fatal(err)
		}
		id := e.deploy(res.API, "dev", nil)
		r := e.do("OPTIONS", "/"+id+"/dev/page", nil, "Origin", "https://app.example", "Access-Control-Request-Method", "GET")
		if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("Access-Control-Max-Age") != tc.want ||
			(tc.want == "") != (r.header.Values("Access-Control-Max-Age") == nil) {
			t.Errorf("maxAge %q: preflight %d %v, want Access-Control-Max-Age %q", tc.maxAge, r.status, r.header, tc.want)
		}
	}
}

// With allowCredentials a browser reads "*" in Access-Control-Allow-Methods
// (and -Headers) as the literal name "*" (the Fetch standard's CORS-preflight
// fetch), so a credentialed PUT would fail its preflight: the gateway answers
// the requested method in its place, as it answers the requested headers for
// allowHeaders "*". Without credentials "*" is sent as configured.
func TestHTTPAPICORSWildcardMethodsWithCredentials(t *testing.T) {
	e := newEnv(t)
	e.gw.Use(cors.New())
	for _, tc := range []struct {
		name        string
		methods     []string
		credentials bool
		want        string
	}{
		{"credentials", []string{"*"}, true, "DELETE"},
		{"credentials, listed too", []string{"GET", "*"}, true, "GET,DELETE"},
		{"credentials, requested listed", []string{"DELETE", "*"}, true, "DELETE"},
		{"no credentials", []string{"*"}, false, "*"},
	} {
		a := &apis.API{Name: "c", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{
			CORS: &apis.CORSConfiguration{AllowOrigins: []string{"http://localhost:8080"}, AllowMethods: tc.methods,
				AllowHeaders: []string{"*"}, AllowCredentials: tc.credentials},
			Routes: []apis.Route{{Method: "ANY", Path: "/{proxy+}", Integration: mockBody("x")}},
		}}
		id := e.deploy(a, "dev", nil)
		r := e.do("OPTIONS", "/"+id+"/dev/a/b", nil, "Origin", "http://localhost:8080", "Access-Control-Request-Method", "DELETE",
			"Access-Control-Request-Headers", "x-foo")
		if r.status != 204 || r.header.Get("Access-Control-Allow-Methods") != tc.want || r.header.Get("Access-Control-Allow-Headers") != "x-foo" {
			t.Errorf("%s: preflight %d %v, want Access-Control-Allow-Methods %q", tc.name, r.status, r.header, tc.want)
		}
	}
}
