package gateway

import (
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/restevent"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/netaddr"
)

// requestTimeLayout is API Gateway's requestTime format: "15/May/2020:06:01:09 +0000".
const requestTimeLayout = "02/Jan/2006:15:04:05 -0700"

// resourceID is $context.resourceId: the id the control plane shows for the
// resource at path (the compiled stage's, for its routes' paths).
func resourceID(rc *reqCtx, path string) string {
	if rc.entry != nil && rc.Deployed == rc.entry.deployed {
		if id, ok := rc.entry.resourceIDs[path]; ok {
			return id
		}
	}
	if d := rc.Deployed; d != nil && d.API != nil {
		return d.API.ResourceIDOf(path)
	}
	return apis.ResourceID(rc.APIID, path)
}

// sourceIP returns the caller's address as API Gateway reports it (an
// IPv4-mapped address as its IPv4 form).
func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return netaddr.Unmapped(host)
}

// clientIP is the request's source IP: the peer's address, or, when the peer is
// a trusted proxy, the right-most X-Forwarded-For address that is not one
// (an IPv4-mapped address as its IPv4 form, as API Gateway reports it).
func (g *Gateway) clientIP(r *http.Request) string {
	peer := sourceIP(r)
	if len(g.cfg.TrustedProxies) == 0 || !g.trusted(peer) {
		return peer
	}
	xff := r.Header.Values("X-Forwarded-For")
	client := peer
	for i := len(xff) - 1; i >= 0; i-- {
		hops := strings.Split(xff[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			hop := strings.TrimSpace(hops[j])
			if _, err := netip.ParseAddr(hop); err != nil {
				return client // a malformed hop: believe nothing before it
			}
			client = netaddr.Unmapped(hop)
			if !g.trusted(hop) {
				return client
			}
		}
	}
	return client
}

// trusted reports whether ip is one of the trusted proxies.
func (g *Gateway) trusted(ip string) bool { return netaddr.InPrefixes(ip, g.cfg.TrustedProxies) }

// forwardedHeaders returns the request's headers as the integration sees them: the
// client's headers plus Host, X-Forwarded-For/Port/Proto and X-Amzn-Trace-Id, as
// API Gateway adds them.
func forwardedHeaders(r *http.Request, rc *reqCtx) http.Header {
	// As Header.Clone, one slice holds every value, with room for the five
	// fields set here, and the map is sized for them: three allocations, not
	// one per field set.
	const extra = 5
	nv := 0
	for _, vv := range r.Header {
		nv += len(vv)
	}
	h := make(http.Header, len(r.Header)+extra)
	vals := make([]string, nv+extra)
	for k, vv := range r.Header {
		if vv == nil {
			h[k] = nil // as Clone keeps it
			continue
		}
		n := copy(vals, vv)
		h[k] = vals[:n:n]
		vals = vals[n:]
	}
	set := func(k, v string) {
		vals[0] = v
		h[k] = vals[:1:1]
		vals = vals[1:]
	}
	set("Host", r.Host)
	ip := sourceIP(r)
	set("X-Forwarded-For", netaddr.ForwardedFor(h["X-Forwarded-For"], ip))
	set("X-Forwarded-Port", netaddr.ForwardedPort(r))
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	set("X-Forwarded-Proto", proto)
	if h.Get("X-Amzn-Trace-Id") == "" {
		set("X-Amzn-Trace-Id", restevent.TraceID(rc.RequestTime, rc.RequestID))
	}
	return h
}

// isBinaryREST reports whether a REST API passes a body of this content type to
// its function base64-encoded: when it matches one of the binary media types.
func isBinaryREST(contentType string, binaryTypes []string) bool {
	if len(binaryTypes) == 0 {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(contentType))
	}
	for _, b := range binaryTypes {
		if mediaMatch(b, mt) {
			return true
		}
	}
	return false
}

