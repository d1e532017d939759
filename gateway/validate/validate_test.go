package validate

import "testing"

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
		if n, ok := jsonValues([]byte(c.doc), c.max); ok != c.want {
			t.Errorf("jsonValues(%s, %d) = %d, %v; want %v", c.doc, c.max, n, ok, c.want)
		}
	}
}
