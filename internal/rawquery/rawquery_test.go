package rawquery

import (
	"net/http/httptest"
	"testing"
)

func TestAmpersandSeparated(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"a=1&b=2", "a=1&b=2"},
		{"a=1;b=2&flag;c=x%3By", "a=1&b=2&flag&c=x%3By"},
		{";;", "&&"},
	} {
		if got := AmpersandSeparated(c.in); got != c.want {
			t.Errorf("AmpersandSeparated(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = AmpersandSeparated("a=1&b=2") }); n != 0 {
		t.Errorf("a query without ';' allocated %v times", n)
	}
}

func TestClientQuery(t *testing.T) {
	for _, c := range []struct{ target, url, want string }{
		{"/p?a=1;b=2&c=3", "a=1&b=2&c=3", "a=1;b=2&c=3"}, // split by AmpersandSeparated
		{"/p?a=1;b=2", "a=1;b=2", "a=1;b=2"},             // not split
		{"/p?a=1&b=2", "a=1&b=2", "a=1&b=2"},
		{"/p?a=1;b=2", "x=1&b=2", "x=1&b=2"}, // rewritten otherwise
		{"/p?a=1;b=2", "a=1&b=2&c", "a=1&b=2&c"},
		{"/p", "", ""},
	} {
		r := httptest.NewRequest("GET", c.target, nil)
		r.URL.RawQuery = c.url
		if got := ClientQuery(r); got != c.want {
			t.Errorf("ClientQuery(%s with URL query %q) = %q, want %q", c.target, c.url, got, c.want)
		}
	}
}
