package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/fastproxy"
	"github.com/portico-dev/portico/gateway/internal/restevent"
	"github.com/portico-dev/portico/gateway/mapping"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/netaddr"
	"github.com/portico-dev/portico/internal/rawio"
	"github.com/portico-dev/portico/internal/redact"
	"github.com/portico-dev/portico/internal/tracing"
)

// newTransport returns the backend transport: a large idle pool per host (the
// stock transport keeps 2, which makes every burst dial anew), no compression
// negotiation of its own (the client's Accept-Encoding passes through), and
// bounded dial and header waits. Its connections read and write with raw
// system calls (rawio.Wrap, under crypto/tls for https backends), as the
// gateway's own listeners' do. control checks each resolved address before it
// is connected to (refuseOwnListener).
func newTransport(cfg Config, control func(network, address string, c syscall.RawConn) error) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: control}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return rawio.Wrap(c), nil
	}
	return &http.Transport{
		DialContext:           dial,
		MaxIdleConns:          cfg.MaxIdleConnsPerHost * 4,
		MaxIdleConnsPerHost:   cfg.MaxIdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     true,
		WriteBufferSize:       32 << 10,
		ReadBufferSize:        32 << 10,
	}
}

// proxyForwarded appends to fields, as name and value pairs, what an
// HTTP_PROXY backend gets besides X-Forwarded-For, -Host and -Proto (which
// each proxy path sets as SetXForwarded does), so that every path sends the
// set forwardedHeaders gives an event: X-Forwarded-Port, the gateway's, and
// X-Amzn-Trace-Id unless the client sent one (which then goes as it is).
func proxyForwarded(fields []string, r *http.Request, rc *reqCtx) []string {
	fields = append(fields, "X-Forwarded-Port", netaddr.ForwardedPort(r))
	if len(r.Header["X-Amzn-Trace-Id"]) == 0 {
		fields = append(fields, "X-Amzn-Trace-Id", restevent.TraceID(rc.RequestTime, rc.RequestID))
	}
	return fields
}

// proxyForwardedView is proxyForwarded for the fast path, whose ServeExtra
// only reads its extra fields and keeps none: the X-Amzn-Trace-Id value is
// written into the room the request's reqCtx has for it (proxyRoom) and
// handed out as a view of it, not a string of its own. Without that room
// it is proxyForwarded.
func proxyForwardedView(fields []string, r *http.Request, rc *reqCtx) []string {
	if rc.proxy == nil || len(r.Header["X-Amzn-Trace-Id"]) > 0 {
		return proxyForwarded(fields, r, rc)
	}
	b := restevent.AppendTraceID(rc.proxy.trace[:0], rc.RequestTime, rc.RequestID)
	return append(fields, "X-Forwarded-Port", netaddr.ForwardedPort(r),
		"X-Amzn-Trace-Id", unsafe.String(&b[0], len(b))) //nolint:gosec // audited: a view of rc.proxy.trace, written once per request, in an object the view keeps alive
}

// proxyValues is the room rc has for its backend's response field values
// (proxyRoom), or nil.
func (rc *reqCtx) proxyValues() []string {
	if rc.proxy == nil {
		return nil
	}
	return rc.proxy.values[:0]
}

// bufferPool recycles the 32 KB copy buffers of the reverse proxy.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

type proxyTargetKey struct{}

// proxyTarget is where one HTTP_PROXY request goes.
type proxyTarget struct {
	url    *url.URL
	method string
	rc     *reqCtx
	hop    [1]string // the hopHeader value (nextHop), a field's values
	err    error     // set by the error handler
}

// reverseProxy is the one httputil.ReverseProxy of a gateway; each request carries
// its target in its context.
type reverseProxy struct {
	rp *httputil.ReverseProxy
}

