package apis

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compiledModels keeps the last successful CompileModels results, so that a
// change to an API that leaves its models alone (a description, a stage)
// does not compile them again.
var compiledModels = &modelCache{max: 64}

// modelCache maps a modelsKey to compiled models; it is safe for concurrent
// use. Past max entries it forgets an arbitrary one.
type modelCache struct {
	mu  sync.Mutex
	max int
	m   map[[sha256.Size]byte]map[string]*jsonschema.Schema
}

func (c *modelCache) get(k [sha256.Size]byte) (map[string]*jsonschema.Schema, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out, ok := c.m[k]
	return out, ok
}

func (c *modelCache) put(k [sha256.Size]byte, v map[string]*jsonschema.Schema) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[[sha256.Size]byte]map[string]*jsonschema.Schema{}
	}
	for old := range c.m {
		if len(c.m) < c.max {
			break
		}
		delete(c.m, old)
	}
	c.m[k] = v
}

// modelsKey is the digest of an API's id and its models, names and schemas.
func modelsKey(apiID string, models map[string]json.RawMessage) [sha256.Size]byte {
	h := sha256.New()
	field := func(b []byte) {
		_ = binary.Write(h, binary.BigEndian, uint64(len(b)))
		h.Write(b)
	}
	field([]byte(apiID))
	for _, name := range sortedKeys(models) {
		field([]byte(name))
		field(models[name])
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// sortedKeys returns the names of models in order.
func sortedKeys(models map[string]json.RawMessage) []string {
	names := make([]string, 0, len(models))
	for name := range models {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// checkMetaschema refuses a model whose $schema is not one of the JSON Schema
// drafts the compiler knows (a model never loads a metaschema from elsewhere),
// naming the model: compiled together, the failure to load it would be blamed
// on whichever model was compiled first.
func checkMetaschema(name string, doc any) error {
	m, ok := doc.(map[string]any)
	if !ok {
		return nil
	}
	v, ok := m["$schema"]
	if !ok {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return invalid("model %q: $schema must be a string", name)
	}
	u := strings.TrimSuffix(s, "#")
	if rest, ok := strings.CutPrefix(u, "http://"); ok {
		u = rest
	} else {
		u = strings.TrimPrefix(u, "https://")
	}
	switch u {
	case "json-schema.org/draft-04/schema", "json-schema.org/draft-06/schema", "json-schema.org/draft-07/schema",
		"json-schema.org/draft/2019-09/schema", "json-schema.org/draft/2020-12/schema", "json-schema.org/schema":
		return nil
	}
	return invalid("model %q: $schema %q is not a JSON Schema draft's; models are JSON Schema draft 4: use http://json-schema.org/draft-04/schema#", name, truncate(s, 200))
}

// refCycles refuses a model of root (the models' resource CompileModels
// builds, with every model reference made #/definitions/...) holding a $ref that leads
// only to $refs, back to itself: such a schema matches no value, so every
// body checked against it would be refused. A recursive schema with
// structure (A's property b is B, B's property a is A) is no such cycle.
func refCycles(root map[string]any, names []string) error {
	schemas, _ := root["definitions"].(map[string]any)
	done := map[string]bool{} // $refs known to end at a schema
	var walk func(name, at string, v any) error
	walk = func(name, at string, v any) error {
		switch t := v.(type) {
		case map[string]any:
			if ref, ok := t["$ref"].(string); ok {
				if err := followRefs(root, name, at, ref, done); err != nil {
					return err
				}
			}
			for _, e := range t {
				if err := walk(name, "", e); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range t {
				if err := walk(name, "", e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, name := range names {
		if err := walk(name, "#/definitions/"+escapePointer(name), schemas[name]); err != nil {
			return err
		}
	}
	return nil
}

// followRefs follows ref, in model name (at is the model's own pointer when
// ref is its root's), through schemas that are only a $ref, and refuses a
// chain that comes back to a schema it has passed.
func followRefs(root map[string]any, name, at, ref string, done map[string]bool) error {
	var chain []string
	seen := map[string]bool{}
	if at != "" {
		chain, seen[at] = []string{at}, true
	}
	for strings.HasPrefix(ref, "#") && !done[ref] {
		if seen[ref] {
			chain = append(chain[slices.Index(chain, ref):], ref)
			for i := range chain {
				chain[i] = refLabel(chain[i])
			}
			return invalid("model %q: $ref cycle %s never reaches a schema, so the model would refuse every body; a model that refers to itself needs structure (a property or items that refer back)", name, truncate(strings.Join(chain, " -> "), 500))
		}
		seen[ref] = true
		chain = append(chain, ref)
		target, ok := resolvePointer(root, strings.TrimPrefix(ref, "#"))
		if !ok {
			break // the compiler names a $ref that does not resolve
		}
		m, ok := target.(map[string]any)
		if !ok {
			break
		}
		next, ok := m["$ref"].(string)
		if !ok {
			break
		}
		ref = next
	}
	for _, r := range chain {
		done[r] = true
	}
	return nil
}

// sameValueCycles refuses a model of root (as refCycles reads it) in which a
// schema comes back to itself through keywords that check the same value as
// the schema they are in ($ref, allOf, anyOf, oneOf, not) with no property or
// item between: A is {"allOf": [{"$ref": ".../A"}]}, or A is anyOf B and B
// oneOf A. Checking a value against such a schema never ends (the validator
// stops it and refuses the body), so every body would be refused, as with a
// bare $ref cycle (refCycles, which names those first).
func sameValueCycles(root map[string]any, names []string) error {
	const (
		visiting = 1
		finished = 2
	)
	state := map[string]int{}
	var stack []string
	// visit follows the same-value keywords of the schema at pointer ptr
	// (a "#..." reference) and returns the cycle it finds, if any.
	var visit func(ptr string) []string
	visit = func(ptr string) []string {
		switch state[ptr] {
		case finished:
			return nil
		case visiting:
			return append(slices.Clone(stack[slices.Index(stack, ptr):]), ptr)
		}
		v, ok := resolvePointer(root, strings.TrimPrefix(ptr, "#"))
		m, isMap := v.(map[string]any)
		if !ok || !isMap {
			state[ptr] = finished
			return nil
		}
		state[ptr] = visiting
		stack = append(stack, ptr)
		defer func() { stack = stack[:len(stack)-1]; state[ptr] = finished }()
		if ref, ok := m["$ref"].(string); ok {
			// Draft 4: a $ref's siblings are not read.
			if strings.HasPrefix(ref, "#") {
				return visit(ref)
			}
			return nil
		}
		for _, k := range []string{"allOf", "anyOf", "oneOf"} {
			list, _ := m[k].([]any)
			for i := range list {
				if c := visit(ptr + "/" + k + "/" + strconv.Itoa(i)); c != nil {
					return c
				}
			}
		}
		if _, ok := m["not"].(map[string]any); ok {
			return visit(ptr + "/not")
		}
		return nil
	}
	// Every schema of a model (its root, properties, items, ...) is a start;
	// values that are data, not schemas, are not walked.
	var walk func(ptr string, v any) []string
	walk = func(ptr string, v any) []string {
		switch t := v.(type) {
		case map[string]any:
			if c := visit(ptr); c != nil {
				return c
			}
			for _, k := range slices.Sorted(maps.Keys(t)) {
				switch k {
				case "enum", "default", "example", "examples", "const":
					continue
				}
				if c := walk(ptr+"/"+escapePointer(k), t[k]); c != nil {
					return c
				}
			}
		case []any:
			for i, e := range t {
				if c := walk(ptr+"/"+strconv.Itoa(i), e); c != nil {
					return c
				}
			}
		}
		return nil
	}
	schemas, _ := root["definitions"].(map[string]any)
	for _, name := range names {
		cycle := walk("#/definitions/"+escapePointer(name), schemas[name])
		if cycle == nil {
			continue
		}
		for i := range cycle {
			cycle[i] = pointerLabel(cycle[i])
		}
		return invalid("model %q: $ref cycle %s never reaches a schema (allOf, anyOf, oneOf and not check the same value as the schema they are in), so the model would refuse every body; a model that refers to itself needs structure (a property or items that refer back)", name, truncate(strings.Join(cycle, " -> "), 500))
	}
	return nil
}

// pointerLabel is how a schema is named in a cycle: the model, then where in
// it (A/allOf/0).
func pointerLabel(ref string) string {
	rest, ok := strings.CutPrefix(ref, "#/definitions/")
	if !ok {
		return ref
	}
	model, at, _ := strings.Cut(rest, "/")
	if at == "" {
		return unescapePointer(model)
	}
	return unescapePointer(model) + "/" + at
}

// refLabel is how a $ref is named in a cycle: the model for a whole model's
// reference, else the reference.
func refLabel(ref string) string {
	for _, prefix := range []string{"#/definitions/", "#/components/schemas/"} {
		if rest, ok := strings.CutPrefix(ref, prefix); ok && !strings.Contains(rest, "/") {
			return unescapePointer(rest)
		}
	}
	return ref
}

// resolvePointer returns the value of doc at JSON pointer ptr.
func resolvePointer(doc any, ptr string) (any, bool) {
	if ptr == "" {
		return doc, true
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, false
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = unescapePointer(tok)
		switch t := doc.(type) {
		case map[string]any:
			v, ok := t[tok]
			if !ok {
				return nil, false
			}
			doc = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(t) {
				return nil, false
			}
			doc = t[i]
		default:
			return nil, false
		}
	}
	return doc, true
}

// unescapePointer undoes escapePointer.
func unescapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// MaxModelChecks bounds how many schemas a model may check one value of a
// body against: a model's $refs, allOf, anyOf, oneOf and not each check the
// same value again, so a few kilobytes of models that refer to each other
// several times a level (M2 is ten $refs to M1, M1 ten to M0, ...) check a
// one-field body against 10^depth schemas, seconds of CPU and gigabytes per
// request. Real models stay far below: an allOf of a few parents, a oneOf of
// some dozen variants.
const MaxModelChecks = 1000

// sameValueKeys are the keywords whose schemas check the value their schema
// checks (besides $ref); childValueKeys those whose schemas check the
// value's properties or items.
var (
	sameValueKeys  = []string{"allOf", "anyOf", "oneOf", "not", "dependencies", "dependentSchemas", "if", "then", "else"}
	childValueKeys = []string{"properties", "patternProperties", "additionalProperties", "items", "additionalItems",
		"prefixItems", "contains", "propertyNames", "unevaluatedProperties", "unevaluatedItems"}
)

// modelChecks refuses a model of root (as refCycles reads it) that would
// check some value of a body against more than MaxModelChecks schemas. It
// counts without expanding: each schema's counts are computed once, from its
// subschemas' (a schema that a model refers to ten times is counted once and
// its count used ten times), so its time is linear in the models' size. A
// reference back to a schema being counted (a recursive model) counts as one.
func modelChecks(root map[string]any, names []string) error {
	type counts struct{ same, below uint64 } // schemas checked against the value itself; most against one value below it
	const limit = MaxModelChecks + 1
	add := func(a, b uint64) uint64 { return min(a+b, limit) } // saturated: the counts of a bomb overflow
	memo := map[string]counts{}
	onStack := map[string]bool{}
	var count func(ptr string) counts
	count = func(ptr string) counts {
		if c, ok := memo[ptr]; ok {
			return c
		}
		if onStack[ptr] {
			return counts{same: 1}
		}
		v, _ := resolvePointer(root, strings.TrimPrefix(ptr, "#"))
		m, ok := v.(map[string]any)
		if !ok {
			return counts{same: 1}
		}
		onStack[ptr] = true
		defer delete(onStack, ptr)
		c := counts{same: 1}
		sub := func(p string) {
			s := count(p)
			c.same, c.below = add(c.same, s.same), add(c.below, s.below)
		}
		if ref, ok := m["$ref"].(string); ok && strings.HasPrefix(ref, "#") {
			sub(ref)
		}
		each := func(key string, f func(p string)) {
			switch t := m[key].(type) {
			case map[string]any:
				if key == "properties" || key == "patternProperties" || key == "dependencies" || key == "dependentSchemas" {
					for _, k := range slices.Sorted(maps.Keys(t)) {
						if _, ok := t[k].(map[string]any); ok {
							f(ptr + "/" + key + "/" + escapePointer(k))
						}
					}
					return
				}
				f(ptr + "/" + key)
			case []any:
				for i, e := range t {
					if _, ok := e.(map[string]any); ok {
						f(ptr + "/" + key + "/" + strconv.Itoa(i))
					}
				}
			}
		}
		for _, k := range sameValueKeys {
			each(k, sub)
		}
		// A value below is checked against its own property's (or item's)
		// schemas: the most of any one of them.
		for _, k := range childValueKeys {
			each(k, func(p string) {
				s := count(p)
				c.below = max(c.below, s.same, s.below)
			})
		}
		memo[ptr] = c
		return c
	}
	for _, name := range names {
		c := count("#/definitions/" + escapePointer(name))
		if n := max(c.same, c.below); n > MaxModelChecks {
			return invalid("model %q checks a value of the body against more than %d schemas ($ref, allOf, anyOf, oneOf and not each check it again, and a model it refers to several times is checked as many times); at most %d are allowed: refer to each model once per allOf, or flatten the models", name, MaxModelChecks, MaxModelChecks)
		}
	}
	return nil
}
