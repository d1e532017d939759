package pipeline

import (
	"net/url"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
)

// StagePath is the request's path as API Gateway reports it in an event's
// requestContext.path and in $context.path, escaped as the client sent it:
// the stage and the path ("/dev/pets/7"), the path alone on an HTTP API's
// $default stage, and on a custom domain name the mapping's base path and the
// path ("/v2" alone for a request to "/v2": no slash is added). Portico's path-based URLs put the API id first ("/abc/dev/pets/7");
// API Gateway's carry it in the host name, and so does this path not.
func (c *Context) StagePath() string {
	switch {
	case c.CustomDomain && c.AtBasePath:
		return c.StagePrefix
	case c.CustomDomain:
		return c.StagePrefix + c.Path
	case c.Stage == apis.RouteDefault:
		return c.Path
	case c.Path == "/":
		return "/" + c.Stage + "/"
	}
	return "/" + c.Stage + c.Path
}

// MatchedPath is Path as the router matched it, and as every execute-api ARN
// of the request names it (the method ARN that IAM, resource and authorizer
// policies and execute-api:InvalidateCache are checked against, the
// authorizer's methodArn, a function's AWS:SourceArn): each segment
// percent-decoded ("/%73ecret" is "/secret"), one trailing slash dropped
// ("/secret/" is "/secret"), "/" for the root. As API Gateway names the
// matched resource with the request's own values, a policy on
// .../GET/secret holds however the client spells /secret. An encoded slash
// inside a segment stays one segment, as the router and the backend take it:
// it is written %2F ("/admin%2Fusers"), never "/". A segment that does not
// decode is kept as sent, as the router keeps it.
func (c *Context) MatchedPath() string { return MatchedPath(c.Path) }

// MatchedPath is Context.MatchedPath of an escaped, stage-relative path.
func MatchedPath(p string) string {
	if len(p) > 1 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	b.Grow(len(p))
	for seg := range strings.SplitSeq(strings.TrimPrefix(p, "/"), "/") {
		b.WriteByte('/')
		if d, err := url.PathUnescape(seg); err == nil {
			seg = strings.ReplaceAll(d, "/", "%2F")
		}
		b.WriteString(seg)
	}
	return b.String()
}

// PathParametersAsSent are the request's path parameters as the client sent
// them, still escaped ("a%20b" where PathParameters has "a b"), as REST APIs
// pass them to functions and authorizers: each {name} is its segment of Path,
// a greedy {name+} the rest of Path. PathParameters itself when the route's
// template does not line up with Path (it always should).
func (c *Context) PathParametersAsSent() map[string]string {
	if len(c.PathParameters) == 0 || !strings.Contains(c.Path, "%") {
		return c.PathParameters
	}
	tmpl := strings.Split(strings.TrimPrefix(c.ResourcePath, "/"), "/")
	segs := strings.Split(strings.TrimPrefix(c.Path, "/"), "/")
	out := make(map[string]string, len(c.PathParameters))
	for i, t := range tmpl {
		if len(t) < 3 || t[0] != '{' || t[len(t)-1] != '}' {
			continue
		}
		if i >= len(segs) {
			return c.PathParameters
		}
		name := t[1 : len(t)-1]
		if greedy, ok := strings.CutSuffix(name, "+"); ok {
			out[greedy] = strings.Join(segs[i:], "/")
			continue
		}
		out[name] = segs[i]
	}
	if len(out) != len(c.PathParameters) {
		return c.PathParameters
	}
	for k := range out {
		if _, ok := c.PathParameters[k]; !ok {
			return c.PathParameters
		}
	}
	return out
}