func newReverseProxy(g *Gateway) *reverseProxy {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			t := pr.In.Context().Value(proxyTargetKey{}).(*proxyTarget)
			u := *t.url
			pr.Out.URL = &u
			pr.Out.Host = ""
			pr.Out.Method = t.method
			// Rewrite has stripped the client's X-Forwarded-For; put it back so
			// that SetXForwarded appends the client's address to it, as a proxy
			// in a chain does (and as the event path's forwardedHeaders does).
			if prior := pr.In.Header["X-Forwarded-For"]; len(prior) > 0 {
				pr.Out.Header["X-Forwarded-For"] = slices.Clone(prior)
			}
			pr.SetXForwarded()
			// ReverseProxy has removed the fields the client's Connection
			// names; the client's trace id goes on, as on the other paths
			// (fastproxy.GatewayField). Without one, proxyForwarded adds the
			// gateway's.
			if v := pr.In.Header["X-Amzn-Trace-Id"]; len(v) > 0 {
				pr.Out.Header["X-Amzn-Trace-Id"] = slices.Clone(v)
			}
			if pr.In.Host == "" {
				// An HTTP/1.0 request may have no Host: no empty field for it.
				delete(pr.Out.Header, "X-Forwarded-Host")
			}
			var fields [4]string
			extra := proxyForwarded(fields[:0], pr.In, t.rc)
			for i := 0; i+1 < len(extra); i += 2 {
				pr.Out.Header[extra[i]] = []string{extra[i+1]}
			}
			pr.Out.Header[hopHeader] = t.hop[:]
			// ReverseProxy puts back the client's Upgrade and Connection:
			// upgrade after removing the hop-by-hop headers, to tunnel the
			// protocol the backend switches to. An HTTP integration never
			// switches (API Gateway's WebSockets are WEBSOCKET APIs), and a
			// tunnel would carry the client's later requests past the route
			// and everything on it: they go as the other hop-by-hop headers do.
			delete(pr.Out.Header, "Upgrade")
			delete(pr.Out.Header, "Connection")
		},
		Transport:  g.transport,
		BufferPool: &bufferPool{},
		ErrorLog:   nil,
		// An answer that came after the integration's deadline is a timeout,
		// though the transport hands it over (see answeredLate).
		// A 101 is refused (see refuseSwitch) before ReverseProxy would
		// tunnel it.
		ModifyResponse: func(res *http.Response) error {
			if err := refuseSwitch(res); err != nil {
				return err
			}
			if err := answeredLate(res.Request.Context()); err != nil {
				return err
			}
			t := res.Request.Context().Value(proxyTargetKey{}).(*proxyTarget)
			if t.rc.Protocol == apis.ProtocolREST {
				remapBackendHeaders(res.Header)
			}
			return g.startBody(res, t.url)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			t := r.Context().Value(proxyTargetKey{}).(*proxyTarget)
			t.err = err
		},
	}
	return &reverseProxy{rp: rp}
}

// integrationURL substitutes stage variables and path parameters ({name} and
// {name+}) in an HTTP integration URI and adds the request's query string.
func integrationURL(r *http.Request, rc *reqCtx, in *apis.Integration, rawQuery string) (*url.URL, error) {
	u, err := integrationURLWith(r, rc, in, nil, nil)
	if err != nil {
		return nil, err
	}
	addQuery(u, rawQuery)
	return u, nil
}

// addQuery appends rawQuery to u's query string.
func addQuery(u *url.URL, rawQuery string) {
	if rawQuery != "" {
		if u.RawQuery != "" {
			u.RawQuery += "&" + rawQuery
		} else {
			u.RawQuery = rawQuery
		}
	}
}

// integrationURLWith substitutes stage variables and path parameters in an HTTP
// integration URI; mapped are path parameters from requestParameters that take
// precedence (nil to map a REST API's integration.request.path.X from r here),
// and mappedSpans says which of them hold a greedy route parameter's value
// (keeping its "/" separators).
func integrationURLWith(r *http.Request, rc *reqCtx, in *apis.Integration, mapped map[string]string, mappedSpans map[string]bool) (*url.URL, error) {
	u, shared, err := integrationBase(r, rc, in, mapped, mappedSpans)
	if err != nil || !shared {
		return u, err
	}
	c := *u
	return &c, nil
}

// integrationBase is integrationURLWith without the copy: with shared, the URL
// is the stage's cached one (an integration URI without path parameters),
// which the caller must not modify.
func integrationBase(r *http.Request, rc *reqCtx, in *apis.Integration, mapped map[string]string, mappedSpans map[string]bool) (u *url.URL, shared bool, err error) {
	raw, err := rc.entry.stageURI(rc.Route, in)
	if err != nil {
		return nil, false, fmt.Errorf("integration uri of route %q: %w", rc.Route.RouteKey, err)
	}
	if !strings.Contains(raw, "{") {
		// No path parameters: the parsed URL is cached with the stage.
		base, err := rc.entry.parsedURI(raw)
		return base, err == nil, err
	}
	params := rc.PathParameters
	spans := routeSpans(rc)
	if len(mapped) > 0 || (mapped == nil && len(in.RequestParameters) > 0) {
		params = maps.Clone(rc.PathParameters)
		if params == nil {
			params = map[string]string{}
		}
		spans.set = map[string]bool{}
		if mapped == nil {
			// A REST API's integration.request.path.X mappings, from any
			// source (method.request.path.Y, 'literal', a header, ...).
			var ctx *mapping.Map // $context, built when a source reads it
			for k, v := range in.RequestParameters {
				if name, ok := strings.CutPrefix(k, "integration.request.path."); ok {
					if ctx == nil && strings.HasPrefix(v, "context.") {
						ctx = rc.BuildContext()
					}
					if strings.HasPrefix(v, "method.request.body") {
						// Read once (ReadBody puts it back for the backend):
						// a body over the limit fails here.
						if _, err := rc.ReadBody(r); err != nil {
							return nil, false, err
						}
					}
					if pv, ok := rc.ParamValue(v, r, ctx); ok {
						params[name] = pv
						spans.set[name] = spans.from(v)
					}
				}
			}
		}
		maps.Copy(params, mapped)
		for name := range mapped {
			spans.set[name] = mappedSpans[name]
		}
	}
	sub, err := substituteParams(raw, params, spans)
	if err != nil {
		return nil, false, err
	}
	u, err = parseHTTPURL(sub)
	return u, false, err
}