// mediaMatch matches a media type against a pattern with * wildcards ("image/*",
// "*/*").
func mediaMatch(pattern, mt string) bool {
	pattern = strings.ToLower(pattern)
	if pattern == "*/*" || pattern == mt {
		return true
	}
	pt, ps, _ := strings.Cut(pattern, "/")
	mtt, mts, _ := strings.Cut(mt, "/")
	return (pt == "*" || pt == mtt) && (ps == "*" || ps == mts)
}

// isTextHTTP reports whether an HTTP API passes a body as text, as API
// Gateway's HTTP APIs do: valid UTF-8 of a text/* type, application/json,
// application/xml, application/javascript, or a +json or +xml type. Any other
// type (a form, application/x-www-form-urlencoded, among them), a missing or
// malformed Content-Type, and invalid UTF-8 are base64.
func isTextHTTP(contentType string, body []byte) bool {
	if contentType == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", mt == "application/xml", mt == "application/javascript",
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return utf8.Valid(body)
	}
	return false
}

// parseQuery parses the raw query string; a bad encoding is errBadRequest.
func parseQuery(raw string) (url.Values, error) {
	if raw == "" {
		return nil, nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("query string %q: %w: %w", raw, err, errBadRequest)
	}
	return q, nil
}

// authorizerV1 is a payload 1.0 event's requestContext.authorizer, as API
// Gateway writes it; nil when no authorizer ran. A JWT authorizer's (HTTP APIs
// only) is {"claims": {...}, "scopes": [...]}, claims as strings and scopes
// null when there are none, as in AWS's HTTP API 1.0 example. Any other is the
// principal id and the authorizer's context values beside it, REST APIs'
// Lambda authorizer values as strings.
func authorizerV1(a *pipeline.Authorizer, rest bool) map[string]any {
	if a.Kind == "" && !rest {
		// An HTTP API route without an authorizer, as API Gateway sends it.
		return map[string]any{"claims": nil, "scopes": nil}
	}
	if a.Kind == "jwt" && !rest {
		var scopes []string
		if len(a.Scopes) > 0 {
			scopes = a.Scopes
		}
		return map[string]any{"claims": jwtClaims(a), "scopes": scopes}
	}
	if a.PrincipalID == "" && len(a.Context) == 0 {
		return nil
	}
	stringify := rest && a.Kind == "lambda"
	out := make(map[string]any, len(a.Context)+1)
	for k, v := range a.Context {
		if stringify {
			v = pipeline.StringifyContextValue(v)
		}
		out[k] = v
	}
	out["principalId"] = a.PrincipalID
	return out
}

// authorizerV2 is the HTTP API event's requestContext.authorizer: a Lambda
// authorizer's context under "lambda", a JWT's claims and scopes under "jwt".
func authorizerV2(a *pipeline.Authorizer, id *pipeline.Identity) *events.APIGatewayV2HTTPRequestContextAuthorizerDescription {
	switch a.Kind {
	case "lambda":
		ctx := a.Context
		if ctx == nil {
			ctx = map[string]any{}
		}
		return &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: ctx}
	case "jwt":
		return &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: jwtClaims(a), Scopes: a.Scopes}}
	case "iam":
		return &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
			AccessKey: id.AccessKey, AccountID: id.AccountID, CallerID: id.Caller, UserARN: id.UserARN, UserID: id.User}}
	}
	return nil
}

// jwtClaims are a JWT authorizer's claims as HTTP API events carry them (both
// payload versions): each as its claimText.
func jwtClaims(a *pipeline.Authorizer) map[string]string {
	claims := make(map[string]string, len(a.Context))
	for k, v := range a.Context {
		claims[k] = claimText(v)
	}
	return claims
}

// claimText is a JWT claim as an HTTP API's event carries it: a string as it
// is, an array as its elements between brackets, separated by spaces
// ("[admin editors]", as API Gateway renders cognito:groups), anything else as
// its JSON text ("1700000000", "true").
func claimText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = claimText(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func unescapePath(p string) string {
	if u, err := url.PathUnescape(p); err == nil {
		return u
	}
	return p
}

func domainPrefix(domain string) string {
	prefix, _, _ := strings.Cut(domain, ".")
	return prefix
}

// sortedKeys is a helper for deterministic logs and tests.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
