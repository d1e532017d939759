package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// NotJSON says where and why doc is not JSON, in neutral words with the
// byte offset (from 0) of what is wrong: "at byte 1: unexpected 'o'" for
// "not json", "at byte 8: unexpected data after the JSON value" for
// `{"a":1} {"x":1}`, "at byte 6: unexpected end" for `{"a":1`; "" when doc
// is JSON. Go's decoder names what it expected ("invalid character 'o' in
// literal null (expecting 'u')"), a guess that reads as if the client had
// sent a null.
func NotJSON(doc []byte) string {
	if json.Valid(doc) {
		return ""
	}
	var v json.RawMessage
	err := json.Unmarshal(doc, &v)
	var se *json.SyntaxError
	if !errors.As(err, &se) || se.Offset < 0 || se.Offset > int64(len(doc)) {
		return "not JSON"
	}
	msg := se.Error()
	if !strings.HasPrefix(msg, "invalid character ") || se.Offset == 0 {
		return fmt.Sprintf("at byte %d: unexpected end", se.Offset) // "unexpected end of JSON input"
	}
	at := int(se.Offset - 1) // the offending byte
	switch {
	case strings.Contains(msg, "after top-level value"):
		return fmt.Sprintf("at byte %d: unexpected data after the JSON value", at)
	case strings.Contains(msg, "exceeded max depth"):
		return fmt.Sprintf("at byte %d: arrays and objects nested too deep", at)
	case at == 0 && strings.HasPrefix(string(doc), "\ufeff"):
		return "at byte 0: a UTF-8 byte order mark (EF BB BF), which JSON does not allow"
	}
	r, n := utf8.DecodeRune(doc[at:])
	if r == utf8.RuneError && n <= 1 {
		return fmt.Sprintf("at byte %d: unexpected byte 0x%02X", at, doc[at])
	}
	return fmt.Sprintf("at byte %d: unexpected %q", at, r)
}
