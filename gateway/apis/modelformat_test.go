package apis

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestModelFormatsDraft4: model validation checks the formats JSON Schema
// draft 4 defines and no other (a draft 4 validator ignores "date", as the
// import warns), and a bad date-time's reason does not quote Go's reference
// layout ("2006-01-02") (r-vtlval27 #4).
func TestModelFormatsDraft4(t *testing.T) {
	sch, err := CompileModels("fmt1", map[string]json.RawMessage{"P": json.RawMessage(
		`{"type":"object","properties":{"d":{"type":"string","format":"date"},"u":{"type":"string","format":"uuid"},"t":{"type":"string","format":"date-time"},"ip":{"type":"string","format":"ipv4"}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	check := func(doc string) error {
		var v any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatal(err)
		}
		return ValidateModel(sch["P"], v)
	}
	for _, ok := range []string{`{"d":"nope","u":"nope"}`, `{"t":"2026-01-02T03:04:05Z"}`, `{"t":"2026-01-02t03:04:05.5+01:00"}`} {
		if err := check(ok); err != nil {
			t.Errorf("%s: %v; want it valid", ok, err)
		}
	}
	for _, bad := range []string{`{"t":"nope"}`, `{"t":"2026-13-02T03:04:05Z"}`, `{"t":"2026-01-02 03:04:05Z"}`} {
		err := check(bad)
		if err == nil || strings.Contains(err.Error(), "2006") || !strings.Contains(err.Error(), "not an RFC 3339 date-time") {
			t.Errorf("%s: %v; want the date-time refused in plain words", bad, err)
		}
	}
	if err := check(`{"ip":"999.1.1.1"}`); err == nil {
		t.Errorf("ipv4, a draft 4 format, is not checked")
	}
}
