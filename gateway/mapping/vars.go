package mapping

import (
	"slices"
	"strings"
)

// Vars is what one request exposes to a template: $input (from Body and the
// parameters), $context and $stageVariables. Fill it per request; a Vars is
// not safe for concurrent use, and rendering may change Context (the
// override maps). Each render decodes the body it reads as JSON afresh, as
// API Gateway gives each template its own copy, and builds its own
// $input.params() and $stageVariables maps from the fields below.
type Vars struct {
	// Body is the request (or integration response) payload.
	Body []byte
	// PathParams, QueryParams and Headers are the method request's
	// parameters, for $input.params().
	PathParams  map[string]string
	QueryParams map[string]string
	Headers     map[string]string
	// HeadersBuilder, when set and Headers is nil, builds Headers when a
	// template first reads them ($input.params().header, or
	// $input.params(name) for a name that is no path or query string
	// parameter): a request whose templates never read a header never
	// builds them.
	HeadersBuilder HeadersBuilder
	// Context is $context; build it with NewContext. When it is nil, the
	// first render of a template that names $context sets it from
	// ContextBuilder (an empty one without): a request whose templates
	// never read $context never builds it.
	Context *Map
	// ContextBuilder, when set, builds $context on first use (see Context).
	ContextBuilder ContextBuilder
	// StageVariables is $stageVariables.
	StageVariables map[string]string

	// predecoded, when set, is the body already decoded: a benchmark's way
	// to measure the template alone.
	predecoded any
}

// ContextBuilder builds a request's $context (with NewContext or
// NewContextSize) when a template first reads it.
type ContextBuilder interface {
	BuildContext() *Map
}

// HeadersBuilder builds a request's headers, as $input.params() names them,
// when a template first reads them.
type HeadersBuilder interface {
	BuildHeaders() map[string]string
}

// headers returns Headers, built first from HeadersBuilder when nil.
func (v *Vars) headers() map[string]string {
	if v.Headers == nil && v.HeadersBuilder != nil {
		v.Headers = v.HeadersBuilder.BuildHeaders()
		v.HeadersBuilder = nil // built once, even when there are none
	}
	return v.Headers
}

// ContextMap returns $context: Context, built first from ContextBuilder
// (or empty) when nil.
func (v *Vars) ContextMap() *Map { return v.context() }

// NewContext returns an empty $context map with the writable override maps
// API Gateway provides: requestOverride.{header,querystring,path} and
// responseOverride.header (responseOverride.status is set by templates).
// Fill the rest with SetPath: ctx.SetPath("identity.sourceIp", ip). It has
// room for a few keys before its slices grow; NewContextSize makes room for
// more.
func NewContext() *Map {
	// One allocation: NewContext runs once per request.
	c := &smallContext{}
	return c.init(c.keys[:], c.vals[:])
}

// NewContextSize is NewContext with room for n keys besides the override
// maps, in the same one allocation when n is at most the number of keys
// API Gateway's own $context has.
func NewContextSize(n int) *Map {
	if n <= len(smallContext{}.keys)-2 {
		return NewContext()
	}
	if n <= len(fullContext{}.keys)-2 {
		c := &fullContext{}
		return c.init(c.keys[:], c.vals[:])
	}
	c := &contextMaps{}
	return c.init(make([]string, n+2), make([]any, n+2))
}

// contextMaps are the maps NewContext builds.
type contextMaps struct {
	root, ro, rs Map
	parts        [4]Map
	vals         [4]any
}

// smallContext and fullContext are contextMaps and the root's keys and
// values, in one allocation.
type smallContext struct {
	contextMaps
	keys [8]string
	vals [8]any
}

type fullContext struct {
	contextMaps
	keys [24]string
	vals [24]any
}

// init links the maps; rootKeys and rootVals (at least two long) are the
// root's storage.
func (c *contextMaps) init(rootKeys []string, rootVals []any) *Map {
	for i := range c.parts {
		c.parts[i].kind = contextPart
	}
	c.vals = [...]any{&c.parts[0], &c.parts[1], &c.parts[2], &c.parts[3]}
	c.ro = Map{kind: contextPart, keys: requestOverrideKeys, vals: c.vals[0:3:3]}
	c.rs = Map{kind: contextPart, keys: responseOverrideKeys, vals: c.vals[3:4:4]}
	rootKeys[0], rootVals[0] = "requestOverride", &c.ro
	rootKeys[1], rootVals[1] = "responseOverride", &c.rs
	c.root = Map{kind: contextRoot, keys: rootKeys[:2], vals: rootVals[:2]}
	return &c.root
}

// The override maps' keys; a map never writes its keys in place (Set
// appends to a full slice, which copies, and Delete copies).
var (
	requestOverrideKeys  = []string{"header", "querystring", "path"}
	responseOverrideKeys = []string{"header"}
)

func (v *Vars) context() *Map {
	if v.Context == nil {
		if v.ContextBuilder != nil {
			v.Context = v.ContextBuilder.BuildContext()
		}
		if v.Context == nil {
			v.Context = NewContext()
		}
	}
	return v.Context
}

