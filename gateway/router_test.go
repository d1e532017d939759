package gateway

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

func routes(keys ...string) []apis.Route {
	var out []apis.Route
	for _, k := range keys {
		if k == apis.RouteDefault {
			out = append(out, apis.Route{Path: k, RouteKey: k})
			continue
		}
		m, p, _ := strings.Cut(k, " ")
		out = append(out, apis.Route{Method: m, Path: p, RouteKey: k})
	}
	return out
}

func TestRouterPrecedence(t *testing.T) {
	rt := newRouter(routes(
		"GET /",
		"GET /pets",
		"GET /pets/{id}",
		"GET /pets/dog",
		"POST /pets/{id}",
		"ANY /pets/{id}/toys",
		"GET /pets/{id}/toys",
		"GET /a/b/c",
		"GET /{x}/b/d",
		"GET /files/{path+}",
		"ANY /{proxy+}",
	))
	cases := []struct {
		method, path, want string
		params             map[string]string
	}{
		{"GET", "/", "GET /", nil},
		{"GET", "/pets", "GET /pets", nil},
		{"GET", "/pets/", "GET /pets", nil},
		{"GET", "/pets/dog", "GET /pets/dog", nil},
		{"GET", "/pets/cat", "GET /pets/{id}", map[string]string{"id": "cat"}},
		{"POST", "/pets/dog", "POST /pets/{id}", map[string]string{"id": "dog"}},
		{"GET", "/pets/7/toys", "GET /pets/{id}/toys", map[string]string{"id": "7"}},
		{"DELETE", "/pets/7/toys", "ANY /pets/{id}/toys", map[string]string{"id": "7"}},
		{"GET", "/a/b/d", "GET /{x}/b/d", map[string]string{"x": "a"}}, // backtracks from literal a
		{"GET", "/a/b/c", "GET /a/b/c", nil},
		{"GET", "/files/x/y/z.txt", "GET /files/{path+}", map[string]string{"path": "x/y/z.txt"}},
		{"GET", "/Pets", "ANY /{proxy+}", map[string]string{"proxy": "Pets"}}, // case-sensitive
		{"DELETE", "/pets", "ANY /{proxy+}", map[string]string{"proxy": "pets"}},
		{"GET", "/hello/world", "ANY /{proxy+}", map[string]string{"proxy": "hello/world"}},
		{"GET", "/pets/a%20b", "GET /pets/{id}", map[string]string{"id": "a b"}},
	}
	for _, tc := range cases {
		r, params := rt.match(tc.method, tc.path)
		if r == nil {
			t.Errorf("%s %s: no match, want %s", tc.method, tc.path, tc.want)
			continue
		}
		if r.RouteKey != tc.want {
			t.Errorf("%s %s: matched %s, want %s", tc.method, tc.path, r.RouteKey, tc.want)
		}
		if len(params) != len(tc.params) {
			t.Errorf("%s %s: params %v, want %v", tc.method, tc.path, params, tc.params)
		}
		for k, v := range tc.params {
			if params[k] != v {
				t.Errorf("%s %s: param %s = %q, want %q", tc.method, tc.path, k, params[k], v)
			}
		}
	}
}

func TestRouterNoMatchAndDefault(t *testing.T) {
	rt := newRouter(routes("GET /pets", "GET /{proxy+}"))
	if r, _ := rt.match("POST", "/pets"); r != nil {
		t.Fatalf("POST /pets matched %s", r.RouteKey)
	}
	if r, _ := rt.match("GET", "/"); r != nil {
		t.Fatalf("greedy matched the root: %s", r.RouteKey)
	}
	rt = newRouter(routes("GET /pets", apis.RouteDefault))
	if r, _ := rt.match("POST", "/nothing/here"); r == nil || r.RouteKey != apis.RouteDefault {
		t.Fatalf("$default not used: %v", r)
	}
}

// FuzzRouterMatch checks that matching never panics, that a match of a template
// without parameters is an exact path, and that a parameter value never spans
// segments unless greedy.
func FuzzRouterMatch(f *testing.F) {
	f.Add("/pets/{id}", "GET", "/pets/7")
	f.Add("/{proxy+}", "POST", "/a/b/c")
	f.Add("/a/{b}/c/{d+}", "ANY", "/a/x/c/y/z")
	f.Add("/", "GET", "/")
	f.Add("/x", "GET", "/x%2Fy")
	f.Fuzz(func(t *testing.T, tmpl, method, path string) {
		segs, err := apis.ParseTemplate(tmpl)
		if err != nil {
			return
		}
		if method == "" {
			method = "GET"
		}
		rt := newRouter([]apis.Route{{Method: method, Path: tmpl, RouteKey: method + " " + tmpl}})
		r, params := rt.match(method, path)
		if r == nil {
			return
		}
		greedy := len(segs) > 0 && segs[len(segs)-1].Kind == apis.SegGreedy
		for _, s := range segs {
			if s.Kind == apis.SegParam {
				if _, ok := params[s.Value]; !ok {
					t.Fatalf("%s matched %s without param %s", tmpl, path, s.Value)
				}
			}
		}
		if !greedy && len(splitPath(path)) != len(segs) {
			t.Fatalf("%s matched %s with a different segment count", tmpl, path)
		}
	})
}
