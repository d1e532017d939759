package apis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/portico-dev/portico/gateway/internal/javaregex"
)

// modelsURL is where an API's models live for the JSON Schema compiler, as
// its definitions; their "#/components/schemas/X" and "#/definitions/X"
// references resolve inside it.
const modelsURL = "urn:portico:models"

var modelNameRe = regexp.MustCompile(`^[A-Za-z0-9]{1,128}$`)

// ValidModelName reports whether name may name a model: 1 to 128 letters and
// digits, as API Gateway's create-model and its OpenAPI import both hold
// them.
func ValidModelName(name string) bool { return modelNameRe.MatchString(name) }

// ModelURLPrefix begins the canonical reference API Gateway requires for a
// model: https://apigateway.amazonaws.com/restapis/{restapi_id}/models/{model_name}.
const ModelURLPrefix = "https://apigateway.amazonaws.com/restapis/"

// ModelURL is the canonical reference of model name of API apiID.
func ModelURL(apiID, name string) string { return ModelURLPrefix + apiID + "/models/" + name }

// ParseModelURL splits a canonical model reference into its API id and model
// name; ok is false for any other string.
func ParseModelURL(ref string) (apiID, name string, ok bool) {
	rest, found := strings.CutPrefix(ref, ModelURLPrefix)
	if !found {
		return "", "", false
	}
	apiID, name, found = strings.Cut(rest, "/models/")
	if !found || apiID == "" || name == "" || strings.ContainsAny(apiID, "/#?") || strings.ContainsAny(name, "/#?") {
		return "", "", false
	}
	return apiID, name, true
}

// noLoader refuses every schema that is not one of the API's models: a model's
// $ref never reads a file or the network.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("$ref %q: models may only refer to other models of the API, as %s or #/definitions/{name}", url, ModelURL("{restapi_id}", "{model_name}"))
}

// CompileModels compiles the models of API apiID (JSON Schema draft 4, as API
// Gateway's models are) with their $refs to each other resolved, and returns
// them by name. A model refers to another as #/definitions/Name,
// #/components/schemas/Name, or in the canonical form API Gateway requires,
// https://apigateway.amazonaws.com/restapis/{apiID}/models/Name. A model that
// is not valid JSON Schema, or refers to another API's model or to a model the
// API lacks, is an error wrapping errdefs.ErrInvalid.
//
// A model nested more than MaxModelDepth deep, with a $schema other than a
// JSON Schema draft's, or that is only a cycle of $refs (A is B, B is A: it
// can match no value) is refused too. The models of an API are compiled
// again only when they change: the last successful compilations are kept by
// the API's id and the models' digest.
func CompileModels(apiID string, models map[string]json.RawMessage) (map[string]*jsonschema.Schema, error) {
	return CompileModelsContext(context.Background(), apiID, models)
}

// CompileModelsContext is CompileModels that stops, with ctx's error, once ctx
// is done: a large set of deep models takes seconds to compile, and the
// client that asked for it may have gone.
func CompileModelsContext(ctx context.Context, apiID string, models map[string]json.RawMessage) (map[string]*jsonschema.Schema, error) {
	if len(models) == 0 {
		return nil, nil
	}
	key := modelsKey(apiID, models)
	if out, ok := compiledModels.get(key); ok {
		return out, nil
	}
	out, err := compileModels(ctx, apiID, models, nil)
	if err != nil {
		return nil, err
	}
	compiledModels.put(key, out)
	return out, nil
}

// compileModels is CompileModelsContext without the cache: the patterns that
// only the backtracking engine reads are charged to meter when it is not nil
// (a ModelValidator's copy of the models), else bounded one match at a time.
func compileModels(ctx context.Context, apiID string, models map[string]json.RawMessage, meter *patternMeter) (map[string]*jsonschema.Schema, error) {
	names := sortedKeys(models)
	schemas := map[string]any{}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		raw := models[name]
		if err := CheckDepth(raw, MaxModelDepth); err != nil {
			return nil, invalid("model %q %v", name, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, invalid("model %q is not JSON: %v", name, err)
		}
		if err := localModelRefs(apiID, name, doc, models); err != nil {
			return nil, err
		}
		if err := checkMetaschema(name, doc); err != nil {
			return nil, err
		}
		if err := checkDraft4(name, doc); err != nil {
			return nil, err
		}
		schemas[name] = doc
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	c.UseLoader(noLoader{})
	for _, f := range draft4Formats {
		c.RegisterFormat(f)
	}
	if meter == nil {
		c.UseRegexpEngine(javaRegexp)
	} else {
		c.UseRegexpEngine(meter.compile)
	}
	// The models are the root's definitions only, a draft 4 keyword: the
	// compiler reads and checks them all once, with the root. (Compiled as
	// #/components/schemas/X, every subschema was a location the compiler
	// had not seen: it copied the root's index and checked the subschema's
	// whole subtree again for each, a cost that grew with the cube of a
	// schema's depth and the square of the number of models.)
	root := map[string]any{"definitions": schemas}
	if err := c.AddResource(modelsURL, root); err != nil {
		return nil, invalid("models: %v", err)
	}
	if err := refCycles(root, names); err != nil {
		return nil, err
	}
	if err := sameValueCycles(root, names); err != nil {
		return nil, err
	}
	if err := modelChecks(root, names); err != nil {
		return nil, err
	}
	out := make(map[string]*jsonschema.Schema, len(models))
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sch, err := c.Compile(modelsURL + "#/definitions/" + escapePointer(name))
		if err != nil {
			return nil, invalid("model %q is not a valid JSON Schema (draft 4): %v", name, err)
		}
		out[name] = sch
	}
	return out, nil
}