// pathSpans says which path parameters of an integration URI hold the value of
// the route's greedy parameter ({proxy+}), which may span several segments.
type pathSpans struct {
	// greedy is the route's greedy parameter name, or "".
	greedy string
	// raw is the greedy parameter's value as the client encoded it: its
	// segments, separated by "/", each escaped as it came (an encoded "/"
	// inside a segment stays %2F). Substitution keeps these segments, so that
	// the backend path has the segments that routing, authorizers and
	// policies decided on.
	raw string
	// set overrides greedy per name: a requestParameters mapping or an
	// override set the name's value, spanning or not.
	set map[string]bool
}

// routeSpans is the pathSpans of rc's route, with its greedy parameter's
// client-encoded value taken from the escaped request path.
func routeSpans(rc *reqCtx) pathSpans {
	s := pathSpans{greedy: greedyParam(rc.Route)}
	if s.greedy != "" {
		s.raw = greedyRaw(rc.Route.Path, rc.Path)
	}
	return s
}

// greedyRaw is the part of the escaped request path that routePath's greedy
// parameter (its last segment) matched: the path after as many segments as
// come before the parameter, without the one trailing slash that routing
// ignores (splitPath), so that it decodes to the parameter's value.
func greedyRaw(routePath, escapedPath string) string {
	n := strings.Count(routePath[:strings.LastIndexByte(routePath, '{')], "/") - 1
	p := strings.TrimSuffix(strings.TrimPrefix(escapedPath, "/"), "/")
	for ; n > 0; n-- {
		i := strings.IndexByte(p, '/')
		if i < 0 {
			return ""
		}
		p = p[i+1:]
	}
	return p
}

// of says how to substitute name's value, given whether the URI writes it
// {name+} (plus): multi reports whether the value may keep "/" separators, and
// greedy whether the value is the route's greedy parameter's (whose segments
// are the client's, raw). A route's one-segment parameter stays one segment
// even as {name+}: a decoded "/" in it was never a separator.
func (s pathSpans) of(name string, plus bool) (multi, greedy bool) {
	if v, ok := s.set[name]; ok {
		return v || plus, v
	}
	if s.greedy != "" && name == s.greedy {
		return true, true
	}
	return false, false
}

// from reports whether the mapping source src is the route's greedy parameter.
func (s pathSpans) from(src string) bool {
	return s.greedy != "" && src == "method.request.path."+s.greedy
}

// greedyParam is the name of route's greedy parameter ({name+}, always its last
// segment), or "".
func greedyParam(route *apis.Route) string {
	if route == nil || !strings.HasSuffix(route.Path, "+}") {
		return ""
	}
	i := strings.LastIndexByte(route.Path, '{')
	if i < 0 {
		return ""
	}
	return route.Path[i+1 : len(route.Path)-2]
}

// substituteParams replaces each {name} and {name+} in raw that names one of
// params with its value; other braces stay as they are. A {name} value is one
// path segment, escaped whole ("/" too, as API Gateway does). The value of the
// route's greedy parameter (spans) keeps the segments the client sent, each
// escaped on its own (escapeSegments: an encoded "/" inside a segment stays
// %2F, so the backend path has the segments routing and authorization saw);
// another value named {name+} keeps its "/" separators (escapeGreedy), unless
// it is a route's one-segment parameter. A value holding a dot
// segment ("." or "..", between "/" or `\` separators), greedy or not, is
// errBadRequest, as the client's own path is (normalizePath): no parameter can
// carry a request out of the backend path its integration names.
func substituteParams(raw string, params map[string]string, spans pathSpans) (string, error) {
	var b strings.Builder
	changed := false
	rest := raw
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			break
		}
		name, plus := strings.CutSuffix(rest[i+1:i+j], "+")
		multi, greedy := spans.of(name, plus)
		v, ok := params[name]
		if !ok {
			b.WriteString(rest[:i+j+1])
			rest = rest[i+j+1:]
			continue
		}
		if hasDotSegment(v) {
			return "", notSentError{fmt.Errorf("path parameter %q value %q has a dot segment: %w", name, v, errBadRequest)}
		}
		if !changed {
			b.Grow(len(raw) + len(v))
			changed = true
		}
		b.WriteString(rest[:i])
		switch {
		case greedy:
			b.WriteString(escapeSegments(spans.raw, v))
		case multi:
			b.WriteString(escapeGreedy(v))
		default:
			b.WriteString(url.PathEscape(v))
		}
		rest = rest[i+j+1:]
	}
	if !changed {
		return raw, nil
	}
	b.WriteString(rest)
	return b.String(), nil
}

