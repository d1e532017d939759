package upgradetest

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Diff is one difference between two JSON values: at Path (a slash-separated
// path of object keys and array indexes, "" for the root), Old is what the
// old build answered and New what this build does; a value missing on one
// side is Missing.
type Diff struct {
	Path     string
	Old, New any
}

// pointerEscaper escapes a key in a Diff's Path as a JSON pointer does
// (RFC 6901): ~ as ~0, / as ~1.
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// Missing stands for a member or element absent on one side of a Diff.
var Missing = missing{}

type missing struct{}

func (missing) String() string { return "(missing)" }

func (d Diff) String() string {
	return fmt.Sprintf("%s: old %s, new %s", d.Path, show(d.Old), show(d.New))
}

func show(v any) string {
	if v == Missing {
		return "(missing)"
	}
	s := fmt.Sprintf("%#v", v)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// Compare returns the differences between old and new, decoded JSON values,
// in a stable order. Arrays are compared element by element.
func Compare(old, new any) []Diff {
	var out []Diff
	compare("", old, new, &out)
	return out
}

func compare(path string, old, new any, out *[]Diff) {
	switch o := old.(type) {
	case map[string]any:
		n, ok := new.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(o)+len(n))
		for k := range o {
			keys = append(keys, k)
		}
		for k := range n {
			if _, ok := o[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			ov, ook := o[k]
			nv, nok := n[k]
			p := path + "/" + pointerEscaper.Replace(k)
			switch {
			case !ook:
				*out = append(*out, Diff{Path: p, Old: Missing, New: nv})
			case !nok:
				*out = append(*out, Diff{Path: p, Old: ov, New: Missing})
			default:
				compare(p, ov, nv, out)
			}
		}
		return
	case []any:
		n, ok := new.([]any)
		if !ok {
			break
		}
		for i := range max(len(o), len(n)) {
			p := path + "/" + strconv.Itoa(i)
			switch {
			case i >= len(o):
				*out = append(*out, Diff{Path: p, Old: Missing, New: n[i]})
			case i >= len(n):
				*out = append(*out, Diff{Path: p, Old: o[i], New: Missing})
			default:
				compare(p, o[i], n[i], out)
			}
		}
		return
	}
	if !reflect.DeepEqual(old, new) {
		*out = append(*out, Diff{Path: path, Old: old, New: new})
	}
}
