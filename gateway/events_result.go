package gateway

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"

	"github.com/portico-dev/portico/gateway/mapping"
)

// scanProxyResponse decodes the usual shape of a proxy result without generic
// maps: a JSON object with a statusCode (an integer, or a string of digits;
// for v1 it may be left out, which is 200),
// headers as an object of strings, multiValueHeaders null, a string body and
// a boolean isBase64Encoded, each at most once, keys without escapes (and for
// payload 2.0 no cookies: those are the generic decoder's). v1 also
// requires that there be no other key. Anything else (and every error) is
// left to the generic decoder: ok false. For what it accepts it gives what
// the generic decoder gives (TestScanProxyResponseMatchesDecoder).
func scanProxyResponse(payload []byte, v1 bool) (*proxyResponse, bool) {
	if !json.Valid(payload) {
		return nil, false
	}
	var status, headers, body, b64 []byte
	i := skipSpace(payload, 0)
	if i >= len(payload) || payload[i] != '{' {
		return nil, false
	}
	i = skipSpace(payload, i+1)
	for i < len(payload) && payload[i] != '}' {
		if payload[i] == ',' {
			i = skipSpace(payload, i+1)
		}
		kEnd, plain := stringEnd(payload, i)
		if !plain {
			return nil, false
		}
		key := payload[i+1 : kEnd-1]
		i = skipSpace(payload, kEnd)
		i = skipSpace(payload, i+1) // the ':'
		vEnd := valueEnd(payload, i)
		val := payload[i:vEnd]
		i = skipSpace(payload, vEnd)
		var slot *[]byte
		switch string(key) {
		case "statusCode":
			slot = &status
		case "headers":
			slot = &headers
		case "body":
			slot = &body
		case "isBase64Encoded":
			slot = &b64
		case "multiValueHeaders", "cookies":
			if string(val) != "null" {
				return nil, false
			}
			continue
		default:
			if v1 {
				return nil, false
			}
			continue
		}
		if *slot != nil {
			return nil, false // a repeated key: the generic decoder keeps the last
		}
		*slot = val
	}

	code := http.StatusOK // payload 1.0 without a statusCode
	if status != nil || !v1 {
		c, ok := statusOf(status)
		if !ok {
			return nil, false
		}
		code = c
	}
	resp := &proxyResponse{status: code}
	resp.fields = resp.fieldBuf[:0]
	if headers != nil && string(headers) != "null" {
		fields, ok := scanHeaders(headers, resp.fields)
		if !ok {
			return nil, false
		}
		resp.fields = fields
	}
	isB64 := false
	switch string(b64) {
	case "", "null", "false":
	case "true":
		isB64 = true
	default:
		return nil, false
	}
	if body != nil && string(body) != "null" {
		if body[0] != '"' {
			return nil, false
		}
		s := jsonStringBytes(body)
		if isB64 {
			b, err := base64.StdEncoding.DecodeString(string(s))
			if err != nil {
				return nil, false
			}
			resp.base64, s = s, b
		}
		resp.body = s
	}
	return resp, true
}