// hasDotSegment reports whether v, split at "/" and `\`, has a "." or ".." part.
func hasDotSegment(v string) bool {
	if !strings.Contains(v, ".") {
		return false
	}
	for part := range strings.FieldsFuncSeq(v, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == "." || part == ".." {
			return true
		}
	}
	return false
}

func parseHTTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("integration uri %q does not resolve to an http(s) URL: %w", raw, errConfig)
	}
	return u, nil
}

// escapeSegments returns the greedy parameter's value v with its segments as
// the client encoded them (raw, from the request's escaped path, which is a
// valid escaping): sub-delimiters, ':' and '@' stay raw and a percent-encoding
// stays as sent ("%41" is not decoded, an encoded "/" inside a segment is not
// a separator), so that the backend sees the same segments the router did,
// spelled as the client spelled them. A raw that does not decode to v (no
// client path to go by: a mapping or override set the value) is escaped as
// one segment.
func escapeSegments(raw, v string) string {
	if raw == v {
		return raw // nothing was encoded
	}
	parts := strings.Split(raw, "/")
	for i, p := range parts {
		parts[i] = unescape(p)
	}
	if strings.Join(parts, "/") != v {
		return url.PathEscape(v)
	}
	return raw
}

// escapeGreedy escapes each "/"-separated part of a parameter value.
func escapeGreedy(v string) string {
	if !needsPathEscape(v) {
		return v
	}
	parts := strings.Split(v, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// needsPathEscape reports whether url.PathEscape would change a part of v other
// than its slashes (conservatively: any byte outside the unreserved set).
func needsPathEscape(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == '~' || c == '/':
		default:
			return true
		}
	}
	return false
}

func integrationMethod(in *apis.Integration, r *http.Request) string {
	if in.HTTPMethod == "" || in.HTTPMethod == apis.MethodAny {
		return r.Method
	}
	return in.HTTPMethod
}

// serveHTTPProxy passes the request to the backend and the response back within
// the integration timeout: through the gateway's own connections (fastproxy.go)
// when the request allows, otherwise through httputil.ReverseProxy.
func (g *Gateway) serveHTTPProxy(w http.ResponseWriter, r *http.Request, rc *reqCtx, in *apis.Integration) error {
	if m, err := rc.entry.paramMapping(in); err != nil || m != nil {
		if err != nil {
			return err
		}
		return g.serveMappedProxy(w, r, rc, in, m)
	}
	hop, err := nextHop(r.Header)
	if err != nil {
		return err
	}
	method := integrationMethod(in, r)
	base, shared, err := integrationBase(r, rc, in, nil, nil)
	if err != nil {
		return err
	}
	if counted := rc.countStream(r); counted != nil {
		// Recorded when the request ends, whichever path streamed it.
		defer func() { rc.SetStreamedLength(counted.n.Load()) }()
	}
	if g.fast != nil {
		// The fast path reads the URL as it is (maybe the stage's shared one)
		// and appends the client's query string on the wire.
		if hp := g.fast.Route(base, method, r); hp != nil {
			var fields [6]string
			extra := append(proxyForwardedView(fields[:0], r, rc), hopHeader, hop)
			rest := rc.Protocol == apis.ProtocolREST
			if err := g.fast.ServeExtra(w, r, hp, base, r.URL.RawQuery, method, in.TimeoutFor(rc.Protocol), extra, rest, rc.proxyValues()); err != nil {
				if errors.Is(err, fastproxy.ErrAborted) {
					g.abortAnswer(r, base, err)
					return nil
				}
				return g.backendError(r.Context(), base, err)
			}
			return nil
		}
	}
	u := base
	if shared {
		c := *base
		u = &c
	}
	addQuery(u, r.URL.RawQuery)
	t := &proxyTarget{url: u, method: method, rc: rc, hop: [1]string{hop}}
	ctx, cancel := context.WithTimeout(limitInterim(context.WithValue(r.Context(), proxyTargetKey{}, t)), in.TimeoutFor(rc.Protocol))
	defer cancel()
	out := r.WithContext(ctx)
	if out.Body != nil && out.Body != http.NoBody {
		out.Body = clientBody{out.Body}
	}
	iw := &interimWriter{ResponseWriter: w, own: w.Header().Clone()}
	g.proxy.rp.ServeHTTP(iw, out)
	iw.restore() // an error answer after a 1xx keeps the gateway's fields too
	if t.err != nil {
		return g.backendError(ctx, u, t.err)
	}
	return nil
}

