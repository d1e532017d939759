package admin

import (
	"encoding/json"
	"testing"
)

// TestJSONProblemNumbers: a JSON number a field cannot hold is named in the
// message ("not 1.5", "not 1e309 (out of range)"); it said "not a JSON
// number" of a JSON number (r-httpapi25 finding 4).
func TestJSONProblemNumbers(t *testing.T) {
	t.Parallel()
	var v struct {
		Burst  int     `json:"burst"`
		Rate   float64 `json:"rate"`
		MaxAge int32   `json:"maxAge"`
		Size   uint    `json:"size"`
		Name   string  `json:"name"`
	}
	for _, tc := range []struct{ body, want string }{
		{`{"burst":1.5}`, "burst must be a whole number, not 1.5"},
		{`{"rate":1e309}`, "rate must be a number, not 1e309 (out of range)"},
		{`{"maxAge":3000000000}`, "maxAge must be a whole number, not 3000000000 (out of range)"},
		{`{"size":-1}`, "size must be a whole number, 0 or more, not -1"},
		{`{"name":5}`, "name must be a string, not a JSON number"},
		{`{"burst":"5"}`, "burst must be a whole number, not a JSON string"},
	} {
		err := jsonProblem(json.Unmarshal([]byte(tc.body), &v))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: %v, want %q", tc.body, err, tc.want)
		}
	}
}
