// Package cors is the CORS stage of the gateway's pipeline for HTTP APIs with a
// corsConfiguration (x-amazon-apigateway-cors): the gateway answers preflight
// requests itself and sets the CORS headers of every other response, replacing
// whatever the integration sent, as API Gateway does.
package cors

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// Stage answers CORS. It holds no state.
type Stage struct{}

// New returns the CORS stage.
func New() *Stage { return &Stage{} }

var _ pipeline.Stage = (*Stage)(nil)

// Name implements pipeline.Stage.
func (*Stage) Name() string { return "cors" }

// Order implements pipeline.Stage.
func (*Stage) Order() int { return pipeline.OrderCORS }

// Response header names.
const (
	hAllowOrigin      = "Access-Control-Allow-Origin"
	hAllowMethods     = "Access-Control-Allow-Methods"
	hAllowHeaders     = "Access-Control-Allow-Headers"
	hExposeHeaders    = "Access-Control-Expose-Headers"
	hMaxAge           = "Access-Control-Max-Age"
	hAllowCredentials = "Access-Control-Allow-Credentials"
)

var corsHeaders = []string{hAllowOrigin, hAllowMethods, hAllowHeaders, hExposeHeaders, hMaxAge, hAllowCredentials}

// policy is a compiled corsConfiguration.
type policy struct {
	anyOrigin bool
	origins   []string // lower case
	// schemes are the scheme prefixes ("https://") of the wildcard origins
	// https://* and http://*: any origin that begins with one is allowed.
	schemes     []string
	anyMethod   bool
	methods     string // joined
	methodSet   []string
	anyHeader   bool
	headers     string
	expose      string
	maxAge      string
	credentials bool
	// vary says whether the CORS headers depend on the request's Origin
	// value: the policy names origins (or schemes), not "*" alone. Every
	// answer then carries Vary: Origin, those without CORS headers too, so
	// that a shared cache does not give one origin's variant to another (the
	// Fetch standard's "CORS protocol and HTTP caches").
	vary bool
}

// Compile implements pipeline.Stage: nil for APIs without a corsConfiguration.
func (*Stage) Compile(d *pipeline.Deployed) (pipeline.Middleware, error) {
	if d == nil || d.API == nil || d.API.Protocol != apis.ProtocolHTTP || d.API.CORS == nil {
		return nil, nil
	}
	cfg := d.API.CORS
	p := &policy{credentials: cfg.AllowCredentials, expose: strings.Join(cfg.ExposeHeaders, ",")}
	for _, o := range cfg.AllowOrigins {
		switch lo := strings.ToLower(o); {
		case o == "*":
			p.anyOrigin = true
		case apis.IsSchemeWildcardOrigin(lo):
			p.schemes = append(p.schemes, strings.TrimSuffix(lo, "*"))
		default:
			p.origins = append(p.origins, strings.TrimSuffix(lo, "/"))
		}
	}
	for _, m := range cfg.AllowMethods {
		if m == "*" {
			p.anyMethod = true
		}
		p.methodSet = append(p.methodSet, strings.ToUpper(m))
	}
	p.methods = strings.Join(p.methodSet, ",")
	for _, h := range cfg.AllowHeaders {
		if h == "*" {
			p.anyHeader = true
		}
	}
	p.headers = strings.Join(cfg.AllowHeaders, ",")
	if cfg.MaxAge != nil {
		p.maxAge = strconv.Itoa(*cfg.MaxAge)
	}
	p.vary = len(p.origins) > 0 || len(p.schemes) > 0
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			origin := r.Header.Get("Origin")
			if r.Method == http.MethodOptions && origin != "" && r.Header.Get("Access-Control-Request-Method") != "" {
				p.preflight(w, r, origin)
				return nil
			}
			set := p.actual(origin)
			// Set now, so that error answers written outside this stage carry
			// them, and again over the integration's own at WriteHeader.
			apply(w.Header(), set, p.vary)
			return next.ServeRequest(&writer{ResponseWriter: w, set: set, vary: p.vary}, r, c)
		})
	}, nil
}

