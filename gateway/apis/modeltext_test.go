package apis

import (
	"encoding/json"
	"testing"
)

// TestModelTextKeptWhileItMeansTheModel: a model's text as written survives
// Normalize (and a store round trip) while it means what the model says; a
// model changed another way (an import, say) loses its stale text.
func TestModelTextKeptWhileItMeansTheModel(t *testing.T) {
	const text = "{\n  \"type\" : \"object\",\n  \"b\": 1, \"a\": 2\n}"
	a := API{ID: "abcdefghij"}
	a.SetModel("Pet", text)
	a.Normalize()
	b, err := json.Marshal(&a)
	if err != nil {
		t.Fatal(err)
	}
	var got API
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	got.Normalize()
	if s := got.ModelText("Pet"); s != text {
		t.Errorf("read back:\n%s\nwant as written:\n%s", s, text)
	}
	if s := string(got.Models["Pet"]); s != `{"a":2,"b":1,"type":"object"}` {
		t.Errorf("the model itself is %s, want it compacted with sorted keys", s)
	}
	got.Models["Pet"] = json.RawMessage(`{"type":"string"}`)
	got.Normalize()
	if s := got.ModelText("Pet"); s != `{"type":"string"}` || got.ModelTexts != nil {
		t.Errorf("after the model changed: %s (texts %v), want the model", s, got.ModelTexts)
	}
}
