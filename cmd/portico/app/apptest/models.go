package apptest

import (
	"encoding/json"
	"fmt"
	"testing"
)

// ModelsDoc returns an OpenAPI 3 document titled "many" with no paths and n
// models (M0, M1, ...), each an object of one string property: the imports
// that test the models limit and the CLI's "compiling N models".
func ModelsDoc(t testing.TB, n int) []byte {
	t.Helper()
	schemas := map[string]any{}
	for i := range n {
		schemas[fmt.Sprintf("M%d", i)] = map[string]any{"type": "object", "properties": map[string]any{"a": map[string]any{"type": "string"}}}
	}
	b, err := json.Marshal(map[string]any{"openapi": "3.0.1", "info": map[string]any{"title": "many", "version": "1"},
		"paths": map[string]any{}, "components": map[string]any{"schemas": schemas}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
