package apis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// modelsURL is where an API's models live for the JSON Schema compiler; their
// "#/components/schemas/X" and "#/definitions/X" references resolve inside it.
const modelsURL = "urn:portico:models"

// noLoader refuses every schema that is not one of the API's models: a model's
// $ref never reads a file or the network.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("$ref %q: models may only refer to other models of the API", url)
}

// CompileModels compiles an API's models (JSON Schema draft 4, as API Gateway's
// models are) with their $refs to each other resolved, and returns them by name.
// A model that is not valid JSON Schema is an error wrapping errdefs.ErrInvalid.
func CompileModels(models map[string]json.RawMessage) (map[string]*jsonschema.Schema, error) {
	if len(models) == 0 {
		return nil, nil
	}
	schemas := map[string]any{}
	for name, raw := range models {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, invalid("model %q is not JSON: %v", name, err)
		}
		schemas[name] = doc
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	c.UseLoader(noLoader{})
	root := map[string]any{"components": map[string]any{"schemas": schemas}, "definitions": schemas}
	if err := c.AddResource(modelsURL, root); err != nil {
		return nil, invalid("models: %v", err)
	}
	names := make([]string, 0, len(models))
	for name := range models {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make(map[string]*jsonschema.Schema, len(models))
	for _, name := range names {
		sch, err := c.Compile(modelsURL + "#/components/schemas/" + escapePointer(name))
		if err != nil {
			return nil, invalid("model %q is not a valid JSON Schema (draft 4): %v", name, err)
		}
		out[name] = sch
	}
	return out, nil
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
	for other, raw := range d.Models {
		if other != name && (bytes.Contains(raw, ref) || bytes.Contains(raw, ref2)) {
			return false
		}
	}
	return true
}
