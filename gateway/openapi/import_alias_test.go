package openapi

import (
	"errors"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
)

// aliasBomb is the tester's document: one 1 MB string and n aliases to it,
// 1 MB of YAML that its aliases make n MB, too few aliases for yaml.v3's own
// "excessive aliasing" check.
func aliasBomb(title string, n int) []byte {
	return []byte("openapi: 3.0.1\ninfo: {title: " + title + ", version: \"1\"}\npaths: {}\n" +
		"x-a: &a \"" + strings.Repeat("x", 1_000_000) + "\"\n" +
		"x-b: [" + strings.TrimSuffix(strings.Repeat("*a,", n), ",") + "]\n")
}

// TestImportBoundsAliasExpansion: a YAML document is bounded as it expands,
// not only as it is sent: one whose aliases take it past MaxDocument is
// refused as invalid (400) before it is decoded, saying why; one whose
// aliases stay within it imports, with the values the aliases name.
func TestImportBoundsAliasExpansion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		doc  []byte
	}{
		{"one string 150 times", aliasBomb("bomb3", 150)},
		{"just past the limit", aliasBomb("bomb7", 7)},
		{"an alias in a merge key", []byte("openapi: 3.0.1\ninfo: {title: m, version: \"1\"}\npaths: {}\n" +
			"x-a: &a {k: \"" + strings.Repeat("x", 1_000_000) + "\"}\n" +
			"x-b: [" + strings.TrimSuffix(strings.Repeat("{<<: *a},", 10), ",") + "]\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := Import(t.Context(), tc.doc, Options{})
			if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "aliases expand it past 6291456 bytes") {
				t.Fatalf("import of %d bytes: %v, %v; want ErrInvalid for the expansion", len(tc.doc), res, err)
			}
		})
	}
	res, err := Import(t.Context(), aliasBomb("five", 5), Options{})
	if err != nil {
		t.Fatalf("import of five aliases (5 MB expanded): %v", err)
	}
	if got, ok := res.API.Extensions["x-b"]; !ok || len(got) < 5_000_000 {
		t.Fatalf("x-b kept as %d bytes, want the five expanded values", len(got))
	}
}

// TestToJSONRefusesSelfAlias: an alias inside the value it names has no
// expansion; it is refused, not walked for ever.
func TestToJSONRefusesSelfAlias(t *testing.T) {
	t.Parallel()
	if js, err := ToJSON([]byte("a: &x [1, *x]\n")); err == nil {
		t.Fatalf("ToJSON: %s, want an error", js)
	}
	if js, err := ToJSON([]byte("a: &x {b: 1}\nc: *x\n")); err != nil || string(js) != `{"a":{"b":1},"c":{"b":1}}` {
		t.Fatalf("ToJSON: %s, %v", js, err)
	}
	if js, err := ToJSON([]byte("")); err != nil || string(js) != "null" {
		t.Fatalf("ToJSON of nothing: %s, %v", js, err)
	}
}