// sortedMap returns a map of src's pairs, keys in sorted order, cut from
// the slabs (so reused by the next render unless escaped): a request's
// parameters are read once, so no index is built for them.
func (s *slabs) sortedMap(src map[string]string) *Map {
	m := s.newMap()
	n := len(src)
	if n == 0 {
		return m
	}
	s.keys = slab(s.keys, n, slabSize)
	s.strs = slab(s.strs, n, smallSlab)
	s.vals = slab(s.vals, n, slabSize)
	k0, s0, v0 := len(s.keys), len(s.strs), len(s.vals)
	for k := range src {
		s.keys = append(s.keys, k)
	}
	keys := s.keys[k0 : k0+n : k0+n] // no spare capacity: a put appends to a copy
	slices.Sort(keys)
	s.vals = s.vals[:v0+n]
	vals := s.vals[v0 : v0+n : v0+n]
	for i, k := range keys {
		s.strs = append(s.strs, src[k])
		vals[i] = boxString(&s.strs[s0+i]) // not written again in this render
	}
	m.keys, m.vals = keys, vals
	return m
}

// paramsMap is $input.params(): {path={...}, querystring={...}, header={...}},
// each with its names in sorted order, cut from the slabs.
func (s *slabs) paramsMap(v *Vars) *Map {
	path, query, header := s.sortedMap(v.paramsOf(0)), s.sortedMap(v.paramsOf(1)), s.sortedMap(v.paramsOf(2))
	s.vals = slab(s.vals, 3, slabSize)
	n := len(s.vals)
	s.vals = append(s.vals, path, query, header)
	m := s.newMap()
	m.keys, m.vals = paramsKeys, s.vals[n:n+3:n+3]
	return m
}

// paramsKeys are $input.params()'s keys; never written (a put appends to a
// copy, as the capacity is full).
var paramsKeys = []string{"path", "querystring", "header"}

// paramsPart is the index of name in paramsKeys, -1 when it is not one.
func paramsPart(name string) int {
	for i, k := range paramsKeys {
		if k == name {
			return i
		}
	}
	return -1
}

// paramsOf returns the parameters of $input.params()'s map named by
// paramsKeys[i].
func (v *Vars) paramsOf(i int) map[string]string {
	switch i {
	case 0:
		return v.PathParams
	case 1:
		return v.QueryParams
	}
	return v.headers()
}

// param is $input.params(name): the path parameter, else the query string
// parameter, else the header (names of headers match case-insensitively);
// "" when none has the name.
func (v *Vars) param(name string) string {
	if s, ok := v.PathParams[name]; ok {
		return s
	}
	if s, ok := v.QueryParams[name]; ok {
		return s
	}
	headers := v.headers()
	if s, ok := headers[name]; ok {
		return s
	}
	for k, s := range headers {
		if strings.EqualFold(k, name) {
			return s
		}
	}
	return ""
}

// bodyString is $input.body; an empty body reads as "{}" as in API Gateway.
func (v *Vars) bodyString() string {
	if len(v.Body) == 0 {
		return "{}"
	}
	return string(v.Body)
}

// jsonBody is the body $input.json and $input.path read: an empty body
// reads as {}.
func (v *Vars) jsonBody() []byte {
	if len(v.Body) == 0 {
		return emptyObject
	}
	return v.Body
}

// emptyObject is what an empty body reads as; never written.
var emptyObject = []byte("{}")

func (v *Vars) overrideMap(path string) *Map {
	if v.Context == nil {
		return nil
	}
	x, _ := v.Context.GetPath(path)
	m, _ := x.(*Map)
	return m
}

func stringMap(m *Map) map[string]string {
	if m == nil || m.Len() == 0 {
		return nil
	}
	out := make(map[string]string, m.Len())
	for i, k := range m.keys {
		if isNull(m.vals[i]) {
			continue
		}
		out[k] = plainString(m.vals[i])
	}
	return out
}

// RequestOverride returns what the template set in
// $context.requestOverride: the integration request's headers, query string
// parameters and path parameters to override (nil maps when none).
func (v *Vars) RequestOverride() (headers, query, path map[string]string) {
	return stringMap(v.overrideMap("requestOverride.header")),
		stringMap(v.overrideMap("requestOverride.querystring")),
		stringMap(v.overrideMap("requestOverride.path"))
}

// ResponseOverride returns what the template set in
// $context.responseOverride: the method response's status (0 when not set;
// the render refuses a value that is not a status) and headers.
func (v *Vars) ResponseOverride() (status int, headers map[string]string) {
	if v.Context != nil {
		if s, ok := v.Context.GetPath("responseOverride.status"); ok {
			status, _ = overrideStatus(s)
		}
	}
	return status, stringMap(v.overrideMap("responseOverride.header"))
}

// sortedMap is slabs.sortedMap on the heap, for values set from Go.
func sortedMap(src map[string]string) *Map {
	n := len(src)
	s := slabs{maps: make([]Map, 0, 1), keys: make([]string, 0, n), strs: make([]string, 0, n), vals: make([]any, 0, n)}
	return s.sortedMap(src)
}
