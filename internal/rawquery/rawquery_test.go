package rawquery

import "testing"

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
