package gateway

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

func TestNormalizePath(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		bad      bool
	}{
		{in: "/", want: "/"},
		{in: "/a/b", want: "/a/b"},
		{in: "/a/./b", want: "/a/b"},
		{in: "/a/b/../c", want: "/a/c"},
		{in: "/a/b/..", want: "/a/"},
		{in: "/a/%2e/b", want: "/a/b"},
		{in: "/a/%2E%2e/b", want: "/b"},
		{in: "/a/.%2e/b", want: "/b"},
		{in: "/a/b%2ec", want: "/a/b%2ec"},
		{in: "/a/.../b", want: "/a/.../b"},
		{in: "/a/..b/c", want: "/a/..b/c"},
		{in: "/a%20b/c%3Bd", want: "/a%20b/c%3Bd"},
		{in: "/a%20b/c%2Fd", bad: true},
		{in: "/a/c%2fd", bad: true},
		{in: "/%2Fsecret", bad: true},
		{in: "/a/%252Fsecret", bad: true},
		{in: "/a/%25%32%46secret", bad: true},
		{in: "/a/%2e%2e%2fsecret", bad: true},
		{in: "/a/%2520b/%2e/c", want: "/a/%2520b/c"},
		{in: "/a/", want: "/a/"},
		{in: "/..", bad: true},
		{in: "/../x", bad: true},
		{in: "/a/../../x", bad: true},
		{in: "/files/../../admin/secret", bad: true},
		{in: "/files/%2e%2e/%2e%2e/admin", bad: true},
		{in: "/files/..%2F..%2Fadmin", bad: true},
		{in: "/files/..%2f..%2fadmin", bad: true},
		{in: "/files/x%2F..%2F..%2Fadmin", bad: true},
		{in: "/files/..%5Cadmin", bad: true},
		{in: "/files/..\\admin", bad: true},
		{in: "/secret;a", bad: true},
		{in: "/secret;jsessionid=1", bad: true},
		{in: "/x/..;/secret", bad: true},
		{in: "/..;/..;/admin", bad: true},
		{in: "/.;/secret", bad: true},
		{in: "/a;b=c/d", bad: true},
		{in: "/;", bad: true},
		{in: "/a/b;", bad: true},
		{in: "/a/b%3Bc", want: "/a/b%3Bc"},
		{in: "/a/..%3B/b", want: "/a/..%3B/b"},
	} {
		got, err := normalizePath(tc.in)
		if tc.bad {
			if !errors.Is(err, errBadRequest) {
				t.Errorf("normalizePath(%q) = %q, %v; want a bad request", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("normalizePath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = normalizePath("/pets/7/toys") }); n != 0 {
		t.Errorf("normalizePath of a path without dots, escapes or \";\" allocates %v times", n)
	}
}

func TestMergeSlashes(t *testing.T) {
	for in, want := range map[string]string{
		"/":              "/",
		"//":             "/",
		"/a/b":           "/a/b",
		"//secret":       "/secret",
		"/secret//":      "/secret/",
		"/a//b":          "/a/b",
		"///a///b///":    "/a/b/",
		"/a%2F%2Fb":      "/a%2F%2Fb",
		"/id//dev//x//y": "/id/dev/x/y",
	} {
		if got := mergeSlashes(in); got != want {
			t.Errorf("mergeSlashes(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = mergeSlashes("/id/dev/pets/7") }); n != 0 {
		t.Errorf("mergeSlashes of a path without // allocates %v times", n)
	}
}

// FuzzNormalizePath checks that a normalised path never keeps a dot segment,
// raw or encoded, nor hides one behind an encoded separator, nor keeps a raw
// ";", and that normalising is idempotent.
func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/", "/a/../b", "/%2e%2e/x", "/a/..%2F..%2Fb", "/a/./b/", "/a\\..\\b", "/%2E/%2e%2E", "/x/..;/b", "/a;b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		n, err := normalizePath(p)
		if err != nil {
			return
		}
		if !strings.HasPrefix(n, "/") {
			t.Fatalf("normalizePath(%q) = %q: no leading slash", p, n)
		}
		if strings.Contains(n, ";") {
			t.Fatalf("normalizePath(%q) = %q keeps a \";\"", p, n)
		}
		for _, seg := range strings.Split(n, "/") {
			if dotSegment(seg) != 0 || hidesDotSegment(seg) {
				t.Fatalf("normalizePath(%q) = %q keeps dot segment %q", p, n, seg)
			}
		}
		again, err := normalizePath(n)
		if err != nil || again != n {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", p, n, again, err)
		}
	})
}

// TestGreedyPathStaysUnderPrefix is the traversal defect: an HTTP_PROXY route
// /files/{proxy+} to backend /public/{proxy} must never send the backend a path
// outside /public/.
func TestGreedyPathStaysUnderPrefix(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var seen []string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.EscapedPath())
		mu.Unlock()
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(backend.Close)
	id := e.deploy(&apis.API{Name: "files", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{{
		Method: "GET", Path: "/files/{proxy+}",
		Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend.URL + "/public/{proxy}"},
	}}}}, "dev", nil)
	for _, p := range []string{
		"/files/../../admin/secret",
		"/files/..%2F..%2Fadmin/secret",
		"/files/%2e%2e/%2e%2e/admin/secret",
		"/files/a/%2e%2e/%2e%2e/%2e%2e/admin",
		"/files/..%5C..%5Cadmin",
	} {
		r := e.do("GET", "/"+id+"/dev"+p, nil)
		if r.status != http.StatusBadRequest {
			t.Errorf("GET %s: status %d, want 400 (body %s)", p, r.status, r.body)
		}
	}
	// Dot segments that stay under the route resolve before routing.
	if r := e.do("GET", "/"+id+"/dev/files/a/../b.txt", nil); r.status != http.StatusOK {
		t.Errorf("resolved path: status %d (body %s)", r.status, r.body)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range seen {
		if !strings.HasPrefix(p, "/public/") || strings.Contains(p, "..") || strings.Contains(strings.ToLower(p), "%2e") {
			t.Errorf("backend saw %q, outside /public/", p)
		}
	}
	if len(seen) != 1 || seen[0] != "/public/b.txt" {
		t.Errorf("backend saw %q, want one call for /public/b.txt", seen)
	}
}

