package apis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
)

// JSONValueError words err, an error of decoding the JSON value raw, which a
// document calls name (an extension such as "x-amazon-apigateway-cors"), for
// the document's author. A value of the wrong type (*json.UnmarshalTypeError)
// becomes "NAME.PATH must be WANT, not GOT", PATH the value's place in raw
// (map keys and list indexes included) and WANT what the field takes in the
// document's terms ("a list of strings"), never Go's type names. Any other
// error is returned as "NAME: err". A nil err is nil.
func JSONValueError(name string, raw []byte, err error) error {
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s: %w", name, err)
	}
	got, detail, _ := strings.Cut(te.Value, " ")
	got = jsonKinds[got]
	if got == "" {
		got = "a " + te.Value
	}
	if detail != "" {
		got = fmt.Sprintf("%s (%.40s)", got, detail)
	}
	return fmt.Errorf("%s%s must be %s, not %s", name, jsonPathAt(raw, te.Offset), jsonWant(te.Type), got)
}

var jsonKinds = map[string]string{"string": "a string", "number": "a number", "bool": "true or false",
	"array": "a list", "object": "an object", "null": "null"}

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	numberType     = reflect.TypeFor[json.Number]()
)

// jsonWant says what a value of Go type t is in a JSON document.
func jsonWant(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case rawMessageType:
		return "a JSON value"
	case numberType:
		return "a number"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		if e := jsonPlural(t.Elem()); e != "" {
			return "a list of " + e
		}
		return "a list"
	case reflect.Map:
		if e := jsonPlural(t.Elem()); e != "" {
			return "an object of " + e
		}
		return "an object"
	case reflect.Struct:
		return "an object"
	}
	return "another type"
}

// jsonPlural names values of type t in the plural ("strings"), "" where
// "a list" or "an object" says enough.
func jsonPlural(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessageType {
		return ""
	}
	switch t.Kind() {
	case reflect.String:
		return "strings"
	case reflect.Bool:
		return "booleans"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integers"
	case reflect.Float32, reflect.Float64:
		return "numbers"
	case reflect.Map, reflect.Struct:
		return "objects"
	case reflect.Slice, reflect.Array:
		return "lists"
	}
	return ""
}

var plainKey = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$-]*$`)

// jsonPathAt returns the place in the JSON value raw of the value that
// starts at or ends at byte offset off (".a.b", "[0]", `["application/json"]`;
// "" for raw itself), as encoding/json reports it in an UnmarshalTypeError:
// after the value's opening delimiter, or after a scalar.
func jsonPathAt(raw []byte, off int64) string {
	type frame struct {
		object   bool
		key      string
		index    int
		wantsKey bool
	}
	var stack []frame
	dec := json.NewDecoder(bytes.NewReader(raw))
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			switch {
			case !f.object:
				fmt.Fprintf(&b, "[%d]", f.index)
			case plainKey.MatchString(f.key):
				b.WriteString("." + f.key)
			default:
				fmt.Fprintf(&b, "[%.60q]", f.key)
			}
		}
		return b.String()
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 {
				top := &stack[len(stack)-1]
				top.index++
				top.wantsKey = top.object
			}
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantsKey {
			stack[n-1].key, _ = tok.(string)
			stack[n-1].wantsKey = false
			continue
		}
		// tok is a value (or opens one) at path().
		if dec.InputOffset() >= off {
			return path()
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, frame{object: d == '{', wantsKey: d == '{'})
			continue
		}
		if n := len(stack); n > 0 {
			stack[n-1].index++
			stack[n-1].wantsKey = stack[n-1].object
		}
	}
}
