package app_test

import (
	"encoding"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/portico-dev/portico/cmd/portico/app" // every package that persists, and its store.Record calls
	"github.com/portico-dev/portico/store"
)

var updateShapes = flag.Bool("update", false, "rewrite testdata/persisted-shapes.golden")

const shapesGolden = "testdata/persisted-shapes.golden"

// TestPersistedShapes fingerprints the JSON shape of every record type the
// store holds (each bucket's, as declared with store.Record) and compares it
// with testdata/persisted-shapes.golden, which names the SchemaVersion it was
// made at. A change of shape (a field added, removed, renamed, retyped; a
// bucket added) without a new SchemaVersion fails: an older build of the same
// schema would open the store and silently drop or misread what it does not
// know, as b4f2244 dropped main's x- extensions and event invoke configs.
// Also fails when a bucket constant (a const named bucket...) in the module is
// not declared with store.Record.
func TestPersistedShapes(t *testing.T) {
	got := fmt.Sprintf("schema %d\n%s", store.SchemaVersion, shapes())
	if *updateShapes {
		if err := os.WriteFile(shapesGolden, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	raw, err := os.ReadFile(shapesGolden)
	if err != nil {
		t.Fatal(err)
	}
	want := string(raw)
	if got == want {
		return
	}
	wantVersion, wantShapes, _ := strings.Cut(want, "\n")
	_, gotShapes, _ := strings.Cut(got, "\n")
	if wantVersion == fmt.Sprintf("schema %d", store.SchemaVersion) {
		t.Fatalf("the shape of what the store holds changed, and store.SchemaVersion is still %d.\n"+
			"Raise SchemaVersion (store/store.go, saying what changed), register a store.Migration from %d for records "+
			"that must be rewritten (or that read differently: report them with Tx.Changed), so that older builds refuse "+
			"the store instead of dropping what they do not know; then run\n"+
			"  go test ./cmd/portico/app -run TestPersistedShapes -update\n\n%s",
			store.SchemaVersion, store.SchemaVersion, lineDiff(wantShapes, gotShapes))
	}
	t.Fatalf("store.SchemaVersion is %d, %s was made at %s: run\n  go test ./cmd/portico/app -run TestPersistedShapes -update\n\n%s",
		store.SchemaVersion, shapesGolden, wantVersion, lineDiff(wantShapes, gotShapes))
}

// TestEveryBucketIsDeclared: every const or var named bucket... whose value
// is a string literal, in the module's non-test code, names a bucket declared
// with store.Record, so that TestPersistedShapes sees its records.
func TestEveryBucketIsDeclared(t *testing.T) {
	declared := store.Records()
	root := filepath.Join("..", "..", "..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || (g.Tok != token.CONST && g.Tok != token.VAR) {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "bucket") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					b, _ := strconv.Unquote(lit.Value)
					if _, ok := declared[b]; !ok {
						t.Errorf("%s: bucket %q (%s) is not declared with store.Record(%s, T{}): declare its record type in an init function", fset.Position(name.Pos()), b, name.Name, name.Name)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// shapes describes every declared bucket's record type, one line per field.
func shapes() string {
	recs := store.Records()
	var b strings.Builder
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range recs {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(&b, "bucket %s: %s\n", name, recs[name])
		describe(&b, recs[name], "  ", map[reflect.Type]bool{})
	}
	return b.String()
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
)

// describe writes the JSON shape of t: a struct's fields (as encoding/json
// names them, embedded structs inlined), element types of maps, slices and
// pointers; a type with its own JSON encoding is named, not opened.
func describe(b *strings.Builder, t reflect.Type, indent string, seen map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType || t == rawType:
		return
	case t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType),
		t.Implements(textType) || reflect.PointerTo(t).Implements(textType):
		fmt.Fprintf(b, "%s(custom JSON of %s)\n", indent, t)
		return
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		if t.Kind() == reflect.Map {
			fmt.Fprintf(b, "%skey %s\n", indent, t.Key())
		}
		describe(b, t.Elem(), indent, seen)
	case reflect.Struct:
		if seen[t] {
			fmt.Fprintf(b, "%s(%s, as above)\n", indent, t)
			return
		}
		seen[t] = true
		defer delete(seen, t)
		for f := range t.Fields() {
			if !f.IsExported() && !f.Anonymous {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				for ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					describe(b, ft, indent, seen)
					continue
				}
			}
			if name == "" {
				name = f.Name
			}
			fmt.Fprintf(b, "%s%s %s", indent, name, f.Type)
			if opts != "" {
				fmt.Fprintf(b, " ,%s", opts)
			}
			b.WriteString("\n")
			describe(b, f.Type, indent+"  ", seen)
		}
	}
}

// lineDiff names each bucket whose shape differs, with its block before (-)
// and after (+).
func lineDiff(want, got string) string {
	blocks := func(s string) map[string]string {
		m := map[string]string{}
		for _, blk := range strings.SplitAfter(s, "\nbucket ") {
			blk = strings.TrimPrefix(strings.TrimSuffix(blk, "bucket "), "bucket ")
			name, _, _ := strings.Cut(blk, ":")
			m[name] = blk
		}
		return m
	}
	w, g := blocks(want), blocks(got)
	var out []string
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		seen := map[string]bool{}
		for _, m := range []map[string]string{w, g} {
			for k := range m {
				if !seen[k] && !yield(k) {
					return
				}
				seen[k] = true
			}
		}
	}) {
		if w[name] == g[name] {
			continue
		}
		out = append(out, "bucket "+name+" was:\n"+w[name]+"is now:\n"+g[name])
	}
	return strings.Join(out, "\n")
}
