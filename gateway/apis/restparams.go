package apis

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/portico-dev/portico/gateway/mapping"
	"github.com/portico-dev/portico/internal/errdefs"
)

// REST API parameter mapping: an integration's requestParameters
// ("integration.request.header.X": "method.request.querystring.y") and its
// integration responses' responseParameters ("method.response.header.X":
// "integration.response.body.a"), as API Gateway's REST APIs write them.
// Validation refuses, on every path that declares them (both control planes'
// put and update, OpenAPI import), what the gateway would not apply.

// mappingNameRe is what a name in a mapping expression may hold (API
// Gateway's '^[a-zA-Z0-9._$-]+$').
var mappingNameRe = regexp.MustCompile(`^[A-Za-z0-9._$-]+$`)

// Where to say what a REST mapping may be.
const (
	restRequestTargets = "a request parameter is integration.request.header|querystring|path.NAME"
	restRequestSources = "a request parameter's value is 'literal', method.request.path|querystring|multivaluequerystring|header|multivalueheader.NAME, " +
		"method.request.body, method.request.body.JSONPATH, stageVariables.NAME or context.NAME"
	restResponseTargets = "a response parameter is method.response.header.NAME"
	restResponseSources = "a response parameter's value is 'literal', integration.response.header|multivalueheader.NAME, " +
		"integration.response.body, integration.response.body.JSONPATH, stageVariables.NAME or context.NAME"
)

// MappingError is a REST API parameter mapping expression API Gateway
// refuses: a target (a requestParameters or responseParameters key) or a
// source (its value) that is none of the documented forms. It wraps
// errdefs.ErrInvalid.
type MappingError struct {
	// Expr is the expression refused.
	Expr string
	// Target says Expr is a mapping's target, not its source.
	Target bool
	// Use says what the expression may be instead.
	Use string
}

// AWSMessage is API Gateway's words for the problem: "Invalid mapping
// expression specified: X" for a source, "Invalid mapping expression parameter
// specified: X" for a target.
func (e *MappingError) AWSMessage() string {
	if e.Target {
		return "Invalid mapping expression parameter specified: " + truncate(e.Expr, 200)
	}
	return "Invalid mapping expression specified: " + truncate(e.Expr, 200)
}

func (e *MappingError) Error() string { return e.AWSMessage() + "; " + e.Use }

// Unwrap returns errdefs.ErrInvalid.
func (e *MappingError) Unwrap() error { return errdefs.ErrInvalid }

// mappingName reports whether s, the NAME of an expression, is a valid name.
func mappingName(s string) bool { return mappingNameRe.MatchString(s) }

// validRESTRequestTarget reports whether key is a REST integration request
// parameter the gateway sets: integration.request.header|querystring|path.NAME.
func validRESTRequestTarget(key string) bool {
	for _, p := range []string{"integration.request.header.", "integration.request.querystring.", "integration.request.path."} {
		if name, ok := strings.CutPrefix(key, p); ok {
			return mappingName(name)
		}
	}
	return false
}

// validRESTRequestSource reports whether v is a REST integration request
// parameter's source: 'literal', method.request.{path, querystring,
// multivaluequerystring, header, multivalueheader}.NAME, method.request.body,
// method.request.body.JSONPATH, stageVariables.NAME or context.NAME.
func validRESTRequestSource(v string) bool {
	if ok, known := commonSource(v); known {
		return ok
	}
	if v == "method.request.body" {
		return true
	}
	if path, ok := strings.CutPrefix(v, "method.request.body."); ok {
		_, valid := BodyPath(path)
		return valid
	}
	for _, p := range []string{"method.request.path.", "method.request.querystring.", "method.request.multivaluequerystring.",
		"method.request.header.", "method.request.multivalueheader."} {
		if name, ok := strings.CutPrefix(v, p); ok {
			return mappingName(name)
		}
	}
	return false
}

// validRESTResponseSource reports whether v is an integration response
// parameter's source: 'literal', integration.response.header|multivalueheader.NAME,
// integration.response.body, integration.response.body.JSONPATH,
// stageVariables.NAME or context.NAME.
func validRESTResponseSource(v string) bool {
	if ok, known := commonSource(v); known {
		return ok
	}
	if v == "integration.response.body" {
		return true
	}
	if path, ok := strings.CutPrefix(v, "integration.response.body."); ok {
		_, valid := BodyPath(path)
		return valid
	}
	for _, p := range []string{"integration.response.header.", "integration.response.multivalueheader."} {
		if name, ok := strings.CutPrefix(v, p); ok {
			return mappingName(name)
		}
	}
	return false
}