// interimWriter is the ResponseWriter ReverseProxy writes a backend's answer
// to. ReverseProxy passes each interim (1xx) answer of the backend on, with
// its fields added to those set so far, and then clears them all.
// interimWriter keeps every 1xx to itself, as the fast path does (fastproxy's
// roundTrip): API Gateway sends its client only the integration's final
// answer, and the client's 100 Continue is the gateway's to send (its server
// sends a bare one when the body is first read). After each, it puts the
// gateway's own fields (x-amzn-RequestId, CORS, ...) back for the final
// answer, without the 1xx's. limitInterim bounds how many there are. It is
// used by one request's goroutines as ReverseProxy uses its ResponseWriter
// (not concurrently).
type interimWriter struct {
	http.ResponseWriter
	own     http.Header // the fields set before the backend answered
	cleared bool        // a 1xx went out and ReverseProxy cleared the fields after it
}

// restore puts the gateway's fields back after a 1xx.
func (w *interimWriter) restore() {
	if !w.cleared {
		return
	}
	w.cleared = false
	h := w.ResponseWriter.Header()
	for k, v := range w.own {
		h[k] = slices.Clone(v)
	}
}

func (w *interimWriter) Header() http.Header {
	w.restore()
	return w.ResponseWriter.Header()
}

func (w *interimWriter) WriteHeader(code int) {
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		w.cleared = true // ReverseProxy clears the fields next
		return
	}
	w.restore()
	w.ResponseWriter.WriteHeader(code)
}

func (w *interimWriter) Write(b []byte) (int, error) {
	w.restore()
	return w.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the writer underneath (to flush).
func (w *interimWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// restRemapped is remappedHeader for a REST API: the name under which a
// backend's response field of canonical name goes to the client, or "".
func restRemapped(name string) string { return remappedHeader(name, true) }

// remapBackendHeaders moves the fields of a REST API's backend answer that
// speak for the gateway (remappedHeader) to x-amzn-Remapped-<name>, as API
// Gateway remaps an HTTP_PROXY backend's Date, Server and request ids: the
// other paths' counterpart of the fast path's renames (SetRename). The
// hop-by-hop fields are gone before, as on the fast path.
func remapBackendHeaders(h http.Header) {
	for k, vv := range h {
		if to := restRemapped(k); to != "" {
			delete(h, k)
			h[to] = append(h[to], vv...)
		}
	}
}

// startBody reads the start of res's body before ReverseProxy sends the head
// to the client, as the fast path does (fastproxy's readStart): all of a body
// of known length up to 32 KB, else what one read of up to 4 KB gives (the
// head goes out with the body's first bytes in any case); a body the backend
// cuts short or garbles there is a backend error. The rest of the body, read
// while the client already has the head, logs a failure (the client's
// connection is then dropped) at warn level, naming the backend.
func (g *Gateway) startBody(res *http.Response, u *url.URL) error {
	if res.Body == nil || res.Body == http.NoBody {
		return nil
	}
	if res.ContentLength > g.cfg.MaxBodyBytes {
		return fmt.Errorf("%w: %d bytes announced, over %d", fastproxy.ErrResponseTooLarge, res.ContentLength, g.cfg.MaxBodyBytes)
	}
	var (
		buf []byte
		n   int
		err error
	)
	if res.ContentLength >= 0 && res.ContentLength <= 32<<10 {
		buf = make([]byte, res.ContentLength)
		n, err = io.ReadFull(res.Body, buf)
	} else {
		buf = make([]byte, 4<<10)
		n, err = res.Body.Read(buf)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %w", fastproxy.ErrResponseBody, err)
	}
	res.Body = &backendBody{start: buf[:n], ended: err != nil, rc: res.Body, g: g, u: u, left: g.cfg.MaxBodyBytes - int64(n)}
	return nil
}

// backendBody is a backend's response body whose start startBody has read.
type backendBody struct {
	start []byte
	ended bool // the start is all of it
	rc    io.ReadCloser
	g     *Gateway
	u     *url.URL
	left  int64 // the bytes the rest may have (Config.MaxBodyBytes in all)
}

func (b *backendBody) Read(p []byte) (int, error) {
	if len(b.start) > 0 {
		n := copy(p, b.start)
		b.start = b.start[n:]
		return n, nil
	}
	if b.ended {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if b.left -= int64(n); b.left < 0 {
		// Over the limit as it streams: the client connection is dropped,
		// the bytes over it unsent.
		n, err = 0, fmt.Errorf("%w: %w", fastproxy.ErrResponseBody, fastproxy.ErrResponseTooLarge)
	}
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, context.Canceled) {
		b.g.log.Warn("backend response body failed after its head went to the client; the client connection is dropped",
			"backend", backendName(b.u), "err", backendErrorText(b.u, err))
	}
	return n, err
}

func (b *backendBody) Close() error { return b.rc.Close() }

// abortAnswer drops the client connection of an answer that failed after its
// head went out (fastproxy.ErrAborted), as ReverseProxy does; a failure of the
// backend's body (rather than of the client) is logged at warn level.
func (g *Gateway) abortAnswer(r *http.Request, u *url.URL, err error) {
	if errors.Is(err, fastproxy.ErrResponseBody) {
		g.log.Warn("backend response body failed after its head went to the client; the client connection is dropped",
			"backend", backendName(u), "err", backendErrorText(u, err))
	}
	if r.Context().Value(http.ServerContextKey) != nil {
		panic(http.ErrAbortHandler) // the server drops the client connection
	}
}

// countedBody is a request body of unknown length (chunked) on its way to an
// HTTP_PROXY backend, which no stage reads: it counts the bytes read of it
// for $context.dataProcessed (countStream). ReverseProxy's transport may
// still read it from its own goroutine after the handler returned (a backend
// that answered before it read the whole body): the count is atomic.
type countedBody struct {
	io.ReadCloser
	n atomic.Int64
}

// Read implements io.Reader.
func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// countStream replaces r's body of unknown length with a countedBody (in
// rc's proxy room when it has one) and returns it; nil for a body of known
// length (its Content-Length is what is counted) or none.
func (rc *reqCtx) countStream(r *http.Request) *countedBody {
	if r.ContentLength >= 0 || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	var b *countedBody
	if rc.proxy != nil {
		b = &rc.proxy.counted
	} else {
		b = new(countedBody)
	}
	b.ReadCloser = r.Body
	r.Body = b
	return b
}

// clientBody is a request body on its way to a backend through the
// ReverseProxy, whose read errors are marked as the client's
// (fastproxy.ErrRequestBody), as the fast path marks its own.
type clientBody struct{ io.ReadCloser }

func (b clientBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("%w: %w", fastproxy.ErrRequestBody, err)
	}
	return n, err
}

// limitInterim returns ctx with a client trace that fails the round trip
// (fastproxy.ErrTooManyInterim) on the backend's interim (1xx) answer past
// fastproxy.MaxInterim: the transport reads on through any number of them,
// and ReverseProxy hands each to its ResponseWriter (interimWriter, which
// keeps them). The transport calls the hook from one goroutine per request.
func limitInterim(ctx context.Context) context.Context {
	n := 0
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{Got1xxResponse: func(int, textproto.MIMEHeader) error {
		if n++; n > fastproxy.MaxInterim {
			return fmt.Errorf("%w: more than %d before a final answer", fastproxy.ErrTooManyInterim, fastproxy.MaxInterim)
		}
		return nil
	}})
}

