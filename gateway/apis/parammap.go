package apis

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/gateway/mapping"
)

// HTTP API parameter mapping: an integration's requestParameters
// ("overwrite:header.X": "$request.querystring.y") and responseParameters by
// status code ("404": {"overwrite:statuscode": "204"}), as API Gateway's HTTP
// APIs write them.

// Parameter mapping actions.
const (
	MapAppend    = "append"
	MapOverwrite = "overwrite"
	MapRemove    = "remove"
)

// Parameter mapping targets.
const (
	MapHeader      = "header"
	MapQueryString = "querystring"
	MapPath        = "path"
	MapStatusCode  = "statuscode"
)

// Parameter mapping value sources.
const (
	SourceRequestHeader  = "request.header"
	SourceRequestQuery   = "request.querystring"
	SourceRequestBody    = "request.body"
	SourceRequestPath    = "request.path"
	SourceContext        = "context"
	SourceStageVariables = "stageVariables"
	SourceResponseHeader = "response.header"
	SourceResponseBody   = "response.body"
)

// ParameterMapping is one parsed entry of an HTTP API integration's
// requestParameters or responseParameters.
type ParameterMapping struct {
	// Action is append, overwrite or remove.
	Action string
	// Target is header, querystring, path or statuscode.
	Target string
	// Name is the header or query string name (empty for path and statuscode).
	Name string
	// Value is the value's parts, concatenated when evaluated.
	Value []MappingPart
}

// MappingPart is a literal text or one reference of a mapping value.
type MappingPart struct {
	Literal string
	// Source is one of the Source* constants; empty for a literal.
	Source string
	// Name is the header, query string, path parameter, context or stage
	// variable name; empty for the whole body or path.
	Name string
	// Path selects in a JSON body ($request.body.a.b is "$.a.b").
	Path *mapping.JSONPath
}

// HasRefs reports whether the value refers to request or response data.
func (m *ParameterMapping) HasRefs() bool {
	for _, p := range m.Value {
		if p.Source != "" {
			return true
		}
	}
	return false
}