// draft4Formats are the formats the models compiler knows beyond the
// validator's own for draft 4: the formats later drafts added (date, time,
// uuid, ...) check nothing, as a draft 4 validator ignores a format it does
// not define (an annotation, which the import takes without a warning);
// date-time's reason is worded
// without Go's reference layout ("2006-01-02").
var draft4Formats = func() []*jsonschema.Format {
	out := []*jsonschema.Format{{Name: "date-time", Validate: func(v any) error {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		bad := errors.New("not an RFC 3339 date-time (YYYY-MM-DDThh:mm:ssZ or with an offset, +hh:mm)")
		if len(s) < 20 || (s[10] != 'T' && s[10] != 't') {
			return bad
		}
		// RFC 3339 takes t and z in lower case; Go's layout does not.
		u := s[:10] + "T" + s[11:]
		if strings.HasSuffix(u, "z") {
			u = u[:len(u)-1] + "Z"
		}
		if _, err := time.Parse(time.RFC3339Nano, u); err != nil {
			return bad
		}
		return nil
	}}}
	for _, name := range []string{"date", "time", "duration", "period", "uuid", "json-pointer", "relative-json-pointer",
		"iri", "uri-reference", "iri-reference", "uri-template", "semver", "regex", "idn-email", "idn-hostname"} {
		out = append(out, &jsonschema.Format{Name: name, Validate: func(any) error { return nil }})
	}
	return out
}()

// draft4 is JSON Schema draft 4's metaschema, compiled once, reading the
// models' patterns (format "regex") as Java regular expressions.
var draft4 = sync.OnceValues(func() (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(javaRegexp)
	return c.Compile("http://json-schema.org/draft-04/schema")
})

// ErrPatternTimeout is the error of a model validation stopped by a pattern
// (or patternProperties name) whose match took too long: the backtracking
// engine's bound (javaregex.MatchTimeout) was reached, so the body is not
// known to be valid.
var ErrPatternTimeout = errors.New("a model pattern took too long to match")

// javaRegexp compiles a model's pattern (pattern, patternProperties) as API
// Gateway does, a Java regular expression: with RE2 when it compiles there,
// else with the bounded backtracking engine (javaregex).
func javaRegexp(pattern string) (jsonschema.Regexp, error) {
	re, err := javaregex.Compile(pattern)
	if err != nil {
		return nil, err
	}
	return schemaRegexp{re: re}, nil
}

// schemaRegexp is a javaregex.Regexp as jsonschema matches it, with a bool
// only: a match that took too long cannot say "no match", which could let a
// body through (a patternProperties name not matched is an additional
// property, often allowed), so it panics with a patternTimeout that
// ValidateModel turns into ErrPatternTimeout.
// A backtracking pattern of a ModelValidator's models also has the meter of
// its validations, which bounds their matches together.
type schemaRegexp struct {
	re    *javaregex.Regexp
	meter *patternMeter
}

func (r schemaRegexp) String() string { return r.re.String() }

func (r schemaRegexp) MatchString(s string) bool {
	if r.meter != nil {
		return r.meter.match(r.re, s)
	}
	ok, err := r.re.MatchString(s)
	if err != nil {
		panic(patternTimeout{err})
	}
	return ok
}

// patternTimeout is schemaRegexp's panic value.
type patternTimeout struct{ err error }

