package h2

import (
	"net/url"
	"reflect"
	"testing"
)

// parsePath's short cut must make what url.ParseRequestURI makes.
func TestParsePathAsParseRequestURI(t *testing.T) {
	for _, p := range []string{"/", "/a/b", "/a?b=c", "/a?", "/a??b", "//x/y", "/a/../b", "/a b", "/a?b=%20",
		"/%7e", "/a#frag", "*", "/a\x7f", "/a\x01b", "http://h/x", "/a;b", "/ü", "/a?ü", "/a?b c", "/a?\x01", "/[x]", "/a|b", "/~u/x.y_z-1",
		"/p(1)/m", "/x(1)!'*", "/a$b(1)", "/q'r", "/s*t", "/e!f", "/a!b?c=(d)", "/a:b@c;d=e,f+g&h$i"} {
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

// FuzzParsePath: parsePath makes what url.ParseRequestURI makes, whatever the
// path.
func FuzzParsePath(f *testing.F) {
	for _, p := range []string{"/", "/a?b", "/p(1)/m", "/x(1)!'*?q=(r)", "/a b", "/ü", "/%41", "*"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		want, wantErr := url.ParseRequestURI(p)
		var got url.URL
		err := parsePath(&got, p)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q: error %v, url.ParseRequestURI's %v", p, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(&got, want) {
			t.Fatalf("%q: %#v, url.ParseRequestURI's %#v", p, got, *want)
		}
	})
}
