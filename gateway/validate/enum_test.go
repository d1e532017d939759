package validate

import (
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestEnumReasonSaysNull is the vtl18 tester's: an enum failure showed Go's
// <nil> for JSON null ("value must be one of 1, '1', <nil>").
func TestEnumReasonSaysNull(t *testing.T) {
	c := jsonschema.NewCompiler()
	if err := c.AddResource("s.json", map[string]any{"properties": map[string]any{
		"x": map[string]any{"enum": []any{1.0, "1", "it's", nil}}, "y": map[string]any{"enum": []any{nil}}}}); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("s.json")
	if err != nil {
		t.Fatal(err)
	}
	got := validationString(sch.Validate(map[string]any{"x": 2.0, "y": 3.0}))
	if want := `[/x: value must be one of 1, '1', 'it\'s', null, /y: value must be null]`; got != want {
		t.Errorf("%s, want %s", got, want)
	}
}