// answeredLate is ctx's error once the integration's deadline has passed (or
// its client has gone): the answer that came with it is not to be used. Go's
// transport hands over a response that raced the request's cancellation, and
// the cancellation itself can draw one: closing a TLS connection sends
// close_notify, which ends the backend's request context, and a backend that
// answers then is read before the socket closes.
func answeredLate(ctx context.Context) error { return ctx.Err() }

// sendInTime is the transport's RoundTrip of req, whose context is ctx, with
// an answer that came late (answeredLate) closed and taken for ctx's error.
// The hop-by-hop headers of req (which mappings may have set) do not go, but for
// the gateway's own fields (the hop count, the forwarding fields), and
// an answer that switches protocols is refused (refuseSwitch).
func (g *Gateway) sendInTime(ctx context.Context, req *http.Request) (*http.Response, error) {
	// The hop count and the forwarding fields stay, though a Connection
	// header name them: they are the gateway's (hops.go, fastproxy.GatewayField).
	fastproxy.RemoveRequestHopByHop(req.Header)
	resp, err := g.transport.RoundTrip(req.WithContext(limitInterim(req.Context())))
	if err != nil {
		return nil, err
	}
	if err := refuseSwitch(resp); err != nil {
		_ = resp.Body.Close()
		return nil, err
	}
	if err := answeredLate(ctx); err != nil {
		_ = resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// refuseSwitch is the error of a backend's answer that switches protocols (a
// 101; the transport reads other 1xx answers itself): API Gateway passes no
// protocol upgrade through an HTTP integration, so the switch is a backend
// error, and closing the answer's body closes the backend connection. A
// status past 599 is one too (the transport takes any three digits; RFC 9110
// §15 puts every valid status in 100..599), as the fast path refuses it.
func refuseSwitch(res *http.Response) error {
	if res.StatusCode > 599 {
		return fmt.Errorf("backend answered status %d, outside 100..599", res.StatusCode)
	}
	if res.StatusCode >= 200 {
		return nil
	}
	upgrade := ""
	if u := res.Header.Get("Upgrade"); u != "" {
		upgrade = fmt.Sprintf(" (upgrade %q)", u)
	}
	return fmt.Errorf("backend answered %d %s%s; an HTTP integration does not switch protocols",
		res.StatusCode, http.StatusText(res.StatusCode), upgrade)
}

func (g *Gateway) backendError(ctx context.Context, u *url.URL, err error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return fmt.Errorf("body over %d bytes: %w", mbe.Limit, errTooLarge)
	case errors.Is(err, listener.ErrBodyTimeout):
		// The client's body, not the backend, was late: the responses
		// stage answers 408.
		return err
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("backend %s: %w", backendName(u), errTimeout)
	case errors.Is(err, fastproxy.ErrResponseTooLarge):
		// API Gateway's integration response limit (10 MB), as the
		// buffered HTTP integration's (roundTrip).
		return fmt.Errorf("backend %s: %s: %w", backendName(u), backendErrorText(u, err), errIntegration)
	case errors.Is(err, fastproxy.ErrRequestBody):
		// The client's body broke its framing (a bad chunk size, say) on the
		// way through: the client's error, 400 as on any other route.
		return pipeline.Errorf(pipeline.BadRequestBody, "%w", err)
	default:
		return fmt.Errorf("backend %s: %s%s: %w", backendName(u), backendErrorText(u, err), backendHint(err), errIntegration)
	}
}

// backendName names backend URL u in errors and logs: its password masked
// (url.URL.Redacted) and its query string's values too ("?token=xxxxx"),
// which may be credentials as well (the integration URI's, or the client's
// on HTTP_PROXY), and those values wherever the path repeats them
// (redact.URLOf).
func backendName(u *url.URL) string {
	return redact.URLOf(u)
}

// scrubbedError is an error whose message names its backend as backendName
// does; it unwraps to the original.
type scrubbedError struct {
	msg string
	err error
}

func (e scrubbedError) Error() string { return e.msg }
func (e scrubbedError) Unwrap() error { return e.err }

// scrubBackend returns err with backend URL u in its message named as
// backendName names it (backendErrorText), still unwrapping to err.
func scrubBackend(u *url.URL, err error) error {
	if msg := backendErrorText(u, err); msg != err.Error() {
		return scrubbedError{msg, err}
	}
	return err
}

// backendErrorText is err's message with backend URL u, which net/http's
// errors quote (password masked, query string not), named as backendName
// names it.
func backendErrorText(u *url.URL, err error) string {
	msg := err.Error()
	safe := backendName(u)
	if safe == u.Redacted() {
		return msg
	}
	msg = strings.ReplaceAll(msg, u.Redacted(), safe)
	msg = strings.ReplaceAll(msg, u.String(), safe)
	if u.RawQuery != "" && strings.Contains(msg, u.RawQuery) {
		msg = strings.ReplaceAll(msg, u.RawQuery, redact.Query(u.RawQuery))
	}
	return msg
}

// backendHint is what to do about a backend error the operator can mend, for
// the log: an https backend whose certificate is not trusted.
func backendHint(err error) string {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	if errors.As(err, &cv) && errors.As(err, &ua) {
		return " (if its CA is your own, name its certificate in Portico's environment: SSL_CERT_FILE=ca.pem, or SSL_CERT_DIR)"
	}
	return ""
}

// serveHTTP runs a non-proxy HTTP integration: the rendered request template (or
// the body, as the passthrough behavior allows) goes to the backend with the
// requestParameters mapped; the backend's status selects an integration response,
// whose response template renders the backend's body.
func (g *Gateway) serveHTTP(w http.ResponseWriter, r *http.Request, rc *reqCtx, in *apis.Integration) error {
	hop, err := nextHop(r.Header)
	if err != nil {
		return err
	}
	ireq, err := prepareRequest(r, rc, in)
	if err != nil {
		return err
	}
	p, lv, body := ireq.plan, ireq.lv, ireq.payload
	vars := lv.get() // $context.requestOverride applies on top of the mappings
	ct := r.Header.Get("Content-Type")
	if ct == "" || ireq.templated {
		ct = "application/json"
	}
	params := resolveRequestParams(in, r, rc)
	if err := params.apply(vars); err != nil {
		return err
	}
	if err := g.checkRequestHeaders(rc, params.header); err != nil {
		return err
	}
	u, err := integrationURLWith(r, rc, in, params.path, params.spans)
	if err != nil {
		return err
	}
	u.RawQuery = params.encodeQuery(u.RawQuery)
	ctx, cancel := context.WithTimeout(r.Context(), in.TimeoutFor(rc.Protocol))
	defer cancel()
	//nolint:gosec // G704: the backend is the API's integration URI; request values fill only its path parameters (escaped) and query, as API Gateway's mappings do
	req, err := http.NewRequestWithContext(ctx, integrationMethod(in, r), u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("backend request: %s: %w", err.Error(), errConfig)
	}
	req.Header.Set("Content-Type", ct)
	if a := r.Header.Get("Accept"); a != "" {
		req.Header.Set("Accept", a)
	}
	for k, v := range params.header {
		req.Header.Set(k, v)
	}
	req.Header[hopHeader] = []string{hop} // after the mappings, which cannot reset it
	tracing.Inject(ctx, req.Header)
	resp, err := g.roundTrip(ctx, req, u)
	if err != nil {
		return err
	}
	rc.Integration.EndpointStatus = int16(resp.status) // the backend's, before the integration responses map it
	respBody := resp.body
	// A backend's content coding stays: the compression stage does not
	// compress such an answer again, as API Gateway skips compression when
	// the integration response has a Content-Encoding. The method response
	// carries the header only when responseParameters map it.
	rc.ResponseEncoded = resp.header.Get("Content-Encoding") != ""
	var key string
	var ir apis.IntegrationResponse
	if len(in.Responses) == 0 {
		ir = apis.IntegrationResponse{StatusCode: fmt.Sprint(resp.status)}
	} else {
		var ok bool
		var err error
		if key, ir, ok, err = p.selector.selectResponse(fmt.Sprint(resp.status), true); err != nil {
			return err
		} else if !ok {
			return noOutputMapping(fmt.Sprint(resp.status))
		}
	}
	rct := "application/json"
	if mt, _, err := mime.ParseMediaType(resp.header.Get("Content-Type")); err == nil {
		rct = mt
	}
	res := integrationResult{key: key, ir: ir, body: respBody, header: resp.header, contentType: rct,
		binary: responseBinary(resp.header, p.binaryTypes), accept: r.Header.Get("Accept")}
	if len(p.responses[key]) == 0 && resp.header.Get("Content-Type") != "" {
		w.Header().Set("Content-Type", resp.header.Get("Content-Type"))
	}
	return g.writeMethodResponse(r.Context(), w, ireq, res)
}

// sendableHeader is errBadRequest for a header value holding a control
// character other than a tab (CR and LF among them), which no request may
// carry: the transport would refuse the request. The error is notSent.
func sendableHeader(h http.Header) error {
	for k, vv := range h {
		for _, v := range vv {
			if i := controlChar(v); i >= 0 {
				return notSentError{fmt.Errorf("integration request header %s: the value has control character %#x: %w", k, v[i], errBadRequest)}
			}
		}
	}
	return nil
}

// controlChar is the index of the first byte of v that no header field value
// may hold (RFC 9110: a control character other than a tab, CR, LF, NUL and
// DEL among them), or -1.
func controlChar[T string | []byte](v T) int {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return i
		}
	}
	return -1
}