// reservedHeaders cannot be mapped (API Gateway's reserved headers for HTTP
// APIs); names ending in '-' are prefixes.
var reservedHeaders = []string{"access-control-", "apigw-", "authorization", "connection", "content-encoding",
	"content-length", "content-location", "forwarded", "keep-alive", "origin", "proxy-authenticate",
	"proxy-authorization", "te", "trailers", "transfer-encoding", "upgrade", "x-amz-", "x-amzn-",
	"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "via", "host"}

// IsReservedHeader reports whether an HTTP API mapping may not set or remove
// the header.
func IsReservedHeader(name string) bool {
	n := strings.ToLower(name)
	for _, r := range reservedHeaders {
		if strings.HasSuffix(r, "-") && strings.HasPrefix(n, r) || n == r {
			return true
		}
	}
	return false
}

// ParseParameterMapping parses one HTTP API mapping entry; response says it is
// a responseParameters entry (statuscode and $response.* allowed, path and
// $request.* not).
func ParseParameterMapping(key, value string, response bool) (ParameterMapping, error) {
	var m ParameterMapping
	action, target, ok := strings.Cut(key, ":")
	if !ok {
		return m, invalid("parameter mapping %q must be action:target (append|overwrite|remove:header.NAME, ...)", truncate(key, 100))
	}
	m.Action = action
	switch action {
	case MapAppend, MapOverwrite, MapRemove:
	default:
		return m, invalid("parameter mapping %q: action %q must be append, overwrite or remove", truncate(key, 100), truncate(action, 20))
	}
	switch {
	case strings.HasPrefix(target, "header."):
		m.Target, m.Name = MapHeader, target[len("header."):]
		if m.Name == "" || strings.ContainsAny(m.Name, " :\r\n") {
			return m, invalid("parameter mapping %q: bad header name", truncate(key, 100))
		}
		if IsReservedHeader(m.Name) {
			return m, invalid("parameter mapping %q: header %s is reserved and cannot be mapped", truncate(key, 100), truncate(m.Name, 60))
		}
	case strings.HasPrefix(target, "querystring.") && !response:
		m.Target, m.Name = MapQueryString, target[len("querystring."):]
		if m.Name == "" {
			return m, invalid("parameter mapping %q: no query string name", truncate(key, 100))
		}
	case target == "path" && !response:
		m.Target = MapPath
		if action != MapOverwrite {
			return m, invalid("parameter mapping %q: the path can only be overwritten", truncate(key, 100))
		}
	case target == "statuscode" && response:
		m.Target = MapStatusCode
		if action != MapOverwrite {
			return m, invalid("parameter mapping %q: the status code can only be overwritten", truncate(key, 100))
		}
	default:
		if response {
			return m, invalid("response parameter mapping %q must target header.NAME or statuscode", truncate(key, 100))
		}
		return m, invalid("request parameter mapping %q must target header.NAME, querystring.NAME or path", truncate(key, 100))
	}
	if action == MapRemove {
		return m, nil
	}
	parts, err := parseMappingValue(value, response)
	if err != nil {
		return m, fmt.Errorf("parameter mapping %q: %w", truncate(key, 100), err)
	}
	m.Value = parts
	if m.Target == MapStatusCode && !m.HasRefs() {
		if n, err := strconv.Atoi(value); err != nil || n < 200 || n > 599 {
			return m, invalid("parameter mapping %q: %q is not a status code from 200 to 599", truncate(key, 100), truncate(value, 20))
		}
	}
	return m, nil
}

// parseMappingValue parses a mapping value: text with references, each
// ${SOURCE.NAME} or $SOURCE.NAME. As in API Gateway's selection expressions,
// braces set where a reference ends; an unbraced one runs to the end of the
// value ("/$request.path.proxy", "pre-$request.header.x-src"), and is refused
// when what would be its name holds a character no name has ("/", "$", a
// space, ...), with the braced form to write instead. A "$" that starts no
// reference is text.
func parseMappingValue(v string, response bool) ([]MappingPart, error) {
	var parts []MappingPart
	rest := v
	for rest != "" {
		i := nextMappingRef(rest, len(rest) == len(v))
		if i < 0 {
			parts = append(parts, MappingPart{Literal: rest})
			break
		}
		if i > 0 {
			parts = append(parts, MappingPart{Literal: rest[:i]})
		}
		if !strings.HasPrefix(rest[i:], "${") {
			p, err := parseUnbracedRef(v, len(v)-len(rest)+i, response)
			if err != nil {
				return nil, err
			}
			return append(parts, p), nil
		}
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			return nil, invalid("value %q has an unclosed ${", truncate(v, 100))
		}
		p, err := parseMappingRef(rest[i+2:i+end], response)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
		rest = rest[i+end+1:]
	}
	return parts, nil
}

// mappingSources are the starts of the references a "$" in text begins.
var mappingSources = []string{"request.header.", "request.querystring.", "request.body", "request.path",
	"context.", "stageVariables.", "response.header.", "response.body"}

// nextMappingRef is the index in s of the next "${" or "$SOURCE", -1 if none;
// whole says s is the whole value, where any leading "$" is a reference.
func nextMappingRef(s string, whole bool) int {
	if whole && strings.HasPrefix(s, "$") {
		return 0
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		if strings.HasPrefix(s[i+1:], "{") {
			return i
		}
		for _, src := range mappingSources {
			if strings.HasPrefix(s[i+1:], src) {
				return i
			}
		}
	}
	return -1
}

// notInName are the characters that end a name for the braced-form hint, and
// refuse an unbraced reference: none is in a header, query string, path
// parameter, context or stage variable name, and none follows a JSON path.
const notInName = "/${} \t\r\n?#&=,;\"\\"

// parseUnbracedRef parses the unbraced reference at v[at] ("$...") that runs
// to the end of v.
func parseUnbracedRef(v string, at int, response bool) (MappingPart, error) {
	ref := v[at+1:]
	hint := func() error {
		j := strings.IndexAny(ref, notInName)
		if j <= 0 {
			return invalid("value %q: a reference written without braces runs to the end of the value; "+
				"enclose references in braces to put text after them, as in ${request.path.NAME}/more", truncate(v, 100))
		}
		return invalid("value %q: a reference written without braces runs to the end of the value, so $%s is not one; "+
			"enclose it in braces to end it earlier: %s${%s}%s", truncate(v, 100), truncate(ref, 100), truncate(v[:at], 100), ref[:j], truncate(ref[j:], 100))
	}
	known := slices.ContainsFunc(mappingSources, func(src string) bool { return strings.HasPrefix(ref, src) })
	named := !strings.HasPrefix(ref, "request.body") && !strings.HasPrefix(ref, "response.body")
	if known && (named && strings.ContainsAny(ref, notInName) || !named && strings.ContainsAny(ref, "${}/ \t\r\n")) {
		return MappingPart{}, hint()
	}
	p, err := parseMappingRef(ref, response)
	if err != nil && at > 0 {
		return MappingPart{}, fmt.Errorf("%w (a reference written without braces runs to the end of the value: write ${...} to end it earlier)", err)
	}
	return p, err
}

