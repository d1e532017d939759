package mapping

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

// BenchmarkDecodeBody decodes the typical template's 8 KB body, the part of
// BenchmarkRenderTypical that depends on the request, into slabs reused as
// a render reuses them ("slabs") and into new ones, as decodeJSON does
// outside a render ("new"); encoding/json beside it for scale.
func BenchmarkDecodeBody(b *testing.B) {
	body, err := os.ReadFile("testdata/bench/body.json")
	if err != nil {
		b.Fatal(err)
	}
	for _, reuse := range []bool{true, false} {
		name := "new"
		if reuse {
			name = "slabs"
		}
		b.Run(name, func(b *testing.B) {
			var s *slabs
			if reuse {
				s = &slabs{}
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			cpu0 := cpuTime()
			for b.Loop() {
				if _, err := decodeJSONInto(body, s); err != nil {
					b.Fatal(err)
				}
				if s != nil {
					s.reset()
				}
			}
			reportRates(b, cpuTime()-cpu0)
		})
	}
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
// decoded another document) mean the same document; so do the values of a
// document decoded into reused slabs after another one, as a render's
// $util.parseJson does.
func FuzzDecodeJSON(f *testing.F) {
	var s slabs
	other := []byte(`{"x": ["overwrite", 1.5, "\u00e9"], "y": {"x": "z"}, "t": [{"x": 1}, {"x": 2}]}`)
	if body, err := os.ReadFile("testdata/bench/body.json"); err == nil {
		f.Add(body)
	}
	f.Add([]byte(`{"k\"1": "a\nb", "e": "\ud83d\ude00 \u00e9\/", "l": ["\\", "q\"q", 1, 2.5, true, null]}`))
	// Objects whose keys match, or nearly match, the previous object's at
	// their depth (the decoder's key hints).
	for _, doc := range []string{
		`[{"ab": 1, "cd": 2}, {"ab": 3, "cde": 4}, {"a\u0062": 5, "cd": 6}, {"ab": 7}, {"ab": 8, "cd": 9, "x": 1}, {"cd": 1, "ab": 2}, {"ab": 1, "ab": 2}]`,
		`[{"a\"b": 1}, {"a\"b": 2}, {"a\\b": 3}, {"a\\b": 4}, {"a\nb": 5}, {"a\nb": 6}]`,
		`{"o": {"k": 1}, "p": [{"k": 2}, {"k": 3, "j": {"k": 4}}, {"kk": 5}, {"": 6}, {"": 7}]}`,
		`[{"abc": 1}, {"ab": 2}, {"abcd": 3}, {"abc": 4}]`,
	} {
		f.Add([]byte(doc))
	}
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
		s.reset()
		first, err := decodeJSONInto(other, &s)
		if err != nil {
			t.Fatal(err)
		}
		inSlabs, err := decodeJSONInto(data, &s)
		if err != nil {
			t.Fatalf("valid JSON refused with slabs: %v", err)
		}
		for _, c := range []struct {
			doc []byte
			v   any
		}{{data, v}, {data, inSlabs}, {other, first}} {
			out, ok := appendJSON(nil, c.v, 0, 1<<30)
			if !ok {
				return
			}
			var want, got any
			if json.Unmarshal(c.doc, &want) != nil || json.Unmarshal(out, &got) != nil {
				t.Fatalf("re-encoded %s is not JSON", out)
			}
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("decoded %s as %s", c.doc, out)
			}
		}
	})
}

// compactCases are documents for $input.json('$') read without decoding:
// duplicates, escapes, numbers the decoder rewrites, nesting, bad JSON.
var compactCases = []string{
	`{"name": "Ann", "age": 30}`, ` [ 1 , 2.50, -0, 007, 1e3, 1E-2, 12345678901234567890, 1e999, -1e999 ] `,
	`{"a": 1, "b": {"c": [true, false, null]}, "a": 2}`, `{"k\"1": "a\nb", "e": "\ud83d\ude00 \u00e9\/", "l": ["\\", "q\"q"]}`,
	`"just a string"`, `null`, `42`, `{}`, `[]`, `[{}, [], {"": ""}]`, `{"x": {"y": 1, "y": 2}}`,
	`{"a": 1,}`, `[1, 2`, `{"a" 1}`, `{"a": tru}`, `{"a": 1} x`, ``, `   `, "{\"a\": \"\x01\"}", `{"a": "é ☃ 😀"}`,
	strings.Repeat("[", 101) + strings.Repeat("]", 101), strings.Repeat("[", 99) + "1" + strings.Repeat("]", 99),
	strings.Repeat("[", 600) + strings.Repeat("]", 600),
}

// $input.json('$') writes the body without decoding it when it can: the
// same output, or the same error, as decoding it first does.
func TestCompactJSONMatchesDecoded(t *testing.T) {
	direct, err := Parse("t", `$input.json('$')`)
	if err != nil {
		t.Fatal(err)
	}
	big := `{"k": "` + strings.Repeat("x", 100) + `"}`
	for _, doc := range append(compactCases, big) {
		for _, lim := range []int{0, 40, 105} {
			tm := direct.WithLimits(Limits{MaxOutputBytes: lim})
			got, gerr := tm.RenderString(context.Background(), &Vars{Body: []byte(doc)})
			noCompactJSON = true
			want, werr := tm.RenderString(context.Background(), &Vars{Body: []byte(doc)})
			noCompactJSON = false
			if got != want || fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Errorf("%.40q (limit %d): %q %v, decoded %q %v", doc, lim, got, gerr, want, werr)
			}
		}
	}
}

// FuzzCompactJSON checks appendCompactJSON against decoding and appendJSON.
func FuzzCompactJSON(f *testing.F) {
	for _, doc := range compactCases {
		f.Add([]byte(doc))
	}
	var s slabs
	f.Fuzz(func(t *testing.T, data []byte) {
		s.reset()
		got, ok := appendCompactJSON([]byte("x"), data, &s, 1<<20)
		if !ok {
			return
		}
		v, err := decodeJSON(data)
		if err != nil {
			t.Fatalf("%q compacted to %q but does not decode: %v", data, got, err)
		}
		want, _ := appendJSON([]byte("x"), v, 0, 1<<20)
		if !bytes.Equal(got, want) {
			t.Fatalf("%q compacted to %q, decoded writes %q", data, got, want)
		}
	})
}