// checkRequestHeaders judges the integration request headers a non-proxy
// HTTP integration's requestParameters and request template overrides set,
// by the rule HTTP_PROXY's mappings follow (compileRESTProxyMapping):
// Content-Length or Transfer-Encoding is the API's configuration error (500,
// as API Gateway answers), since the gateway frames the body it sends; Host
// and the hop-by-hop headers (Connection, Keep-Alive, TE, Upgrade, ...) are
// removed from h, not sent (nor do they act: a Connection value would remove
// the headers it names), which the debug log says.
func (g *Gateway) checkRequestHeaders(rc *reqCtx, h map[string]string) error {
	var dropped []string
	for k := range h {
		if apis.IsFramingRequestHeader(k) {
			return notSentError{fmt.Errorf("integration request header %s is set by requestParameters or $context.requestOverride.header, which API Gateway refuses: the gateway frames the request body itself; remove the mapping: %w", k, errConfig)}
		}
		if ck := http.CanonicalHeaderKey(k); ck == "Host" || slices.Contains(fastproxy.HopHeaders, ck) {
			dropped = append(dropped, ck)
			delete(h, k) // a Connection value would also remove the headers it names
		}
	}
	if len(dropped) > 0 {
		slices.Sort(dropped)
		g.log.Debug("integration request headers set by requestParameters or $context.requestOverride.header are not sent: the gateway sets Host and the hop-by-hop headers itself",
			"api", rc.APIID, "stage", rc.Stage, "resource", rc.ResourcePath, "headers", dropped)
	}
	return nil
}

// backendAnswer is a buffered integration response.
type backendAnswer struct {
	status int
	header http.Header
	body   []byte
}

// roundTrip sends a buffered integration request and reads the whole answer
// within the body limit. A header value that cannot be sent (mapped from a
// client's value with CR, LF or another control character) is the client's
// bad request (errBadRequest), not a failure of the backend.
func (g *Gateway) roundTrip(ctx context.Context, req *http.Request, u *url.URL) (*backendAnswer, error) {
	if err := sendableHeader(req.Header); err != nil {
		return nil, err
	}
	resp, err := g.sendInTime(ctx, req)
	if err != nil {
		return nil, g.backendError(ctx, u, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, g.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, g.backendError(ctx, u, err)
	}
	if int64(len(body)) > g.cfg.MaxBodyBytes {
		return nil, fmt.Errorf("backend %s answered more than %d bytes: %w", backendName(u), g.cfg.MaxBodyBytes, errIntegration)
	}
	return &backendAnswer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}
