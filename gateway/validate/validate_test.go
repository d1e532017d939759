package validate

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestJSONValues: the count is at least the values, whatever strings hold.
func TestJSONValues(t *testing.T) {
	for _, c := range []struct {
		doc  string
		max  int
		want bool
	}{
		{`{}`, 3, true},
		{`{"a": 1, "b": [1, 2]}`, 8, true}, // 6 values
		{`[{}, {}, {}]`, 5, false},         // 4 values, counted 9
		{`[",,,,,,[[[[{{{", "\",,,,"]`, 4, true},
		{`[0,0,0,0,0,0,0,0,0,0]`, 10, false},
	} {
		if n, _, ok := jsonValues([]byte(c.doc), c.max, 100); ok != c.want {
			t.Errorf("jsonValues(%s, %d) = %d, %v; want %v", c.doc, c.max, n, ok, c.want)
		}
	}
}

// TestJSONDepth: the depth bound is encoding/json's, so that a body it
// refuses is refused first with a message that names the bound; brackets
// inside strings do not count.
func TestJSONDepth(t *testing.T) {
	nested := func(d int) string {
		return strings.Repeat(`{"a":[`, d/2) + strings.Repeat("[", d%2) + strings.Repeat("]", d%2) + strings.Repeat("]}", d/2)
	}
	for _, d := range []int{maxBodyDepth - 1, maxBodyDepth, maxBodyDepth + 1} {
		doc := nested(d)
		_, depth, ok := jsonValues([]byte(doc), maxBodyValues, maxBodyDepth)
		var v any
		decodes := json.Unmarshal([]byte(doc), &v) == nil
		if ok != (d <= maxBodyDepth) || ok != decodes || (!ok && depth != maxBodyDepth+1) {
			t.Errorf("depth %d: ok %v (depth %d), encoding/json decodes it: %v", d, ok, depth, decodes)
		}
	}
	if _, _, ok := jsonValues([]byte(`["`+strings.Repeat("[", 50)+`", {"a": [1]}]`), 100, 3); !ok {
		t.Error("brackets in a string counted")
	}
	if _, _, ok := jsonValues([]byte(`[[], [], [[]]]`), 100, 2); ok {
		t.Error("depth 3 passed a bound of 2")
	}
}