// ValidateModel validates inst (as jsonschema.UnmarshalJSON reads it) against
// sch, a model CompileModels compiled: sch.Validate's error, or one wrapping
// ErrPatternTimeout when a pattern's match took too long (the body fails).
func ValidateModel(sch *jsonschema.Schema, inst any) (err error) {
	defer func() {
		if v := recover(); v != nil {
			pt, ok := v.(patternTimeout)
			if !ok {
				panic(v)
			}
			err = fmt.Errorf("%w: %w", ErrPatternTimeout, pt.err)
		}
	}()
	return sch.Validate(inst)
}

// checkDraft4 validates model name's schema doc against draft 4's metaschema on
// its own, so that a wrong model is named as the one at fault (compiled
// together, the models' resource is validated as a whole and its failure
// blamed on whichever model was compiled first). The error says where in the
// model and what is wrong: at '/type': value must be one of 'array', ....
func checkDraft4(name string, doc any) error {
	meta, err := draft4()
	if err != nil {
		return invalid("model %q: %v", name, err)
	}
	err = meta.Validate(doc)
	if err == nil {
		return nil
	}
	// The validator's message is a first line naming the metaschema, then one
	// "- at '/ptr': what" line per failure, indented by depth: keep those.
	lines := strings.Split(err.Error(), "\n")
	details := make([]string, 0, len(lines))
	for _, l := range lines[1:] {
		if l = strings.TrimPrefix(strings.TrimSpace(l), "- "); l != "" {
			details = append(details, l)
		}
	}
	if len(details) == 0 {
		details = lines
	}
	return invalid("model %q is not a valid JSON Schema (draft 4): %s", name, strings.Join(details, "; "))
}

// localModelRefs turns the model references in doc, the parsed model name,
// canonical or #/components/schemas/..., into references to the models'
// resource's #/definitions/..., refusing those to another API (or, before the
// API has an id, any) and to models it lacks.
func localModelRefs(apiID, name string, doc any, models map[string]json.RawMessage) error {
	switch t := doc.(type) {
	case map[string]any:
		for k, v := range t {
			ref, isRef := v.(string)
			if k != "$ref" || !isRef {
				if err := localModelRefs(apiID, name, v, models); err != nil {
					return err
				}
				continue
			}
			if rest, ok := strings.CutPrefix(ref, "#/components/schemas/"); ok {
				if err := modelExists(apiID, name, ref, rest, models); err != nil {
					return err
				}
				t[k] = "#/definitions/" + rest
				continue
			}
			if rest, ok := strings.CutPrefix(ref, "#/definitions/"); ok {
				if err := modelExists(apiID, name, ref, rest, models); err != nil {
					return err
				}
				continue
			}
			id, target, ok := ParseModelURL(ref)
			if !ok {
				continue
			}
			switch {
			case apiID == "":
				return invalid("model %q: $ref %q: the API has no id yet; refer to model %s as #/definitions/%s", name, ref, target, target)
			case id != apiID:
				return invalid("model %q: $ref %q refers to a model of another API (%s); a model may only refer to models of its own API: use %s", name, ref, id, ModelURL(apiID, target))
			}
			if _, ok := models[target]; !ok {
				return invalid("model %q: $ref %q refers to model %s, which API %s does not have; create it first", name, ref, target, apiID)
			}
			t[k] = "#/definitions/" + escapePointer(target)
		}
	case []any:
		for _, v := range t {
			if err := localModelRefs(apiID, name, v, models); err != nil {
				return err
			}
		}
	}
	return nil
}

// modelExists checks that the model a local reference ref (#/definitions/X
// or #/components/schemas/X, rest what follows the prefix) names is one of
// the API's: such a reference names a model of the API, never a schema
// inside the referring model (its own definitions are not read), which the
// error says, with what to do.
func modelExists(apiID, name, ref, rest string, models map[string]json.RawMessage) error {
	target, _, _ := strings.Cut(rest, "/")
	target = strings.ReplaceAll(strings.ReplaceAll(target, "~1", "/"), "~0", "~")
	if _, ok := models[target]; ok {
		return nil
	}
	api := "the API"
	if apiID != "" {
		api = "API " + apiID
	}
	return invalid("model %q: $ref %q names a model of the API, and %s has no model %q (a model's own definitions are not read): create model %s, or write the schema in place of the $ref", name, ref, api, target, target)
}

