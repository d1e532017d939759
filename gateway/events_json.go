package gateway

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/portico-dev/portico/gateway/internal/jsonw"
)

// The AWS_PROXY events are encoded by appending bytes rather than through
// encoding/json's reflection (events_append.go): the output is byte for byte
// what json.Marshal gives for the same aws-lambda-go struct (field order,
// omitempty, map keys sorted, encoding/json's string escaping with HTML
// escaping). Values that only authorizers and client certificates bring
// (nested objects of any shape) are rare and go through json.Marshal.

// appendMarshal appends json.Marshal(v).
func appendMarshal(b []byte, v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, raw...), nil
}

// sortedMapKeys returns m's keys sorted, in buf when it is large enough.
func sortedMapKeys[V any](m map[string]V, buf []string) []string {
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendStringMap encodes a map of strings: null when nil, keys sorted.
func appendStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	var buf [16]string
	b = append(b, '{')
	for i, k := range sortedMapKeys(m, buf[:]) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	return append(b, '}')
}

// appendStrings encodes a list of strings; a nil list is null.
func appendStrings(b []byte, vs []string) []byte {
	if vs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, v)
	}
	return append(b, ']')
}

// appendJSONString appends s as a JSON string exactly as encoding/json writes
// it (jsonw.AppendString).
func appendJSONString[S ~string | ~[]byte](b []byte, s S) []byte { return jsonw.AppendString(b, s) }

// appendEscaped appends the inside of s's JSON string (jsonw.AppendEscaped).
func appendEscaped[S ~string | ~[]byte](b []byte, s S) []byte { return jsonw.AppendEscaped(b, s) }

// appendJSONStrings appends the JSON string of the concatenation of parts
// without building it. (Escaping the parts one after the other is escaping
// their concatenation but where a character straddles a seam: then it is
// built.)
func appendJSONStrings(b []byte, parts ...string) []byte {
	n := 0
	for _, p := range parts {
		if n > 0 && len(p) > 0 && p[0] >= utf8.RuneSelf {
			return appendJSONString(b, strings.Join(parts, ""))
		}
		n += len(p)
	}
	b = append(b, '"')
	for _, p := range parts {
		b = appendEscaped(b, p)
	}
	return append(b, '"')
}
