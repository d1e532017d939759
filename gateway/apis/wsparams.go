package apis

import (
	"maps"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// WebSocket data mapping: an HTTP or HTTP_PROXY integration's
// requestParameters ("integration.request.header.connectionId":
// "context.connectionId"), as API Gateway's "Set up data mapping for WebSocket
// APIs" describes them. The gateway applies them to the request it sends the
// backend (gateway/ws_params.go); validation refuses, on every path that
// declares them (both control planes, OpenAPI import, SAM deploy), what the
// gateway would not apply.

// Where to say what a WebSocket mapping may be.
const (
	wsRequestTargets = "a WebSocket integration's request parameter is integration.request.header.NAME or integration.request.querystring.NAME"
	wsRequestSources = "a WebSocket integration's request parameter's value is 'literal', route.request.header|querystring|multivalueheader|multivaluequerystring.NAME ($connect), " +
		"route.request.body.JSONPATH (messages), stageVariables.NAME or context.NAME (" + wsContextList + ", authorizer.NAME)"
	wsContextList = "apiId, connectedAt, connectionId, domainName, eventType, extendedRequestId, identity.sourceIp, identity.userAgent, " +
		"messageDirection, messageId, requestId, requestTime, requestTimeEpoch, routeKey, stage"
)

// WSContextVariables are the context variables a WebSocket data mapping
// reads (context.NAME), besides authorizer.NAME: what the gateway sets on
// every $connect, message and $disconnect.
var WSContextVariables = strings.Split(wsContextList, ", ")

// WSRouteSource is a WebSocket mapping source's kind as far as routes go:
// which route keys can give it a value.
type WSRouteSource int

// The kinds of WebSocket mapping source.
const (
	// WSAnyRoute is a source every route has: a literal, a stage or context
	// variable.
	WSAnyRoute WSRouteSource = iota
	// WSConnectOnly is route.request.header|querystring|multi*.NAME: the
	// upgrade request's, which only $connect has.
	WSConnectOnly
	// WSMessageOnly is route.request.body.JSONPATH: a message's, which
	// $connect and $disconnect do not have.
	WSMessageOnly
)

// wsConnectSources are the route.request prefixes $connect alone gives.
var wsConnectSources = []string{"route.request.header.", "route.request.querystring.",
	"route.request.multivalueheader.", "route.request.multivaluequerystring."}

// ClassifyWSSource says which routes give src a value, and whether src is a
// WebSocket mapping source at all.
func ClassifyWSSource(src string) (WSRouteSource, bool) {
	if ok, known := commonSource(src); known {
		if name, isCtx := strings.CutPrefix(src, "context."); ok && isCtx {
			if a, isAuth := strings.CutPrefix(name, "authorizer."); isAuth {
				return WSAnyRoute, mappingName(a)
			}
			return WSAnyRoute, slices.Contains(WSContextVariables, name)
		}
		return WSAnyRoute, ok
	}
	if path, ok := strings.CutPrefix(src, "route.request.body."); ok {
		_, valid := BodyPath(path)
		return WSMessageOnly, valid
	}
	for _, p := range wsConnectSources {
		if name, ok := strings.CutPrefix(src, p); ok {
			return WSConnectOnly, mappingName(name)
		}
	}
	return WSAnyRoute, false
}

// BodyPath returns the JSONPath of a body source (route.request.body.JSONPATH
// on WebSocket APIs; method.request.body.JSONPATH and
// integration.response.body.JSONPATH on REST APIs) without its "$." (API
// Gateway's "a JSONPath expression for a JSON field of the body":
// route.request.body.$.x is route.request.body.x), and
// whether it is one: "$" alone is the whole body, and a path from the root
// other than by ".", which a mapping does not take.
func BodyPath(path string) (string, bool) {
	if rest, ok := strings.CutPrefix(path, "$"); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
		if path, ok = strings.CutPrefix(rest, "."); !ok {
			return "", false
		}
	}
	return path, validBodyPath(path)
}

// WSRequestTarget splits a WebSocket integration's requestParameters key
// into where it maps to ("header" or "querystring") and the name; ok is
// false for any other key.
func WSRequestTarget(key string) (where, name string, ok bool) {
	if n, found := strings.CutPrefix(key, "integration.request.header."); found && mappingName(n) {
		return "header", n, true
	}
	if n, found := strings.CutPrefix(key, "integration.request.querystring."); found && mappingName(n) {
		return "querystring", n, true
	}
	return "", "", false
}