func TestSubstituteParams(t *testing.T) {
	params := map[string]string{"id": "a b", "proxy": "x/y z/", "empty": "", "slash": "a/b"}
	spans := pathSpans{greedy: "proxy", raw: "x/y%20z/"}
	for _, tc := range []struct{ raw, want string }{
		{"http://h/{id}", "http://h/a%20b"},
		{"http://h/{proxy+}?q={id}", "http://h/x/y%20z/?q=a%20b"},
		{"http://h/{proxy}", "http://h/x/y%20z/"},
		{"http://h/{empty}/{unknown}/{id", "http://h//{unknown}/{id"},
		{"http://h/plain", "http://h/plain"},
		{"http://h/{id}{id}", "http://h/a%20ba%20b"},
		{"http://h/{slash}", "http://h/a%2Fb"},
		// A route's one-segment parameter stays one segment, even as {name+}.
		{"http://h/{slash+}", "http://h/a%2Fb"},
	} {
		if got, err := substituteParams(tc.raw, params, spans); err != nil || got != tc.want {
			t.Errorf("substituteParams(%q) = %q, %v; want %q", tc.raw, got, err, tc.want)
		}
	}
	// The greedy value keeps the client's segments: an encoded "/" inside one
	// stays %2F, whether the URI names it {proxy}, {proxy+} or through a
	// mapping.
	enc := pathSpans{greedy: "proxy", raw: "admin%2Fusers/x%20y", set: map[string]bool{"m": true}}
	encParams := map[string]string{"proxy": "admin/users/x y", "m": "admin/users/x y"}
	for _, raw := range []string{"http://h/{proxy}", "http://h/{proxy+}", "http://h/{m}", "http://h/{m+}"} {
		if got, err := substituteParams(raw, encParams, enc); err != nil || got != "http://h/admin%2Fusers/x%20y" {
			t.Errorf("substituteParams(%q) = %q, %v; want http://h/admin%%2Fusers/x%%20y", raw, got, err)
		}
	}
	for _, v := range []string{"..", ".", "../x", "a/../b", "a/.", `..\x`, "x/.."} {
		for _, raw := range []string{"http://h/{p}", "http://h/{p+}"} {
			if got, err := substituteParams(raw, map[string]string{"p": v}, pathSpans{}); !errors.Is(err, errBadRequest) {
				t.Errorf("substituteParams(%q) with %q = %q, %v; want a bad request", raw, v, got, err)
			}
		}
	}
}

