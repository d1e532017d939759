package mapping

import (
	"sort"
	"strconv"
	"strings"
)

// Vars is what one request exposes to a template: $input (from Body and the
// parameters), $context and $stageVariables. Fill it per request; a Vars is
// not safe for concurrent use, and rendering may change Context (the
// override maps). Each render decodes the body it reads as JSON afresh, as
// API Gateway gives each template its own copy.
type Vars struct {
	// Body is the request (or integration response) payload.
	Body []byte
	// PathParams, QueryParams and Headers are the method request's
	// parameters, for $input.params().
	PathParams  map[string]string
	QueryParams map[string]string
	Headers     map[string]string
	// Context is $context; build it with NewContext. Nil means an empty one.
	Context *Map
	// StageVariables is $stageVariables.
	StageVariables map[string]string

	// predecoded, when set, is the body already decoded: a benchmark's way
	// to measure the template alone.
	predecoded any
	params     *Map
	stage      *Map
}

// NewContext returns an empty $context map with the writable override maps
// API Gateway provides: requestOverride.{header,querystring,path} and
// responseOverride.header (responseOverride.status is set by templates).
// Fill the rest with SetPath: ctx.SetPath("identity.sourceIp", ip).
func NewContext() *Map {
	// One allocation: NewContext runs once per request.
	c := &contextMaps{}
	for i := range c.parts {
		c.parts[i].kind = contextPart
	}
	c.vals = [...]any{&c.parts[0], &c.parts[1], &c.parts[2], &c.parts[3]}
	c.ro = Map{kind: contextPart, keys: requestOverrideKeys, vals: c.vals[0:3:3]}
	c.rs = Map{kind: contextPart, keys: responseOverrideKeys, vals: c.vals[3:4:4]}
	c.rootKeys[0], c.rootVals[0] = "requestOverride", &c.ro
	c.rootKeys[1], c.rootVals[1] = "responseOverride", &c.rs
	c.root = Map{kind: contextRoot, keys: c.rootKeys[:2], vals: c.rootVals[:2]}
	return &c.root
}

// contextMaps are the maps NewContext builds, in one allocation.
type contextMaps struct {
	root, ro, rs Map
	parts        [4]Map
	vals         [4]any
	rootKeys     [contextKeys]string
	rootVals     [contextKeys]any
}

// contextKeys is how many keys $context holds before its slices grow.
const contextKeys = 24

// The override maps' keys; a map never writes its keys in place (Set
// appends to a full slice, which copies, and Delete copies).
var (
	requestOverrideKeys  = []string{"header", "querystring", "path"}
	responseOverrideKeys = []string{"header"}
)

func (v *Vars) context() *Map {
	if v.Context == nil {
		v.Context = NewContext()
	}
	return v.Context
}

func sortedMap(src map[string]string) *Map {
	m := &Map{}
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.Set(k, src[k])
	}
	return m
}

func (v *Vars) stageMap() *Map {
	if v.stage == nil {
		v.stage = sortedMap(v.StageVariables)
	}
	return v.stage
}

// paramsMap is $input.params(): {path={...}, querystring={...}, header={...}},
// each with its names in sorted order.
func (v *Vars) paramsMap() *Map {
	if v.params == nil {
		m := &Map{}
		m.Set("path", sortedMap(v.PathParams))
		m.Set("querystring", sortedMap(v.QueryParams))
		m.Set("header", sortedMap(v.Headers))
		v.params = m
	}
	return v.params
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
	if s, ok := v.Headers[name]; ok {
		return s
	}
	for k, s := range v.Headers {
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
// $context.responseOverride: the method response's status (0 when not set
// or not a number) and headers.
func (v *Vars) ResponseOverride() (status int, headers map[string]string) {
	if v.Context != nil {
		if s, ok := v.Context.GetPath("responseOverride.status"); ok {
			switch x := s.(type) {
			case int64:
				status = int(x)
			case float64:
				status = int(x)
			case string:
				status, _ = strconv.Atoi(strings.TrimSpace(x))
			}
		}
	}
	return status, stringMap(v.overrideMap("responseOverride.header"))
}