// statusOf reads a statusCode of 200..599 written as digits or as a string of
// digits (a 1xx is an interim answer a function result cannot be).
func statusOf(raw []byte) (int, bool) {
	if len(raw) >= 2 && raw[0] == '"' {
		raw = raw[1 : len(raw)-1]
	}
	if len(raw) == 0 || len(raw) > 3 {
		return 0, false
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	code, err := strconv.Atoi(string(raw))
	return code, err == nil && validResultStatus(code)
}

// scanHeaders appends the fields of an object of string values to fields,
// named canonically; false for anything else, and for names that differ only
// in case (the decoder's order decides between those).
func scanHeaders(obj []byte, fields []headerField) ([]headerField, bool) {
	if obj[0] != '{' {
		return nil, false
	}
	i := skipSpace(obj, 1)
	for i < len(obj) && obj[i] != '}' {
		if obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
		kEnd, plain := stringEnd(obj, i)
		if !plain {
			return nil, false
		}
		key := obj[i+1 : kEnd-1]
		if !validHeaderName(key) {
			return nil, false // the decoder refuses it
		}
		i = skipSpace(obj, kEnd)
		i = skipSpace(obj, i+1)
		if i >= len(obj) || obj[i] != '"' {
			return nil, false
		}
		vEnd, _ := stringEnd(obj, i)
		name := canonicalHeaderName(key)
		for _, f := range fields {
			if f.name == name {
				return nil, false
			}
		}
		v := jsonStringBytes(obj[i:vEnd])
		if controlChar(v) >= 0 {
			return nil, false // the decoder refuses it
		}
		fields = append(fields, headerField{name, headerValue(v)})
		i = skipSpace(obj, vEnd)
	}
	return fields, true
}

// validHeaderName says whether key is a header name: one or more token
// characters.
func validHeaderName(key []byte) bool {
	if len(key) == 0 {
		return false
	}
	for _, c := range key {
		if !httpguts.IsTokenRune(rune(c)) {
			return false
		}
	}
	return true
}

// canonicalHeaderName is http.CanonicalHeaderKey(string(key)), without
// allocating for common names.
func canonicalHeaderName(key []byte) string {
	if name, ok := commonHeaderNames[string(key)]; ok {
		return name
	}
	return http.CanonicalHeaderKey(string(key))
}

// commonHeaderNames maps the usual spellings of common response header names
// (canonical, lower case) to their canonical names.
var commonHeaderNames = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Headers", "Access-Control-Allow-Methods",
		"Access-Control-Allow-Credentials", "Access-Control-Expose-Headers", "Cache-Control", "Content-Encoding",
		"Content-Language", "Content-Type", "Etag", "Expires", "Last-Modified", "Location", "Set-Cookie", "Vary",
		"X-Request-Id", "X-Powered-By"} {
		m[k], m[strings.ToLower(k)] = k, k
	}
	m["ETag"] = "Etag"
	return m
}()

// headerValue is string(v), without allocating for common content types.
func headerValue(v []byte) string {
	switch string(v) {
	case "application/json":
		return "application/json"
	case "application/json; charset=utf-8":
		return "application/json; charset=utf-8"
	case "text/plain":
		return "text/plain"
	case "text/plain; charset=utf-8":
		return "text/plain; charset=utf-8"
	case "text/html":
		return "text/html"
	case "text/html; charset=utf-8":
		return "text/html; charset=utf-8"
	}
	return string(v)
}

// jsonStringBytes returns the value of a JSON string (its raw text, quotes
// included, from a valid JSON document) as encoding/json decodes it: its
// bytes as they are when it holds no escape and valid UTF-8, else a new
// slice.
func jsonStringBytes(raw []byte) []byte {
	s := raw[1 : len(raw)-1]
	for i := 0; i < len(s); {
		c := s[i]
		if c == '\\' {
			return unquoteJSON(make([]byte, 0, len(s)), s)
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			return unquoteJSON(make([]byte, 0, len(s)+8), s)
		}
		i += size
	}
	return s
}

// unquoteJSON appends the value of s, the inside of a valid JSON string, as
// encoding/json decodes it: escapes resolved, a \u escape of a lone
// surrogate and every byte of invalid UTF-8 replaced by U+FFFD.
func unquoteJSON(b, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			// The document is valid JSON: every escape decodes.
			var n int
			b, n, _ = mapping.AppendJSONEscape(b, s[i+1:])
			i += 1 + n
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
	return b
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that starts at b[i] (a
// '"' in valid JSON), and whether it is plain: no escape and only ASCII, so
// that its bytes are its value.
func stringEnd(b []byte, i int) (int, bool) {
	plain := true
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, plain
		case c == '\\':
			plain = false
			j++
		case c >= 0x80:
			plain = false
		}
	}
	return len(b), false
}

// valueEnd returns the index just past the JSON value that starts at b[i]
// (b is valid JSON).
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := stringEnd(b, j)
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}