// escapePointer escapes a JSON Pointer token.
func escapePointer(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '~':
			b.WriteString("~0")
		case '/':
			b.WriteString("~1")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// SetModel sets model name's schema to text, kept as written for
// get-model (ModelTexts; Models holds it compacted once normalized).
func (d *Definition) SetModel(name string, text string) {
	if d.Models == nil {
		d.Models = map[string]json.RawMessage{}
	}
	d.Models[name] = json.RawMessage(text)
	if d.ModelTexts == nil {
		d.ModelTexts = map[string]string{}
	}
	d.ModelTexts[name] = text
}

// ModelText is model name's schema as written (what get-model returns): its
// text, when it was kept, or else the stored schema.
func (d *Definition) ModelText(name string) string {
	if t, ok := d.ModelTexts[name]; ok {
		return t
	}
	return string(d.Models[name])
}

// normModelTexts drops the texts of models that are gone, that no longer mean
// what the model says (changed by an import, say) or that are its compact
// form already.
func (d *Definition) normModelTexts() {
	for name, text := range d.ModelTexts {
		if m, ok := d.Models[name]; !ok || text == string(m) || !bytes.Equal(normRaw(json.RawMessage(text)), m) {
			delete(d.ModelTexts, name)
		}
	}
	if len(d.ModelTexts) == 0 {
		d.ModelTexts = nil
	}
}

// DefaultModels returns the two models API Gateway gives every REST API it
// creates (create-rest-api): Empty, which methods name when their body has no
// particular shape, and Error. They are ordinary models: they can be changed
// or deleted like any other in Portico.
func DefaultModels() map[string]json.RawMessage {
	return map[string]json.RawMessage{
		"Empty": normRaw(json.RawMessage(`{"$schema":"http://json-schema.org/draft-04/schema#","title":"Empty Schema","type":"object"}`)),
		"Error": normRaw(json.RawMessage(`{"$schema":"http://json-schema.org/draft-04/schema#","title":"Error Schema","type":"object","properties":{"message":{"type":"string"}}}`)),
	}
}

// IsUnusedDefaultModel reports whether the model name of d is one of
// DefaultModels, unchanged, and named by no method and no other model: such a
// model is left out of exports, so that an API built call by call exports the
// same document as the API imported from that document.
func (d *Definition) IsUnusedDefaultModel(name string) bool {
	def, ok := DefaultModels()[name]
	if !ok || !bytes.Equal(normRaw(d.Models[name]), def) {
		return false
	}
	for _, rt := range d.Routes {
		for _, m := range rt.RequestModels {
			if m == name {
				return false
			}
		}
		for _, mr := range rt.Responses {
			for _, m := range mr.Models {
				if m == name {
					return false
				}
			}
		}
	}
	ref := []byte(`"#/components/schemas/` + escapePointer(name) + `"`)
	ref2 := []byte(`"#/definitions/` + escapePointer(name) + `"`)
	ref3 := []byte(`/models/` + name + `"`)
	for other, raw := range d.Models {
		if other != name && (bytes.Contains(raw, ref) || bytes.Contains(raw, ref2) || bytes.Contains(raw, ref3)) {
			return false
		}
	}
	return true
}

// ModelReferrer returns the first model of models, by name and other than
// name, whose schema refers to model name: a $ref in any of the forms
// CompileModels reads (#/definitions/Name, #/components/schemas/Name, or the
// canonical https://apigateway.amazonaws.com/restapis/{id}/models/Name), to
// the model or to a part of it. It returns "" when no model does, so that the
// model can be deleted without leaving another that no longer compiles.
func ModelReferrer(models map[string]json.RawMessage, name string) string {
	others := make([]string, 0, len(models))
	for other := range models {
		if other != name {
			others = append(others, other)
		}
	}
	sort.Strings(others)
	for _, other := range others {
		var doc any
		if json.Unmarshal(models[other], &doc) == nil && refersTo(doc, name) {
			return other
		}
	}
	return ""
}

// refersTo reports whether doc holds a $ref to model name.
func refersTo(doc any, name string) bool {
	switch t := doc.(type) {
	case map[string]any:
		for k, v := range t {
			if ref, ok := v.(string); ok && k == "$ref" && refTarget(ref) == name {
				return true
			}
			if refersTo(v, name) {
				return true
			}
		}
	case []any:
		for _, v := range t {
			if refersTo(v, name) {
				return true
			}
		}
	}
	return false
}

// refTarget is the model a $ref names, or "" for a reference to no model.
func refTarget(ref string) string {
	if _, target, ok := ParseModelURL(ref); ok {
		return target
	}
	for _, prefix := range []string{"#/definitions/", "#/components/schemas/"} {
		if rest, ok := strings.CutPrefix(ref, prefix); ok {
			token, _, _ := strings.Cut(rest, "/")
			return strings.ReplaceAll(strings.ReplaceAll(token, "~1", "/"), "~0", "~")
		}
	}
	return ""
}
