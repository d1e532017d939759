package apis

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestModelSameValueCycles: a model that comes back to itself only through
// allOf, anyOf, oneOf or not (no property or item between) is refused as a
// bare $ref cycle is, since it refuses every body (r-openapi24 #2); a
// recursive model with structure is still accepted.
func TestModelSameValueCycles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		models map[string]string
		want   string // "" accepted
	}{
		{"allOf self", map[string]string{"A": `{"allOf": [{"$ref": "#/definitions/A"}]}`}, `model "A": $ref cycle A -> A/allOf/0 -> A never reaches a schema`},
		{"anyOf oneOf", map[string]string{
			"A": `{"anyOf": [{"$ref": "#/components/schemas/B"}]}`,
			"B": `{"oneOf": [{"$ref": "#/components/schemas/A"}]}`}, `$ref cycle A -> A/anyOf/0 -> B -> B/oneOf/0 -> A never reaches a schema`},
		{"not self", map[string]string{"C": `{"not": {"$ref": "#/definitions/C"}}`}, `$ref cycle C -> C/not -> C never reaches a schema`},
		{"inside a property", map[string]string{"P": `{"type": "object", "properties": {"x": {"allOf": [{"$ref": "#/definitions/P/properties/x"}]}}}`},
			`$ref cycle P/properties/x -> P/properties/x/allOf/0 -> P/properties/x never reaches a schema`},
		{"structure", map[string]string{"Node": `{"type": "object", "properties": {"kids": {"type": "array", "items": {"allOf": [{"$ref": "#/definitions/Node"}]}}}}`}, ""},
		{"allOf of another", map[string]string{"A": `{"allOf": [{"$ref": "#/definitions/B"}, {"type": "object"}]}`, "B": `{"type": "object", "properties": {"a": {"$ref": "#/definitions/A"}}}`}, ""},
		{"enum data", map[string]string{"E": `{"enum": [{"allOf": [{"$ref": "#/definitions/E"}]}]}`}, ""},
	} {
		models := map[string]json.RawMessage{}
		for k, v := range tc.models {
			models[k] = json.RawMessage(v)
		}
		_, err := CompileModels("abc", models)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want accepted", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
