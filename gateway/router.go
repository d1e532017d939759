package gateway

import (
	"net/url"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
)

// router matches a request's method and path to a route of one deployment with API
// Gateway's precedence: at each segment a literal beats a {param}, which beats a
// greedy {proxy+}; an exact method beats ANY; a route that does not match leads the
// search back to the next candidate. HTTP APIs fall back to their $default route.
// Paths are case-sensitive. A router is immutable and safe for concurrent use.
type router struct {
	root  *node
	deflt *apis.Route
}

type node struct {
	literal    map[string]*node
	param      *node
	paramName  string
	greedy     *node
	greedyName string
	// methods holds the routes that end at this node, by method (ANY included).
	methods map[string]*apis.Route
}

func newNode() *node { return &node{} }

// newRouter compiles the routes of a deployment. Templates were validated when
// the API was stored; a route whose template does not parse is skipped.
func newRouter(routes []apis.Route) *router {
	rt := &router{root: newNode()}
	for i := range routes {
		r := &routes[i]
		if r.Path == apis.RouteDefault {
			rt.deflt = r
			continue
		}
		if r.Path == "" {
			continue // WebSocket route
		}
		segs, err := apis.ParseTemplate(r.Path)
		if err != nil {
			continue
		}
		n := rt.root
		for _, s := range segs {
			switch s.Kind {
			case apis.SegLiteral:
				if n.literal == nil {
					n.literal = map[string]*node{}
				}
				c := n.literal[s.Value]
				if c == nil {
					c = newNode()
					n.literal[s.Value] = c
				}
				n = c
			case apis.SegParam:
				if n.param == nil {
					n.param, n.paramName = newNode(), s.Value
				}
				n = n.param
			case apis.SegGreedy:
				if n.greedy == nil {
					n.greedy, n.greedyName = newNode(), s.Value
				}
				n = n.greedy
			}
		}
		if n.methods == nil {
			n.methods = map[string]*apis.Route{}
		}
		n.methods[r.Method] = r
	}
	return rt
}

// match finds the route for method and the escaped request path (relative to the
// stage, starting with "/"). It returns the route and its decoded path parameters,
// or nil.
func (rt *router) match(method, escapedPath string) (*apis.Route, map[string]string) {
	var buf [16]string // the segments of most paths, without an allocation
	segs := appendSegments(buf[:0], escapedPath)
	var pbuf [8]string // name, value pairs
	if r, params := rt.root.find(segs, 0, method, pbuf[:0]); r != nil {
		var m map[string]string
		if len(params) > 0 {
			m = make(map[string]string, len(params)/2)
			for i := 0; i < len(params); i += 2 {
				m[params[i]] = params[i+1]
			}
		}
		return r, m
	}
	if rt.deflt != nil && anyMethod(method) {
		return rt.deflt, nil
	}
	return nil, nil
}

// splitPath splits an escaped path into its raw segments; "/" has none and one
// trailing slash is ignored.
func splitPath(p string) []string {
	p = strings.TrimPrefix(p, "/")
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// appendSegments appends splitPath(p)'s segments to dst.
func appendSegments(dst []string, p string) []string {
	p = strings.TrimPrefix(p, "/")
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return dst
	}
	for {
		i := strings.IndexByte(p, '/')
		if i < 0 {
			return append(dst, p)
		}
		dst = append(dst, p[:i])
		p = p[i+1:]
	}
}

func unescape(seg string) string {
	if !strings.Contains(seg, "%") {
		return seg
	}
	if u, err := url.PathUnescape(seg); err == nil {
		return u
	}
	return seg
}

func (n *node) pick(method string) *apis.Route {
	if r := n.methods[method]; r != nil {
		return r
	}
	if !anyMethod(method) {
		return nil
	}
	return n.methods[apis.MethodAny]
}

// anyMethod reports whether ANY (and an HTTP API's $default route) stands for
// method: DELETE, GET, HEAD, OPTIONS, PATCH, POST and PUT, as API Gateway's
// ANY does, spelled exactly so (methods are case-sensitive). Another token
// ("get", "FOO") matches no route, so that it never reaches a backend that
// reads it as GET past a policy written for GET.
func anyMethod(method string) bool {
	switch method {
	case "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS":
		return true
	}
	return false
}

// find returns the route for segs[i:] under n and params with the path
// parameters it took appended.
func (n *node) find(segs []string, i int, method string, params []string) (*apis.Route, []string) {
	if i == len(segs) {
		return n.pick(method), params
	}
	seg := unescape(segs[i])
	if c := n.literal[seg]; c != nil {
		if r, ps := c.find(segs, i+1, method, params); r != nil {
			return r, ps
		}
	}
	if n.param != nil && seg != "" {
		if r, ps := n.param.find(segs, i+1, method, append(params, n.paramName, seg)); r != nil {
			return r, ps
		}
	}
	if n.greedy != nil {
		if r := n.greedy.pick(method); r != nil {
			rest := make([]string, len(segs)-i)
			for j, s := range segs[i:] {
				rest[j] = unescape(s)
			}
			return r, append(params, n.greedyName, strings.Join(rest, "/"))
		}
	}
	return nil, params
}
