package mapping

import (
	"unicode/utf16"
	"unicode/utf8"
)

// AppendJSONEscape appends the value of the escape that s starts with (s is what
// follows a backslash: `n`, `u00e9`, `ud83d\ude00`, ...) to b and returns how
// many bytes of s it took. A \u escape of a surrogate that is not the first of a
// pair followed by its second appends U+FFFD and takes only its own six bytes,
// as encoding/json does. ok is false when s does not start with a valid escape.
// The engine's JSON decoder and the gateway's reader of function results use it.
func AppendJSONEscape(b, s []byte) (_ []byte, n int, ok bool) {
	if len(s) == 0 {
		return b, 0, false
	}
	switch e := s[0]; e {
	case '"', '\\', '/':
		return append(b, e), 1, true
	case 'b':
		return append(b, '\b'), 1, true
	case 'f':
		return append(b, '\f'), 1, true
	case 'n':
		return append(b, '\n'), 1, true
	case 'r':
		return append(b, '\r'), 1, true
	case 't':
		return append(b, '\t'), 1, true
	case 'u':
		r, ok := hex4(s[1:])
		if !ok {
			return b, 0, false
		}
		if utf16.IsSurrogate(r) {
			if len(s) >= 11 && s[5] == '\\' && s[6] == 'u' {
				if r2, ok := hex4(s[7:]); ok {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						return utf8.AppendRune(b, d), 11, true
					}
				}
			}
			r = utf8.RuneError
		}
		return utf8.AppendRune(b, r), 5, true
	}
	return b, 0, false
}

// hex4 reads the four hex digits at the start of s.
func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}
