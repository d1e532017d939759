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
			// (The race detector's own allocations count too.)
			if limit := uint64(4 * DefaultLimits().MaxHeldBytes); alloc > limit {
				t.Errorf("the render allocated %d bytes for a %d-byte body, want at most %d (4 x MaxHeldBytes)", alloc, len(c.body), limit)
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

// TestEncodingsFailBeforeBuilding: $util.escapeJavaScript, urlEncode and
// base64Encode of a body whose result would pass MaxOutputBytes (9 MB of
// control bytes escape to 54 MB) fail the render without building the
// result: the render allocates about the body's size, not six times it.
func TestEncodingsFailBeforeBuilding(t *testing.T) {
	body := strings.Repeat("\x01", 9_000_000)
	for _, tmpl := range []string{
		`{"b": "$util.escapeJavaScript($input.body)"}`,
		`#set($e = $util.escapeJavaScript($input.body))$e.length()`,
		`#set($e = $util.urlEncode($input.body))$e.length()`,
		`#set($e = $util.base64Encode($input.body))$e.length()`,
	} {
		alloc, err := renderAlloc(t, tmpl, body)
		t.Logf("%s: allocated %d bytes (%.1fx the body)", tmpl, alloc, float64(alloc)/float64(len(body)))
		if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "larger than 10485760 bytes") &&
			!strings.Contains(err.Error(), "longer than 10485760 bytes") {
			t.Fatalf("%s: error %v, want ErrLimit for the size", tmpl, err)
		}
		if limit := uint64(3 * len(body)); alloc > limit {
			t.Errorf("%s: allocated %d bytes, want at most %d", tmpl, alloc, limit)
		}
	}
}

// TestEncodedLengths: the lengths the encodings are checked by are theirs.
func TestEncodedLengths(t *testing.T) {
	for _, s := range []string{"", "plain", "a'b\"c\\d/e", "\b\f\n\r\t\x00\x01\x1f ", "é€😀", "\xff\xfe bad \xc3", "a b+c~d%*._-"} {
		if got, want := escapeJavaScriptLen(s), len(escapeJavaScript(s)); got != want {
			t.Errorf("escapeJavaScriptLen(%q) = %d, want %d", s, got, want)
		}
		if got, want := urlEncodeLen(s), len(urlEncode(s)); got != want {
			t.Errorf("urlEncodeLen(%q) = %d, want %d", s, got, want)
		}
	}
}

// TestInterpolationFailsBeforeBuilding: a string interpolation
// ("$input.body$input.body") or a concatenation whose result would pass
// MaxOutputBytes fails the render without building the whole string first:
// the render allocates about the body's size (plus what passing the body to
// the render costs), not the result's.
func TestInterpolationFailsBeforeBuilding(t *testing.T) {
	body := strings.Repeat("x", 9_000_000)
	for _, tmpl := range []string{
		`#set($s = "$input.body$input.body")$s.length()`,
		`#set($s = "$input.body$input.body$input.body$input.body")$s.length()`,
		`#set($b = $input.body)#set($s = "${b}${b}${b}${b}${b}${b}")$s.length()`,
		`#set($b = $input.body)#set($s = $b + $b)$s.length()`,
	} {
		alloc, err := renderAlloc(t, tmpl, body)
		t.Logf("%s: allocated %d bytes (%.1fx the body)", tmpl, alloc, float64(alloc)/float64(len(body)))
		if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "larger than 10485760 bytes") &&
			!strings.Contains(err.Error(), "longer than 10485760 bytes") {
			t.Fatalf("%s: error %v, want ErrLimit for the size", tmpl, err)
		}
		if limit := uint64(5 * len(body) / 2); alloc > limit {
			t.Errorf("%s: allocated %d bytes, want at most %d", tmpl, alloc, limit)
		}
	}
}