// TestParameterStaysUnderIntegrationPath: a path parameter filled from a
// query string, from a non-greedy client path parameter or from
// $context.requestOverride.path is one escaped segment of the backend path,
// and a dot segment in it is refused with the 400 the client's own path gets.
// They used to put "/" and "../" into the backend's path.
func TestParameterStaysUnderIntegrationPath(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.EscapedPath())
		mu.Unlock()
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(backend.Close)
	ok := map[string]apis.IntegrationResponse{"default": {StatusCode: "200"}}
	okMethod := map[string]apis.MethodResponse{"200": {}}
	e := newEnv(t)
	id := e.deploy(&apis.API{Name: "files", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{{
		Method: "GET", Path: "/files", Responses: okMethod,
		Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "GET", URI: backend.URL + "/info/public/{name}",
			RequestParameters: map[string]string{"integration.request.path.name": "method.request.querystring.name"}, Responses: ok},
	}, {
		Method: "GET", Path: "/files/{x}",
		Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend.URL + "/info/public/{x}"},
	}, {
		Method: "GET", Path: "/ov/{id}", Responses: okMethod,
		Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "GET", URI: backend.URL + "/info/{id}", Responses: ok,
			RequestTemplates: map[string]string{"application/json": "#set($context.requestOverride.path.id = $input.params('q'))"}},
	}, {
		Method: "GET", Path: "/all/{proxy+}",
		Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend.URL + "/info/public/{p}",
			RequestParameters: map[string]string{"integration.request.path.p": "method.request.path.proxy"}},
	}}}}, "dev", nil)
	for _, p := range []string{
		"/files?name=../../status/500",
		"/files?name=..",
		"/files?name=a/./b",
		"/files?name=..%5Cstatus",
		"/files/..%5Cstatus",
		"/ov/z?q=..%2Fstatus%2F500",
		"/ov/z?q=.",
		"/files/x%2Fstatus",
	} {
		if r := e.do("GET", "/"+id+"/dev"+p, nil); r.status != http.StatusBadRequest {
			t.Errorf("GET %s: status %d, want 400 (body %s)", p, r.status, r.body)
		}
	}
	for p, want := range map[string]string{
		"/files?name=a/b":      "/info/public/a%2Fb",
		"/files?name=a%20b":    "/info/public/a%20b",
		"/ov/z?q=a%2Fb":        "/info/a%2Fb",
		"/all/a/b%20c/d":       "/info/public/a/b%20c/d",
		"/files?name=..hidden": "/info/public/..hidden",
	} {
		mu.Lock()
		seen = nil
		mu.Unlock()
		if r := e.do("GET", "/"+id+"/dev"+p, nil); r.status != http.StatusOK {
			t.Errorf("GET %s: status %d (body %s)", p, r.status, r.body)
		}
		mu.Lock()
		if len(seen) != 1 || seen[0] != want {
			t.Errorf("GET %s: the backend saw %q, want %s", p, seen, want)
		}
		mu.Unlock()
	}
}
