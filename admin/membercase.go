package admin

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/redact"
)

// Lambda's JSON protocol matches member names exactly: Lambda ignores
// "timeout" as an unknown member, where encoding/json would set Timeout
// from it. miscasedMember finds, in raw (a JSON document that decoded into a
// value of type t), the first object key that names a member of t's only in
// another case, and returns it with the member's name ("" when there is
// none), so that such a key is refused rather than applied where Lambda
// would not apply it. Keys that name no member are left alone: Lambda
// ignores unknown members. It allocates nothing for string values (a
// function's code is tens of megabytes of them).
func miscasedMember(raw []byte, t reflect.Type) (got, want string) {
	p := memberScanner{raw: raw}
	p.value(t)
	return p.got, p.want
}

// memberScanner walks a JSON document known to be valid.
type memberScanner struct {
	raw       []byte
	i         int
	got, want string
}

func (p *memberScanner) skipSpace() {
	for p.i < len(p.raw) && (p.raw[p.i] == ' ' || p.raw[p.i] == '\t' || p.raw[p.i] == '\n' || p.raw[p.i] == '\r') {
		p.i++
	}
}

// str skips the string at p.i and returns its raw text, quotes included.
func (p *memberScanner) str() []byte {
	start := p.i
	p.i++ // "
	for p.i < len(p.raw) {
		switch p.raw[p.i] {
		case '\\':
			p.i += 2
			continue
		case '"':
			p.i++
			return p.raw[start:p.i]
		}
		p.i++
	}
	return p.raw[start:p.i]
}

// value walks the value at p.i, of Go type t (nil: no type to check against).
func (p *memberScanner) value(t reflect.Type) {
	t = memberType(t)
	p.skipSpace()
	if p.i >= len(p.raw) || p.got != "" {
		return
	}
	switch p.raw[p.i] {
	case '{':
		p.i++
		var fields map[string]string
		var types map[string]reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields, types = structMembers(t)
		}
		for {
			p.skipSpace()
			if p.i >= len(p.raw) || p.raw[p.i] == '}' {
				p.i++
				return
			}
			if p.raw[p.i] == ',' {
				p.i++
				continue
			}
			rawKey := p.str()
			var key string
			if json.Unmarshal(rawKey, &key) != nil {
				key = string(rawKey)
			}
			p.skipSpace()
			p.i++ // :
			var vt reflect.Type
			switch {
			case t != nil && t.Kind() == reflect.Map:
				vt = t.Elem()
			case fields != nil:
				if ft, ok := types[key]; ok {
					vt = ft
				} else if name, ok := fields[strings.ToLower(key)]; ok {
					p.got, p.want = key, name
					return
				}
			}
			p.value(vt)
			if p.got != "" {
				return
			}
		}
	case '[':
		p.i++
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for {
			p.skipSpace()
			if p.i >= len(p.raw) || p.raw[p.i] == ']' {
				p.i++
				return
			}
			if p.raw[p.i] == ',' {
				p.i++
				continue
			}
			p.value(et)
			if p.got != "" {
				return
			}
		}
	case '"':
		p.str()
	default: // number, true, false, null
		for p.i < len(p.raw) && !strings.ContainsRune(",]} \t\r\n", rune(p.raw[p.i])) {
			p.i++
		}
	}
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// memberType is t without pointers; nil when t decodes itself (a
// json.Unmarshaler, json.RawMessage) or is nil.
func memberType(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	return t
}

var structMemberCache sync.Map // reflect.Type -> [2]any{fields, types}

// structMembers returns the JSON member names of struct type t (embedded
// structs' promoted), by lower-cased name, and their Go types, by name.
func structMembers(t reflect.Type) (fields map[string]string, types map[string]reflect.Type) {
	if v, ok := structMemberCache.Load(t); ok {
		m := v.([2]any)
		return m[0].(map[string]string), m[1].(map[string]reflect.Type)
	}
	fields, types = map[string]string{}, map[string]reflect.Type{}
	var add func(reflect.Type)
	add = func(t reflect.Type) {
		for f := range t.Fields() {
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				if ft := memberType(f.Type); ft != nil && ft.Kind() == reflect.Struct {
					add(ft)
					continue
				}
			}
			if !f.IsExported() && !f.Anonymous {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fields[strings.ToLower(name)], types[name] = name, f.Type
		}
	}
	add(t)
	structMemberCache.Store(t, [2]any{fields, types})
	return fields, types
}

// checkMemberCase refuses a Lambda body (raw, decoded into v) with a key
// that names one of v's members in another case (miscasedMember).
func checkMemberCase(raw []byte, v any) error {
	got, want := miscasedMember(raw, reflect.TypeOf(v))
	if got == "" {
		return nil
	}
	if w := redact.Withheld(got); w != "" {
		got = w
	} else {
		got = strconv.Quote(got)
	}
	return errdefs.New(errdefs.ErrInvalid, "InvalidRequestContentException", fmt.Sprintf(
		"Member %s is not one of Lambda's: member names are case-sensitive, and Lambda ignores a member it does not know; send %q", got, want))
}
