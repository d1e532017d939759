package gateway

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// The AWS_PROXY events are encoded by appending bytes rather than through
// encoding/json's reflection (events_append.go): the output is byte for byte
// what json.Marshal gives for the same aws-lambda-go struct (field order,
// omitempty, map keys sorted, encoding/json's string escaping with HTML
// escaping). Values that only authorizers and client certificates bring
// (nested objects of any shape) are rare and go through json.Marshal.

// appendIdentity encodes requestContext.identity of a payload 1.0 event.
func appendIdentity(b []byte, id *events.APIGatewayRequestIdentity) ([]byte, error) {
	b = append(b, '{')
	first := true
	opt := func(name, v string) {
		if v != "" {
			b = appendField(b, &first, name)
			b = appendJSONString(b, v)
		}
	}
	opt("cognitoIdentityPoolId", id.CognitoIdentityPoolID)
	opt("accountId", id.AccountID)
	opt("cognitoIdentityId", id.CognitoIdentityID)
	opt("caller", id.Caller)
	opt("apiKey", id.APIKey)
	opt("apiKeyId", id.APIKeyID)
	opt("accessKey", id.AccessKey)
	b = appendField(b, &first, "sourceIp")
	b = appendJSONString(b, id.SourceIP)
	opt("cognitoAuthenticationType", id.CognitoAuthenticationType)
	opt("cognitoAuthenticationProvider", id.CognitoAuthenticationProvider)
	opt("userArn", id.UserArn)
	b = append(b, `,"userAgent":`...)
	b = appendJSONString(b, id.UserAgent)
	opt("user", id.User)
	if id.ClientCert != nil {
		b = append(b, `,"clientCert":`...)
		var err error
		if b, err = appendMarshal(b, id.ClientCert); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendField appends an object member's name, with the comma before it
// unless it is the first.
func appendField(b []byte, first *bool, name string) []byte {
	if !*first {
		b = append(b, ',')
	}
	*first = false
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

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

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json writes
// it: HTML characters (<, >, &), control characters, U+2028 and U+2029
// escaped, invalid UTF-8 replaced by U+FFFD.
func appendJSONString[S ~string | ~[]byte](b []byte, s S) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s)
	return append(b, '"')
}

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

// jsonSafe marks the ASCII bytes encoding/json writes as they are.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendEscaped appends the inside of s's JSON string (appendJSONString
// without the quotes).
func appendEscaped[S ~string | ~[]byte](b []byte, s S) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		// At most utf8.UTFMax bytes: the conversion does not allocate.
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}