func (p *policy) allowOrigin(origin string) (string, bool) {
	if origin == "" {
		return "", false
	}
	lo := strings.ToLower(origin)
	if slices.Contains(p.origins, lo) {
		return origin, true
	}
	for _, s := range p.schemes {
		if len(lo) > len(s) && strings.HasPrefix(lo, s) {
			return origin, true
		}
	}
	if p.anyOrigin {
		return "*", true
	}
	return "", false
}

// preflight answers an OPTIONS preflight: 204, with the CORS headers when the
// origin and method are allowed and without them otherwise.
func (p *policy) preflight(w http.ResponseWriter, r *http.Request, origin string) {
	h := w.Header()
	allowed, ok := p.allowOrigin(origin)
	requested := r.Header.Get("Access-Control-Request-Method")
	method := strings.ToUpper(requested)
	if ok && (p.anyMethod || slices.Contains(p.methodSet, method)) {
		h.Set(hAllowOrigin, allowed)
		if p.anyMethod && p.credentials {
			h.Set(hAllowMethods, p.credentialedMethods(requested))
		} else if p.methods != "" {
			h.Set(hAllowMethods, p.methods)
		}
		if p.anyHeader {
			if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
				h.Set(hAllowHeaders, req)
			}
		} else if p.headers != "" {
			h.Set(hAllowHeaders, p.headers)
		}
		if p.maxAge != "" {
			h.Set(hMaxAge, p.maxAge)
		}
		if p.credentials {
			h.Set(hAllowCredentials, "true")
		}
	}
	if p.vary {
		varyOrigin(h)
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
}

// credentialedMethods is Access-Control-Allow-Methods for a preflight whose
// method "*" allows when the policy allows credentials: a browser then reads
// "*" as the literal method name "*" (the Fetch standard's CORS-preflight
// fetch), so the requested method, as the browser sent it, takes its place, as
// the requested headers take allowHeaders "*"'s.
func (p *policy) credentialedMethods(requested string) string {
	out := make([]string, 0, len(p.methodSet))
	for _, m := range p.methodSet {
		if m == "*" {
			m = requested
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return strings.Join(out, ",")
}

// actual is the CORS headers of a response to origin (nil values are removed).
func (p *policy) actual(origin string) map[string]string {
	set := map[string]string{}
	allowed, ok := p.allowOrigin(origin)
	if !ok {
		return set
	}
	set[hAllowOrigin] = allowed
	if p.expose != "" {
		set[hExposeHeaders] = p.expose
	}
	if p.credentials {
		set[hAllowCredentials] = "true"
	}
	return set
}

// apply replaces every CORS header of h with set's, and adds Origin to Vary
// when the policy's answers differ by origin (policy.vary).
func apply(h http.Header, set map[string]string, vary bool) {
	for _, k := range corsHeaders {
		if v, ok := set[k]; ok {
			h.Set(k, v)
		} else {
			h.Del(k)
		}
	}
	if vary {
		varyOrigin(h)
	}
}

// varyOrigin adds Origin to h's Vary unless it is there already.
func varyOrigin(h http.Header) {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, "Origin") {
				return
			}
		}
	}
	h.Add("Vary", "Origin")
}

// writer applies the CORS headers over the integration's when it writes its
// status.
type writer struct {
	http.ResponseWriter
	set     map[string]string
	vary    bool
	written bool
}

func (w *writer) WriteHeader(status int) {
	if !w.written {
		// An interim 1xx (a backend's 103) is not the answer: its final
		// status gets them again, over the backend's.
		w.written = status >= 200 || status == http.StatusSwitchingProtocols
		apply(w.Header(), w.set, w.vary)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *writer) Write(b []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// PassesThrough implements pipeline.PassThrough: the headers are added when
// the status is written.
func (w *writer) PassesThrough() http.ResponseWriter { return w.ResponseWriter }

// Module provides the stage to the gateway's pipeline.
var Module = fx.Module("cors",
	fx.Provide(pipeline.AsStage(New)),
)
