package pipeline

import "testing"

// TestNotJSON: where and why a body is not JSON, with its byte offset and the
// byte found, not the decoder's guess of what was meant (r-vtlval29 #3:
// "not json" read "invalid character 'o' in literal null (expecting 'u')").
func TestNotJSON(t *testing.T) {
	for doc, want := range map[string]string{
		`{"a":1}`:          "",
		"not json":         "at byte 1: unexpected 'o'",
		"a=b":              "at byte 0: unexpected 'a'",
		`{"a":1} {"x":1}`:  "at byte 8: unexpected data after the JSON value",
		`{"a":1}x`:         "at byte 7: unexpected data after the JSON value",
		`{"a":1`:           "at byte 6: unexpected end",
		"":                 "at byte 0: unexpected end",
		"{\"a\":\"x\ny\"}": `at byte 7: unexpected '\n'`,
		`[1,]`:             "at byte 3: unexpected ']'",
		"{\"é\":tru}":      "at byte 9: unexpected '}'",
		"[\xff]":           "at byte 1: unexpected byte 0xFF",
		"[é]":              "at byte 1: unexpected 'é'",
		"\ufeff{}":         "at byte 0: a UTF-8 byte order mark (EF BB BF), which JSON does not allow",
	} {
		if got := NotJSON([]byte(doc)); got != want {
			t.Errorf("NotJSON(%q) = %q, want %q", doc, got, want)
		}
	}
}
