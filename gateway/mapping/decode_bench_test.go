package mapping

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// BenchmarkDecodeBody decodes the typical template's 8 KB body, the part of
// BenchmarkRenderTypical that depends on the request; encoding/json beside it
// for scale.
func BenchmarkDecodeBody(b *testing.B) {
	body, err := os.ReadFile("testdata/bench/body.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := decodeJSON(body); err != nil {
			b.Fatal(err)
		}
	}
	reportRates(b, cpuTime()-cpu0)
}

// BenchmarkDecodeBodyStdlib decodes the same body with encoding/json into any.
func BenchmarkDecodeBodyStdlib(b *testing.B) {
	body, err := os.ReadFile("testdata/bench/body.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecodeSharedShapes checks that objects of one shape, which share their
// key list, stay independent when one of them changes.
func TestDecodeSharedShapes(t *testing.T) {
	doc, err := decodeJSON([]byte(`[{"a": 1, "b": 2}, {"a": 3, "b": 4}, {"a": 5, "b": 6}]`))
	if err != nil {
		t.Fatal(err)
	}
	items := doc.(*List).Items
	first, second, third := items[0].(*Map), items[1].(*Map), items[2].(*Map)
	first.Delete("a")
	second.Set("c", int64(7))
	if got := third.Keys(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("third map's keys %q after changes to its siblings", got)
	}
	if got := first.Keys(); len(got) != 1 || got[0] != "b" {
		t.Fatalf("first map's keys %q", got)
	}
	if v, _ := second.Get("c"); v != int64(7) || second.Len() != 3 {
		t.Fatalf("second map: %v", second.Keys())
	}
}

// TestDecodeEscapedStrings checks strings unescaped ahead of decoding: keys
// and values, surrogate pairs, and a malformed escape after good ones.
func TestDecodeEscapedStrings(t *testing.T) {
	doc, err := decodeJSON([]byte(`{"k\"1": "a\nb", "plain": "x", "e": "\ud83d\ude00 \u00e9\/", "list": ["\\", "q\"q"]}`))
	if err != nil {
		t.Fatal(err)
	}
	m := doc.(*Map)
	for k, want := range map[string]any{`k"1`: "a\nb", "plain": "x", "e": "😀 é/"} {
		if got, _ := m.Get(k); got != want {
			t.Errorf("%q = %q, want %q", k, got, want)
		}
	}
	l, _ := m.Get("list")
	if items := l.(*List).Items; items[0] != `\` || items[1] != `q"q` {
		t.Errorf("list %q", items)
	}
	if _, err := decodeJSON([]byte(`{"a": "ok\n", "b": "bad \x"}`)); err == nil {
		t.Error("a malformed escape decoded")
	}
}

// FuzzDecodeJSON checks the decoder against encoding/json: a valid document
// decodes, and its values written back as JSON (after the pooled decoder has
// decoded another document) mean the same document.
func FuzzDecodeJSON(f *testing.F) {
	if body, err := os.ReadFile("testdata/bench/body.json"); err == nil {
		f.Add(body)
	}
	f.Add([]byte(`{"k\"1": "a\nb", "e": "\ud83d\ude00 \u00e9\/", "l": ["\\", "q\"q", 1, 2.5, true, null]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		v, err := decodeJSON(data)
		if err != nil {
			if strings.Contains(err.Error(), "nested too deeply") {
				return
			}
			t.Fatalf("valid JSON refused: %v", err)
		}
		// The decoder is pooled: decoding another document must leave this
		// one's values as they were.
		if _, err := decodeJSON([]byte(`{"x": ["overwrite", 1.5, "\u00e9"], "y": {"x": "z"}}`)); err != nil {
			t.Fatal(err)
		}
		out, ok := appendJSON(nil, v, 0, 1<<30)
		if !ok {
			return
		}
		var want, got any
		if json.Unmarshal(data, &want) != nil || json.Unmarshal(out, &got) != nil {
			t.Fatalf("re-encoded %s is not JSON", out)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("decoded %s as %s", data, out)
		}
	})
}