func parseMappingRef(ref string, response bool) (MappingPart, error) {
	bad := func(why string) (MappingPart, error) {
		return MappingPart{}, invalid("value reference $%s %s", truncate(ref, 100), why)
	}
	body := func(source, rest string) (MappingPart, error) {
		p := MappingPart{Source: source}
		if rest == "" {
			return p, nil
		}
		if rest[0] != '.' && rest[0] != '[' {
			return bad("is not a JSON path")
		}
		jp, err := mapping.CompileJSONPath("$" + rest)
		if err != nil {
			return bad(err.Error())
		}
		p.Path = jp
		return p, nil
	}
	named := func(source, name string) (MappingPart, error) {
		if name == "" {
			return bad("names nothing")
		}
		return MappingPart{Source: source, Name: name}, nil
	}
	switch {
	case strings.HasPrefix(ref, "context."):
		name := ref[len("context."):]
		if name != "" && !IsMappingContextVariable(name) {
			return bad("is not a $context variable a parameter mapping can read: use one API Gateway defines for HTTP APIs " +
				"($context.requestId, $context.identity.sourceIp, $context.authorizer.principalId, $context.authorizer.NAME, " +
				"$context.authorizer.claims.NAME, ...)")
		}
		return named(SourceContext, name)
	case strings.HasPrefix(ref, "stageVariables."):
		return named(SourceStageVariables, ref[len("stageVariables."):])
	case response && strings.HasPrefix(ref, "response.header."):
		return named(SourceResponseHeader, ref[len("response.header."):])
	case response && strings.HasPrefix(ref, "response.body"):
		return body(SourceResponseBody, ref[len("response.body"):])
	case !response && strings.HasPrefix(ref, "request.header."):
		return named(SourceRequestHeader, ref[len("request.header."):])
	case !response && strings.HasPrefix(ref, "request.querystring."):
		return named(SourceRequestQuery, ref[len("request.querystring."):])
	case !response && strings.HasPrefix(ref, "request.body"):
		return body(SourceRequestBody, ref[len("request.body"):])
	case !response && ref == "request.path":
		return MappingPart{Source: SourceRequestPath}, nil
	case !response && strings.HasPrefix(ref, "request.path."):
		return named(SourceRequestPath, ref[len("request.path."):])
	}
	if response {
		return bad("must be $response.header.NAME, $response.body[.PATH], $context.NAME or $stageVariables.NAME")
	}
	return bad("must be $request.header.NAME, $request.querystring.NAME, $request.body[.PATH], $request.path[.NAME], $context.NAME or $stageVariables.NAME")
}

// mappingContextVariables are the $context variables an HTTP API parameter
// mapping reads, as the gateway resolves them when a request comes; besides
// these, authorizer.NAME (a Lambda authorizer's context key, or a JWT claim)
// and authorizer.claims.NAME or authorizer.jwt.claims.NAME (a JWT claim,
// top-level only, as API Gateway allows).
var mappingContextVariables = map[string]bool{
	"accountId": true, "apiId": true, "deploymentId": true, "domainName": true, "domainPrefix": true,
	"extendedRequestId": true, "httpMethod": true, "path": true, "protocol": true, "requestId": true,
	"requestTime": true, "requestTimeEpoch": true, "routeKey": true, "stage": true,
	"identity.sourceIp": true, "identity.userAgent": true, "identity.accountId": true, "identity.caller": true,
	"identity.user": true, "identity.userArn": true, "identity.accessKey": true, "identity.principalOrgId": true,
	"identity.cognitoAuthenticationProvider": true, "identity.cognitoAuthenticationType": true,
	"identity.cognitoIdentityId": true, "identity.cognitoIdentityPoolId": true,
	"identity.clientCert.clientCertPem": true, "identity.clientCert.subjectDN": true,
	"identity.clientCert.issuerDN": true, "identity.clientCert.serialNumber": true,
	"identity.clientCert.validity.notBefore": true, "identity.clientCert.validity.notAfter": true,
	"authorizer.principalId": true,
}

