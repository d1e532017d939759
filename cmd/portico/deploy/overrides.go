package deploy

import (
	"fmt"
	"strings"
)

// ParseOverrides reads --parameter-overrides as sam deploy reads them: each
// argument holds KEY=VALUE or ParameterKey=KEY,ParameterValue=VALUE entries
// separated by white space, quoted as in a shell ("a b", 'a b', a\ b), and
// a value's quotes are not part of it.
func ParseOverrides(args []string) (map[string]string, error) {
	params := map[string]string{}
	for _, arg := range args {
		words, err := shellWords(arg)
		if err != nil {
			return nil, fmt.Errorf("--parameter-overrides %q: %w", arg, err)
		}
		for _, kv := range words {
			k, v, ok := strings.Cut(kv, "=")
			if long, isLong := strings.CutPrefix(kv, "ParameterKey="); isLong {
				// sam's long form: ParameterKey=K,ParameterValue=V
				k, v, ok = strings.Cut(long, ",ParameterValue=")
			}
			if !ok || k == "" {
				return nil, fmt.Errorf("--parameter-overrides %q: use KEY=VALUE or ParameterKey=KEY,ParameterValue=VALUE (quote a value with spaces: KEY=\"a b\")", kv)
			}
			params[k] = v
		}
	}
	return params, nil
}

// shellWords splits s into words at unquoted white space, as a POSIX shell
// does: single quotes keep everything up to the next one, double quotes keep
// all but \" and \\ (a backslash escapes them), a backslash outside quotes
// escapes the next character; the quotes are removed.
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				w.WriteByte(s[i])
			}
		case '\'':
			inWord = true
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("a single quote is not closed")
			}
			w.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case '"':
			inWord = true
			closed := false
			for i++; i < len(s); i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				} else if s[i] == '"' {
					closed = true
					break
				}
				w.WriteByte(s[i])
			}
			if !closed {
				return nil, fmt.Errorf("a double quote is not closed")
			}
		default:
			inWord = true
			w.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}
