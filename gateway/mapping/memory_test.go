package mapping

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// renderAlloc renders tmpl over body once and returns the bytes the render
// allocated and its error.
func renderAlloc(t *testing.T, tmpl, body string) (uint64, error) {
	t.Helper()
	tm, err := Parse("application/json", tmpl)
	if err != nil {
		t.Fatal(err)
	}
	v := &Vars{Body: []byte(body)}
	var out bytes.Buffer
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err = tm.Render(context.Background(), v, &out)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, err
}

// TestDecodedBodyMemoryIsBounded: a body of many small JSON values (9 MB of
// empty objects or zeros, within the 10 MB payload limit) read by
// $input.json or $input.path takes no more memory than MaxHeldBytes allows
// (a few times the body), rather than sixty times the body: the decoding
// stops, and the body counts as JSON that cannot be parsed.
func TestDecodedBodyMemoryIsBounded(t *testing.T) {
	for _, c := range []struct{ name, body, tmpl string }{
		{"empty objects, $input.json", "[" + strings.Repeat("{},", 3_000_000) + "{}]", `$input.json("$[0]")`},
		{"zeros, $input.path", "[" + strings.Repeat("0,", 4_500_000) + "0]", `$input.path("$[0]")`},
		{"empty arrays in objects", "[" + strings.Repeat(`{"a":[]},`, 1_000_000) + "{}]", `$input.json("$[0]")`},
	} {
		t.Run(c.name, func(t *testing.T) {
			alloc, err := renderAlloc(t, c.tmpl, c.body)
			t.Logf("body %d bytes, render allocated %d bytes (%.1fx)", len(c.body), alloc, float64(alloc)/float64(len(c.body)))
			if !errors.Is(err, ErrBodyNotJSON) || !strings.Contains(err.Error(), "the body is too large to read as JSON") {
				t.Fatalf("error %v, want ErrBodyNotJSON: too large", err)
			}
			if limit := uint64(3 * DefaultLimits().MaxHeldBytes); alloc > limit {
				t.Errorf("the render allocated %d bytes for a %d-byte body, want at most %d (3 x MaxHeldBytes)", alloc, len(c.body), limit)
			}
		})
	}
}

// TestOrdinaryLargeBodyDecodes: a body of records of a few fields, 4 MB,
// decodes within MaxHeldBytes.
func TestOrdinaryLargeBodyDecodes(t *testing.T) {
	body := `{"items": [` + strings.Repeat(`{"id": 123456, "name": "a name", "tags": ["x", "y"], "ok": true},`, 60_000) + `{}]}`
	alloc, err := renderAlloc(t, `$input.path("$.items").size() $input.json("$.items[59999].name")`, body)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("body %d bytes, render allocated %d bytes", len(body), alloc)
}
