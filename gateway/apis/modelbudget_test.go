package apis

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// lookaheadModels is a model whose pattern only the backtracking engine reads
// (a lookahead), which every string of a's passes.
var lookaheadModels = map[string]json.RawMessage{
	"A": json.RawMessage(`{"type": "array", "items": {"type": "string", "pattern": "^(?!(a+)+b)"}}`),
}

func stringsBody(t *testing.T, n int) any {
	t.Helper()
	doc, _ := json.Marshal(repeated(n, "aaaac"))
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(doc)))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func repeated(n int, s string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestModelPatternBudgetPerRequest: the backtracking matches of one
// validation share PatternBudget (the clock a fake one that charges each
// match 50 ms): a body of 100 strings fails once the budget is spent, with
// ErrPatternTimeout, after a bounded number of matches rather than 100, and
// the next validation gets a whole budget again.
func TestModelPatternBudgetPerRequest(t *testing.T) {
	v, err := NewModelValidator("budget1", lookaheadModels)
	if err != nil {
		t.Fatal(err)
	}
	var readings int
	now := time.Unix(0, 0)
	v.SetClock(func() time.Time { readings++; now = now.Add(50 * time.Millisecond); return now })
	err = v.Validate(context.Background(), "A", stringsBody(t, 100))
	if !errors.Is(err, ErrPatternTimeout) || !strings.Contains(err.Error(), "budget") {
		t.Fatalf("100 matches of 50 ms each: %v, want the budget's ErrPatternTimeout", err)
	}
	if want := 2 * int(PatternBudget/(50*time.Millisecond)); readings != want {
		t.Errorf("matched %d times, want %d (the budget of %v at 50 ms a match)", readings/2, want/2, PatternBudget)
	}
	readings = 0
	if err := v.Validate(context.Background(), "A", stringsBody(t, 3)); err != nil {
		t.Errorf("3 matches after a spent budget: %v, want valid", err)
	}
	if readings != 6 {
		t.Errorf("3 strings read the clock %d times, want 6", readings)
	}
}

// TestModelPatternStopsWhenRequestEnds: a validation whose request's context
// has ended matches nothing more and fails.
func TestModelPatternStopsWhenRequestEnds(t *testing.T) {
	v, err := NewModelValidator("budget2", lookaheadModels)
	if err != nil {
		t.Fatal(err)
	}
	var readings int
	v.SetClock(func() time.Time { readings++; return time.Unix(0, 0) })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = v.Validate(ctx, "A", stringsBody(t, 100))
	if !errors.Is(err, context.Canceled) || readings != 0 {
		t.Errorf("validation of an ended request: %v after %d matches, want context.Canceled after none", err, readings/2)
	}
}

// TestModelValidatorSharesModelsWithoutBacktracking: models whose patterns
// RE2 reads are the shared compilation, no copy per validation.
func TestModelValidatorSharesModelsWithoutBacktracking(t *testing.T) {
	models := map[string]json.RawMessage{"B": json.RawMessage(`{"type": "string", "pattern": "^a+$"}`)}
	v, err := NewModelValidator("budget3", models)
	if err != nil {
		t.Fatal(err)
	}
	if v.shared == nil || len(v.idle) != 0 {
		t.Errorf("RE2-only models: shared %v, %d copies", v.shared != nil, len(v.idle))
	}
	if err := v.Validate(context.Background(), "B", "aaa"); err != nil {
		t.Errorf("valid string: %v", err)
	}
	if err := v.Validate(context.Background(), "B", "aab"); err == nil || errors.Is(err, ErrPatternTimeout) {
		t.Errorf("invalid string: %v", err)
	}
}

// TestOwnDefinitionsRefNamesTheMissingModel: a model's #/definitions/X
// reference names a model of the API; one to a model the API lacks (the
// referring model's own definitions are not read) is refused saying so and
// what to do, not with the compiler's json-pointer error and internal URI.
func TestOwnDefinitionsRefNamesTheMissingModel(t *testing.T) {
	models := map[string]json.RawMessage{"Inner": json.RawMessage(`{"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
		"definitions": {"Tag": {"type": "string", "maxLength": 3}}, "properties": {"t": {"$ref": "#/definitions/Tag"}}}`)}
	_, err := CompileModels("defs1", models)
	if err == nil || !strings.Contains(err.Error(), `API defs1 has no model "Tag"`) || !strings.Contains(err.Error(), "create model Tag") ||
		strings.Contains(err.Error(), "urn:portico") {
		t.Errorf("CompileModels: %v", err)
	}
	models["Tag"] = json.RawMessage(`{"type": "string", "maxLength": 3}`)
	if _, err := CompileModels("defs1", models); err != nil {
		t.Errorf("with model Tag: %v", err)
	}
}
