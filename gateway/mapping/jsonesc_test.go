package mapping

import (
	"encoding/json"
	"testing"
)

// TestAppendJSONEscapeAsEncodingJSON holds AppendEscape to encoding/json's decoding of
// the same escapes.
func TestAppendJSONEscapeAsEncodingJSON(t *testing.T) {
	for _, esc := range []string{
		`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u00e9`, `\u00E9`, `\u0000`,
		`\ud83d\ude00`, `\ud83d`, `\ude00`, `\ud83d\u0041`, `\ud83d\ud83d`, `\ud83dx`,
	} {
		var want string
		if err := json.Unmarshal([]byte(`"`+esc+`"`), &want); err != nil {
			t.Fatalf("%s: %v", esc, err)
		}
		var got []byte
		s := []byte(esc)
		for i := 0; i < len(s); {
			if s[i] != '\\' {
				got = append(got, s[i])
				i++
				continue
			}
			var n int
			var ok bool
			got, n, ok = AppendJSONEscape(got, s[i+1:])
			if !ok {
				t.Fatalf("%s: refused at %d", esc, i)
			}
			i += 1 + n
		}
		if string(got) != want {
			t.Errorf("%s: got %q, encoding/json %q", esc, got, want)
		}
	}
}

func TestAppendJSONEscapeRefusesInvalid(t *testing.T) {
	for _, s := range []string{``, `x`, `u12`, `u12g4`, `a`, `U0041`} {
		if b, n, ok := AppendJSONEscape(nil, []byte(s)); ok || n != 0 || len(b) != 0 {
			t.Errorf("%q: got %q, %d, %v; want refused", s, b, n, ok)
		}
	}
}
