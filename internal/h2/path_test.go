package h2

import (
	"net/url"
	"reflect"
	"testing"
)

// parsePath's short cut must make what url.ParseRequestURI makes.
func TestParsePathAsParseRequestURI(t *testing.T) {
	for _, p := range []string{"/", "/a/b", "/a?b=c", "/a?", "/a??b", "//x/y", "/a/../b", "/a b", "/a?b=%20",
		"/%7e", "/a#frag", "*", "/a\x7f", "/a\x01b", "http://h/x", "/a;b", "/ü", "/a?ü", "/a?b c", "/a?\x01", "/[x]", "/a|b", "/~u/x.y_z-1"} {
		want, wantErr := url.ParseRequestURI(p)
		var got url.URL
		err := parsePath(&got, p)
		if (err != nil) != (wantErr != nil) {
			t.Errorf("%q: error %v, url.ParseRequestURI's %v", p, err, wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(&got, want) {
			t.Errorf("%q: %#v, url.ParseRequestURI's %#v", p, got, *want)
		}
	}
}
