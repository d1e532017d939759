package apis

import (
	"encoding/json"
	"testing"
)

// TestModelSchemasKeepTheirText: an API's models are stored as their text
// (encoding/json would compact a raw value), and read back as written; a
// model stored by schema 7 and older, as a JSON value, reads as its text.
func TestModelSchemasKeepTheirText(t *testing.T) {
	const text = "{\n  \"type\" : \"object\",\n  \"b\": 1, \"a\": 2\n}"
	a := API{ID: "abcdefghij", Definition: Definition{Models: ModelSchemas{"Pet": json.RawMessage(text)}}}
	a.Normalize()
	b, err := json.Marshal(&a)
	if err != nil {
		t.Fatal(err)
	}
	var got API
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if s := string(got.Models["Pet"]); s != text {
		t.Errorf("stored and read back:\n%s\nwant as written:\n%s", s, text)
	}

	var old API
	if err := json.Unmarshal([]byte(`{"id":"abcdefghij","models":{"Pet":{"a":2,"b":1,"type":"object"}}}`), &old); err != nil {
		t.Fatal(err)
	}
	if s := string(old.Models["Pet"]); s != `{"a":2,"b":1,"type":"object"}` {
		t.Errorf("a schema 7 model reads as %s", s)
	}
}
