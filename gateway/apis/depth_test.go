package apis

import (
	"errors"
	"strings"
	"testing"
)

// TestCheckDepth: CheckDepth names, as a JSON pointer, the first value nested
// past the limit, counts brackets inside strings as text, and lets JSON
// within the limit through.
func TestCheckDepth(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		limit     int
		want      string // "" for no error
	}{
		{"within", `{"a":[1,{"b":2}]}`, 3, ""},
		{"brackets in strings", `{"a":"[[[[{{{{\"]]"}`, 1, ""},
		{"object", `{"a":{"b":{"c":{}}}}`, 3, "at /a/b/c: nests objects and arrays too deeply (more than 3 levels)"},
		{"array index", `{"x":[0,"s",{"y":[[]]}]}`, 4, "at /x/2/y/0: nests"},
		{"escaped key", `{"a/b":{"~":[[]]}}`, 3, "at /a~1b/~0/0: nests"},
		{"root", `[[]]`, 1, "at /0: nests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckDepth([]byte(tc.raw), tc.limit)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("CheckDepth: %v", err)
			case tc.want == "":
			case err == nil || !errors.Is(err, ErrTooDeep) || !strings.HasPrefix(err.Error(), tc.want):
				t.Fatalf("CheckDepth: %v, want %q", err, tc.want)
			}
		})
	}
}

// TestCompileModelsOncePerChange: compiling the same models of the same API
// again (an API change that leaves them alone) reuses the compiled schemas;
// another API's, or changed models, are compiled anew.
func TestCompileModelsOncePerChange(t *testing.T) {
	models := DefaultModels()
	first, err := CompileModels("a1", models)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := CompileModels("a1", DefaultModels())
	other, _ := CompileModels("a2", models)
	models["Empty"] = []byte(`{"type":"object","title":"changed"}`)
	changed, _ := CompileModels("a1", models)
	switch {
	case again["Error"] != first["Error"]:
		t.Error("the same models were compiled again")
	case other["Error"] == first["Error"]:
		t.Error("another API's models came from the first API's compilation")
	case changed["Error"] == first["Error"]:
		t.Error("changed models came from the earlier compilation")
	}
}