// IsMappingContextVariable reports whether an HTTP API parameter mapping may
// read $context.NAME: one the gateway resolves (a name it cannot is refused
// when saved, never skipped when a request comes).
func IsMappingContextVariable(name string) bool {
	if mappingContextVariables[name] {
		return true
	}
	for _, prefix := range []string{"authorizer.jwt.claims.", "authorizer.claims."} {
		if claim, ok := strings.CutPrefix(name, prefix); ok {
			return claim != "" && !strings.Contains(claim, ".")
		}
	}
	key, ok := strings.CutPrefix(name, "authorizer.")
	return ok && key != "" && !strings.Contains(key, ".") && key != "claims" && key != "jwt"
}

// emptyMappingValue is the refusal of a mapping whose value is "": API
// Gateway's validation refuses it ("Mapping expression missing source or
// destination"), and update-integration reads it as "delete this mapping", so
// kept it would be a mapping that seems declared and, for a remove, a header
// the user meant to strip that might still reach the backend or the client.
func emptyMappingValue(key string) error {
	if action, _, _ := strings.Cut(key, ":"); action == MapRemove {
		return invalid("parameter mapping %q has the value \"\": a remove mapping takes the value '' (\"%s\": \"''\"); \"\" deletes a mapping on update-integration", truncate(key, 100), truncate(key, 100))
	}
	return invalid("parameter mapping %q has the value \"\": give a value ($request.header.NAME, a static text, ...); \"\" deletes a mapping on update-integration", truncate(key, 100))
}

// unsupportedBodyPaths refuses the $request.body and $response.body JSON
// paths of mapping k that API Gateway's HTTP APIs do not support: recursive
// descent ($request.body..name) and filter expressions (?(expression)).
// Checked when saved only: a stored deployment's mappings run as before.
func unsupportedBodyPaths(k string, m ParameterMapping) []error {
	var errs []error
	for _, p := range m.Value {
		if (p.Source != SourceRequestBody && p.Source != SourceResponseBody) || p.Path == nil {
			continue
		}
		ref := "$" + p.Source + strings.TrimPrefix(p.Path.String(), "$")
		if p.Path.DeepScan() {
			errs = append(errs, invalid("parameter mapping %q: %s uses recursive descent (..), which HTTP API parameter mappings do not support: "+
				"name each member from the body's root ($%s.a.b)", truncate(k, 100), truncate(ref, 100), p.Source))
		}
		if p.Path.Filtered() {
			errs = append(errs, invalid("parameter mapping %q: %s uses a filter expression (?(...)), which HTTP API parameter mappings do not support: "+
				"select by name or index ($%s.items[0].b)", truncate(k, 100), truncate(ref, 100), p.Source))
		}
	}
	return errs
}

// validateHTTPMappings checks an HTTP API integration's parameter mappings.
// Only what is saved is checked: a stored deployment's mappings compile as
// before (ParseParameterMapping takes a remove's "" value).
func (in *Integration) validateHTTPMappings() []error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(in.RequestParameters)) {
		if in.RequestParameters[k] == "" {
			errs = append(errs, emptyMappingValue(k))
			continue
		}
		m, err := ParseParameterMapping(k, in.RequestParameters[k], false)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if m.Target == MapPath && in.Type == IntegrationAWSProxy {
			errs = append(errs, invalid("parameter mapping %q: a function integration has no path to overwrite", k))
		}
		errs = append(errs, unsupportedBodyPaths(k, m)...)
	}
	for _, code := range slices.Sorted(maps.Keys(in.ResponseParameters)) {
		if n, err := strconv.Atoi(code); err != nil || n < 200 || n > 599 || len(code) != 3 {
			errs = append(errs, invalid("responseParameters key %q must be a status code from 200 to 599", truncate(code, 20)))
		}
		for _, k := range slices.Sorted(maps.Keys(in.ResponseParameters[code])) {
			if in.ResponseParameters[code][k] == "" {
				errs = append(errs, fmt.Errorf("responseParameters %q: %w", truncate(code, 20), emptyMappingValue(k)))
				continue
			}
			m, err := ParseParameterMapping(k, in.ResponseParameters[code][k], true)
			if err != nil {
				errs = append(errs, fmt.Errorf("responseParameters %q: %w", truncate(code, 20), err))
				continue
			}
			for _, err := range unsupportedBodyPaths(k, m) {
				errs = append(errs, fmt.Errorf("responseParameters %q: %w", truncate(code, 20), err))
			}
		}
	}
	return errs
}
