package apis

import (
	"net/http"
	"slices"
	"strings"

	"github.com/portico-dev/portico/internal/errdefs"
)

// CacheKeyParameter is one of a REST integration's cacheKeyParameters,
// parsed: method.request.{querystring, multivaluequerystring, header,
// multivalueheader, path}.NAME.
type CacheKeyParameter struct {
	// In is where the value is read: "querystring", "header" or "path".
	In string
	// Name is the parameter's name; a multi-value header's is canonical.
	Name string
	// All is set for the multi-value forms, whose every value is in the key
	// (the others key on the last value).
	All bool
}

// cacheKeyForms says what a cache key parameter may be.
const cacheKeyForms = "a cache key parameter is method.request.querystring|multivaluequerystring|header|multivalueheader|path.NAME"

// ParseCacheKeyParameter parses a cacheKeyParameters entry; ok is false for
// anything but the documented forms.
func ParseCacheKeyParameter(p string) (CacheKeyParameter, bool) {
	rest, ok := strings.CutPrefix(p, "method.request.")
	if !ok {
		return CacheKeyParameter{}, false
	}
	in, name, ok := strings.Cut(rest, ".")
	if !ok || !mappingName(name) {
		return CacheKeyParameter{}, false
	}
	switch in {
	case "querystring", "header", "path":
		return CacheKeyParameter{In: in, Name: name}, true
	case "multivaluequerystring":
		return CacheKeyParameter{In: "querystring", Name: name, All: true}, true
	case "multivalueheader":
		return CacheKeyParameter{In: "header", Name: http.CanonicalHeaderKey(name), All: true}, true
	}
	return CacheKeyParameter{}, false
}

// CacheKeyError is a cacheKeyParameters entry API Gateway refuses ("Invalid
// cache key parameter specified"): none of the documented forms, or a
// request parameter the method does not declare. It wraps errdefs.ErrInvalid.
type CacheKeyError struct {
	// Param is the entry refused.
	Param string
	// Use says what to do instead.
	Use string
}

// AWSMessage is API Gateway's words for the problem, with the entry.
func (e *CacheKeyError) AWSMessage() string {
	return "Invalid cache key parameter specified: " + truncate(e.Param, 200)
}

func (e *CacheKeyError) Error() string { return e.AWSMessage() + "; " + e.Use }

// Unwrap returns errdefs.ErrInvalid.
func (e *CacheKeyError) Unwrap() error { return errdefs.ErrInvalid }

// validateCacheKeys checks a REST route's cache key parameters as API
// Gateway does: each is method.request.{querystring, multivaluequerystring,
// header, multivalueheader, path}.NAME and names a request parameter the
// method declares (a query string or header parameter, or a path parameter;
// a variable of the route's path counts as declared, as it does for
// parameter mappings).
func (r *Route) validateCacheKeys() error {
	if r.Integration == nil {
		return nil
	}
	for _, p := range r.Integration.CacheKeyParameters {
		kp, ok := ParseCacheKeyParameter(p)
		if !ok {
			return &CacheKeyError{Param: p, Use: cacheKeyForms}
		}
		if !r.declares(kp) {
			return &CacheKeyError{Param: p, Use: "the method does not declare it: declare the request parameter method.request." +
				kp.In + "." + truncate(kp.Name, 100) + " on the method (put-method --request-parameters, or an OpenAPI parameter), or remove the cache key parameter"}
		}
	}
	return nil
}

// declares reports whether r declares the request parameter p is read from.
func (r *Route) declares(p CacheKeyParameter) bool {
	if p.In == "path" && (strings.Contains(r.Path, "{"+p.Name+"}") || strings.Contains(r.Path, "{"+p.Name+"+}")) {
		return true
	}
	in := map[string]string{"querystring": "query", "header": "header", "path": "path"}[p.In]
	return slices.ContainsFunc(r.Parameters, func(d Parameter) bool {
		return d.In == in && (d.Name == p.Name || in == "header" && strings.EqualFold(d.Name, p.Name))
	})
}
