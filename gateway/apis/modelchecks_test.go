package apis

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// refBomb is r-openapi28 #1's models: M0 an object, each Mi an allOf of ten
// $refs to M(i-1). Validating a body against M12 checks it against 10^12
// schemas.
func refBomb(depth int, ref func(name string) string) map[string]json.RawMessage {
	models := map[string]json.RawMessage{"M0": json.RawMessage(`{"type": "object", "properties": {"x": {"type": "string"}}}`)}
	for i := 1; i <= depth; i++ {
		refs := make([]string, 10)
		for j := range refs {
			refs[j] = `{"$ref": "` + ref(fmt.Sprintf("M%d", i-1)) + `"}`
		}
		models[fmt.Sprintf("M%d", i)] = json.RawMessage(`{"allOf": [` + strings.Join(refs, ", ") + `]}`)
	}
	return models
}

// TestModelChecksBound: models that check one value against more than
// MaxModelChecks schemas are refused when they are compiled (so on save and
// on import), naming the model and the limit, in time linear in their size;
// the same shape a level or two deep, a deep chain of models that refer to
// each other once, a recursive model and the same model referred to by many
// properties are accepted and validate.
func TestModelChecksBound(t *testing.T) {
	t.Parallel()
	for _, ref := range []func(string) string{
		func(n string) string { return "#/components/schemas/" + n },
		func(n string) string { return ModelURL("abc", n) },
	} {
		_, err := CompileModels("abc", refBomb(12, ref))
		if err == nil || !strings.Contains(err.Error(), "more than 1000 schemas") || !strings.Contains(err.Error(), `model "M`) {
			t.Fatalf("ref bomb: %v, want refused naming the model and the limit", err)
		}
	}
	// Below a value, too: each property's schema checks it ten times a level.
	nested := map[string]json.RawMessage{"P0": json.RawMessage(`{"type": "string"}`)}
	for i := 1; i <= 6; i++ {
		nested[fmt.Sprintf("P%d", i)] = json.RawMessage(fmt.Sprintf(`{"type": "object", "properties": {"a": {"anyOf": [%s]}}}`,
			strings.TrimSuffix(strings.Repeat(fmt.Sprintf(`{"$ref": "#/definitions/P%d"},`, i-1), 10), ",")))
	}
	if _, err := CompileModels("abc", nested); err == nil || !strings.Contains(err.Error(), "more than 1000 schemas") {
		t.Errorf("nested bomb: %v, want refused", err)
	}

	valid := func(name string, models map[string]json.RawMessage, model, good, bad string) {
		t.Helper()
		out, err := CompileModels("abc", models)
		if err != nil {
			t.Fatalf("%s: %v, want accepted", name, err)
		}
		for body, ok := range map[string]bool{good: true, bad: false} {
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if err := ValidateModel(out[model], inst); (err == nil) != ok {
				t.Errorf("%s: %s: %v, want valid %v", name, body, err, ok)
			}
		}
	}
	valid("two levels", refBomb(2, func(n string) string { return "#/definitions/" + n }), "M2", `{"x": "a"}`, `{"x": 1}`)
	chain := map[string]json.RawMessage{"C0": json.RawMessage(`{"type": "object", "properties": {"x": {"type": "string"}}}`)}
	for i := 1; i <= 300; i++ {
		chain[fmt.Sprintf("C%d", i)] = json.RawMessage(fmt.Sprintf(`{"allOf": [{"$ref": "#/definitions/C%d"}, {"type": "object"}]}`, i-1))
	}
	valid("a chain of 300", chain, "C300", `{"x": "a"}`, `{"x": 1}`)
	valid("recursive", map[string]json.RawMessage{
		"Node": json.RawMessage(`{"type": "object", "properties": {"v": {"type": "integer"}, "left": {"$ref": "#/definitions/Node"}, "right": {"$ref": "#/definitions/Node"}}}`),
	}, "Node", `{"v": 1, "left": {"v": 2, "right": {"v": 3}}}`, `{"v": 1, "left": {"right": {"v": "x"}}}`)
	props := make([]string, 200)
	for i := range props {
		props[i] = fmt.Sprintf(`"a%d": {"$ref": "#/definitions/Addr"}`, i)
	}
	valid("one model under many properties", map[string]json.RawMessage{
		"Addr":  json.RawMessage(`{"type": "object", "properties": {"city": {"type": "string"}}}`),
		"Order": json.RawMessage(`{"type": "object", "properties": {` + strings.Join(props, ", ") + `}}`),
	}, "Order", `{"a1": {"city": "x"}}`, `{"a199": {"city": 1}}`)
}