// commonSource judges the sources both sides share: a 'literal',
// stageVariables.NAME and context.NAME; known is false for anything else.
func commonSource(v string) (ok, known bool) {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return true, true
	}
	if name, found := strings.CutPrefix(v, "stageVariables."); found {
		return varNameRe.MatchString(name), true
	}
	if name, found := strings.CutPrefix(v, "context."); found {
		return name != "" && !strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }), true
	}
	return false, false
}

// validBodyPath reports whether path, the JSONPath of a body source without
// its "$.", compiles.
func validBodyPath(path string) bool {
	if path == "" {
		return false
	}
	_, err := mapping.CompileJSONPath("$." + path)
	return err == nil
}

// IsUnmappableResponseHeader reports whether a REST API method response
// header may not be set by a responseParameters mapping or a template's
// $context.responseOverride.header: the fields that frame the response or
// speak for the connection (Content-Length, Transfer-Encoding, Connection and
// the other hop-by-hop headers), which the gateway writes itself, and the
// gateway's request ids (X-Amzn-RequestId, X-Amz-Apigw-Id). Sent beside the
// gateway's own, a second Transfer-Encoding or Content-Length would break the
// response's framing for the client.
func IsUnmappableResponseHeader(name string) bool {
	switch strings.ToLower(name) {
	case "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection",
		"te", "trailer", "trailers", "upgrade", "x-amzn-requestid", "x-amz-apigw-id":
		return true
	}
	return false
}

// IsFramingRequestHeader reports whether a REST API integration request
// header is one a requestParameters mapping or a template's
// $context.requestOverride.header may not set, as API Gateway answers 500
// when one does: Content-Length and Transfer-Encoding, which frame the
// request body the gateway sends.
func IsFramingRequestHeader(name string) bool {
	n := strings.ToLower(name)
	return n == "content-length" || n == "transfer-encoding"
}

// validateRESTMappings checks a REST API integration's requestParameters and
// its integration responses' responseParameters, each problem a
// *MappingError.
func (in *Integration) validateRESTMappings() []error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(in.RequestParameters)) {
		if !validRESTRequestTarget(k) {
			errs = append(errs, &MappingError{Expr: k, Target: true, Use: restRequestTargets})
		} else if v := in.RequestParameters[k]; !validRESTRequestSource(v) {
			errs = append(errs, &MappingError{Expr: v, Use: restRequestSources})
		}
	}
	for _, pattern := range slices.Sorted(maps.Keys(in.Responses)) {
		params := in.Responses[pattern].ResponseParameters
		for _, k := range slices.Sorted(maps.Keys(params)) {
			if name, ok := strings.CutPrefix(k, "method.response.header."); !ok || !mappingName(name) {
				errs = append(errs, &MappingError{Expr: k, Target: true, Use: restResponseTargets})
			} else if IsUnmappableResponseHeader(name) {
				errs = append(errs, invalid("integration response %q: responseParameters map %s, which the gateway sets itself (it frames the response or speaks for the connection or the request); remove the mapping",
					truncate(pattern, 100), truncate(k, 100)))
			} else if v := params[k]; !validRESTResponseSource(v) {
				errs = append(errs, &MappingError{Expr: v, Use: restResponseSources})
			}
		}
	}
	return errs
}

// UndeclaredRequestSource reports whether src, the source of an integration
// request parameter mapping, is a method request parameter
// (method.request.path|querystring|multivaluequerystring|header|multivalueheader.NAME)
// that r does not declare: API Gateway refuses such a mapping ("Invalid
// mapping expression parameter specified"), in put-integration and import. A
// path parameter of r's path counts as declared; a header's name is matched
// in any case.
func (r *Route) UndeclaredRequestSource(src string) bool {
	rest, ok := strings.CutPrefix(src, "method.request.")
	if !ok {
		return false
	}
	where, name, _ := strings.Cut(rest, ".")
	switch where {
	case "querystring", "multivaluequerystring":
		where = "query"
	case "header", "multivalueheader":
		where = "header"
	case "path":
		if strings.Contains(r.Path, "{"+name+"}") || strings.Contains(r.Path, "{"+name+"+}") {
			return false
		}
	default:
		return false // the body, or an expression the API's validation judges
	}
	return !slices.ContainsFunc(r.Parameters, func(p Parameter) bool {
		return p.In == where && (p.Name == name || where == "header" && strings.EqualFold(p.Name, name))
	})
}