// validateWSMappings checks a WebSocket integration's requestParameters. Only
// HTTP and HTTP_PROXY integrations send the backend a request to map them
// into: an AWS_PROXY's function gets the whole event (API Gateway's data
// mapping is for the request to a backend), a MOCK has no backend.
func (in *Integration) validateWSMappings() []error {
	if len(in.RequestParameters) == 0 {
		return nil
	}
	switch in.Type {
	case IntegrationHTTP, IntegrationHTTPProxy:
	case IntegrationAWSProxy:
		return []error{invalid("requestParameters are not taken on WebSocket AWS_PROXY integrations (the function gets the whole event, with the connection id in requestContext.connectionId); remove them")}
	case IntegrationAWS:
		// Declared but not applied, so refused, as on REST APIs: Portico
		// invokes the function itself, synchronously, so there is no Lambda
		// request whose headers (X-Amz-Invocation-Type, ...) a mapping sets.
		return []error{invalid("requestParameters are not applied on WebSocket AWS (Lambda) integrations: Portico invokes the function synchronously with the request template's output, so headers such as X-Amz-Invocation-Type cannot be mapped; remove them (pass values to the function through the request template)")}
	default:
		return []error{invalid("requestParameters are not applied on WebSocket %s integrations (there is no backend request to map them into: they apply to HTTP and HTTP_PROXY integrations); remove them", in.Type)}
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(in.RequestParameters)) {
		where, name, ok := WSRequestTarget(k)
		switch {
		case !ok:
			errs = append(errs, invalid("request parameter mapping %q: %s (WebSocket integrations have no path parameters)", truncate(k, 100), wsRequestTargets))
			continue
		case where == "header" && (strings.EqualFold(name, "Content-Length") || strings.EqualFold(name, "Transfer-Encoding")):
			errs = append(errs, invalid("request parameter mapping %q: header %s is reserved and cannot be mapped", truncate(k, 100), truncate(name, 60)))
			continue
		case where == "header" && strings.EqualFold(name, "Host"):
			// Declared but not applied, so refused: the backend's Host is
			// the integration URI's (put the host there, or in a stage
			// variable the URI names), as HTTP APIs refuse mapping it.
			errs = append(errs, invalid("request parameter mapping %q: header Host cannot be mapped: the backend gets the integration URI's host (put the host in integrationUri, or in a stage variable it names)", truncate(k, 100)))
			continue
		}
		if _, ok := ClassifyWSSource(in.RequestParameters[k]); !ok {
			errs = append(errs, invalid("request parameter mapping %q: value %q: %s", truncate(k, 100), truncate(in.RequestParameters[k], 100), wsRequestSources))
		}
		if lit, ok := literalSource(in.RequestParameters[k]); ok && where == "header" && !httpguts.ValidHeaderFieldValue(lit) {
			errs = append(errs, invalid("request parameter mapping %q: the literal %q holds a character no header value may (CR, LF or another control character): every message would fail; remove it", truncate(k, 100), truncate(lit, 100)))
		}
	}
	return errs
}

// validateWSRouteMappings refuses, on a WebSocket route, the mappings of its
// integration that the route gives no value: the upgrade request's headers and
// query string exist on $connect only, a message body on message routes only.
func (r *Route) validateWSRouteMappings() []error {
	if t := r.Integration.Type; t != IntegrationHTTP && t != IntegrationHTTPProxy {
		return nil // validateWSMappings refuses them whole
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(r.Integration.RequestParameters)) {
		v := r.Integration.RequestParameters[k]
		switch kind, _ := ClassifyWSSource(v); {
		case kind == WSConnectOnly && r.RouteKey != RouteConnect:
			errs = append(errs, invalid("route %q: request parameter mapping %q: %s is read on $connect only (the upgrade request's headers and query string); a message or $disconnect has none", truncate(r.RouteKey, 200), truncate(k, 100), truncate(v, 100)))
		case kind == WSMessageOnly && (r.RouteKey == RouteConnect || r.RouteKey == RouteDisconnect):
			errs = append(errs, invalid("route %q: request parameter mapping %q: %s reads a message body, which %s has not", truncate(r.RouteKey, 200), truncate(k, 100), truncate(v, 100), r.RouteKey))
		}
	}
	return errs
}

