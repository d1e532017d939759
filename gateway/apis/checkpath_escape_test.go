package apis

import (
	"strconv"
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
		"/caf%C3%A9": `"caf%C3%A9" decodes to "café", and a route path segment cannot hold 'é' (only letters A-Z and a-z, digits and ._~!$&'()*,;=:@-): take the segment as a {parameter}`,
		"/a%2Bb":     `a route path segment cannot hold '+'`,
		"/a%22b":     `a route path segment cannot hold '"'`,
		"/a%3Cb":     `a route path segment cannot hold '<'`,
		"/a%7Bb%7D":  `a route path segment cannot hold '{'`,
		"/a%21":      `so write "a!", not its %-escape`,
		"/a%7E":      `so write "a~", not its %-escape`,
		"/a%3A":      `so write "a:", not its %-escape`,
		"/a%20b":     `"a%20b" decodes to "a b", and a path cannot hold a space or control character: take the segment as a {parameter}`,
		"/a%09b":     `a path cannot hold a space or control character`,
		"/a%2Fb":     `"a%2Fb" decodes to "a/b", and a path segment cannot hold '/': take the segment as a {parameter}`,
		"/a/%2e%2e":  `"%2e%2e" decodes to the dot segment ".."`,
		"/x/%zz":     `"%zz" is not a valid %-escape: take the segment as a {parameter}`,
	} {
		err := CheckNewPath(path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want it to say %q", path, err, want)
			continue
		}
		// What the advice says to write is a path a route takes
		// (r-httpapi29 finding 1: "write café" led to another refusal).
		if _, after, ok := strings.Cut(err.Error(), "so write "); ok {
			seg, err := strconv.QuotedPrefix(after)
			if err != nil {
				t.Fatal(err)
			}
			seg, _ = strconv.Unquote(seg)
			if _, err := ParseTemplate("/" + seg); err != nil {
				t.Errorf("%s: the advised %q is refused: %v", path, seg, err)
			}
		}
	}
	// A refused character is named, with what a segment may hold.
	if _, err := ParseTemplate("/café"); err == nil || !strings.Contains(err.Error(), `('é'; a route path segment holds only letters A-Z and a-z, digits and ._~!$&'()*,;=:@-, or is a {parameter})`) {
		t.Errorf("/café: %v", err)
	}
}
