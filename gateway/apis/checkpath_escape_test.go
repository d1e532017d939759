package apis

import (
	"strings"
	"testing"
)

// TestCheckNewPathEscapeAdvice: the refusal of a %-escape in a route path
// names what to write instead: the decoded segment when a path can hold it,
// and a {parameter} when it cannot (a space, a control character, a "/"), or
// when the escape is no escape; it told a user to "write the character
// itself" for %20, which is refused too (r-httpapi27 finding 8).
func TestCheckNewPathEscapeAdvice(t *testing.T) {
	for path, want := range map[string]string{
		"/a%2Db":     `so write "a-b", not its %-escape`,
		"/caf%C3%A9": `so write "café", not its %-escape`,
		"/a%20b":     `"a%20b" decodes to "a b", and a path cannot hold a space or control character: take the segment as a {parameter}`,
		"/a%09b":     `a path cannot hold a space or control character`,
		"/a%2Fb":     `"a%2Fb" decodes to "a/b", and a path segment cannot hold '/': take the segment as a {parameter}`,
		"/a/%2e%2e":  `"%2e%2e" decodes to the dot segment ".."`,
		"/x/%zz":     `"%zz" is not a valid %-escape: take the segment as a {parameter}`,
	} {
		err := CheckNewPath(path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want it to say %q", path, err, want)
		}
	}
}