// What a WebSocket integration response's templateSelectionExpression
// selects its response template by (WSResponseTemplateSelection).
const (
	// WSSelectDefault is \$default: the template keyed $default, else the
	// only one.
	WSSelectDefault = ""
	// WSSelectStatus is ${integration.response.statuscode}: the template
	// keyed as the integration's status code ("404").
	WSSelectStatus = "statuscode"
	// WSSelectHeader is ${integration.response.header.NAME}: the template
	// keyed as the value of the integration response's header NAME.
	WSSelectHeader = "header"
)

// wsResponseSelections says what an integration response's
// templateSelectionExpression may be.
const wsResponseSelections = "use \\$default, ${integration.response.statuscode} or ${integration.response.header.NAME} (the braces may be left out)"

// WSResponseTemplateSelection parses a WebSocket integration response's
// templateSelectionExpression: \$default (or $default, or none), or one
// variable, $integration.response.statuscode or
// $integration.response.header.NAME, braced or not. kind is one of the
// WSSelect constants; name is the header's. The other forms API Gateway
// lists (${request.body.*}, multivalueheader, static text) are refused
// rather than selected wrongly.
func WSResponseTemplateSelection(e string) (kind, name string, ok bool) {
	if e == "" || e == RouteDefault || e == `\$default` {
		return WSSelectDefault, "", true
	}
	v, braced := strings.CutPrefix(e, "${")
	if braced {
		var closed bool
		if v, closed = strings.CutSuffix(v, "}"); !closed {
			return "", "", false
		}
	} else if v, ok = strings.CutPrefix(e, "$"); !ok {
		return "", "", false
	}
	if v == "integration.response.statuscode" {
		return WSSelectStatus, "", true
	}
	if n, found := strings.CutPrefix(v, "integration.response.header."); found && mappingName(n) {
		return WSSelectHeader, n, true
	}
	return "", "", false
}

// validateWSRouteParameters checks a WebSocket route's requestParameters
// (route.request.header|querystring.NAME). The gateway checks a required one
// on $connect, refusing a handshake without it (MissingWSParameters); no
// other route has the upgrade request's headers and query string to check,
// so a required parameter there would be declared and never enforced, and is
// refused.
func (r *Route) validateWSRouteParameters() []error {
	var errs []error
	for _, p := range r.Parameters {
		switch {
		case p.In != "header" && p.In != "query":
			errs = append(errs, invalid("route %q: request parameter %q: a WebSocket route's parameters are route.request.header.NAME or route.request.querystring.NAME", truncate(r.RouteKey, 200), truncate(p.Name, 100)))
		case p.Required && r.RouteKey != RouteConnect:
			errs = append(errs, invalid("route %q: request parameter %s is required, but only $connect has the upgrade request's headers and query string to check it on: declare it on $connect, or make it not required", truncate(r.RouteKey, 200), wsParamKey(p)))
		}
	}
	return errs
}

// wsParamKey is a WebSocket route parameter's name in apigatewayv2's
// requestParameters (route.request.querystring.token).
func wsParamKey(p Parameter) string {
	in := p.In
	if in == "query" {
		in = "querystring"
	}
	return "route.request." + in + "." + p.Name
}

// MissingWSParameters returns the names of the route's required parameters
// that an upgrade request's header and query lack or leave blank, as REST
// APIs' request validation has it (the last of a repeated one counts).
func (r *Route) MissingWSParameters(header func(string) []string, query map[string][]string) []string {
	var missing []string
	for _, p := range r.Parameters {
		if !p.Required {
			continue
		}
		var vs []string
		if p.In == "header" {
			vs = header(p.Name)
		} else {
			vs = query[p.Name]
		}
		if len(vs) == 0 || strings.TrimSpace(vs[len(vs)-1]) == "" {
			missing = append(missing, p.Name)
		}
	}
	return missing
}

// literalSource returns a 'literal' mapping source's text.
func literalSource(v string) (string, bool) {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1], true
	}
	return "", false
}
