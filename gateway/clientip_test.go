package gateway

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestClientIP is the table of source IPs with and without trusted proxies.
func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	cases := []struct {
		name    string
		proxies []netip.Prefix
		peer    string
		xff     []string
		want    string
	}{
		{"no proxies: the peer, whatever XFF says", nil, "10.0.0.1:1234", []string{"1.2.3.4"}, "10.0.0.1"},
		{"untrusted peer: XFF ignored", trusted, "192.0.2.9:1234", []string{"1.2.3.4"}, "192.0.2.9"},
		{"trusted peer: the last hop", trusted, "10.0.0.1:1234", []string{"1.2.3.4"}, "1.2.3.4"},
		{"trusted chain: the right-most untrusted", trusted, "10.0.0.1:1234", []string{"6.6.6.6, 1.2.3.4, 10.9.9.9"}, "1.2.3.4"},
		{"repeated headers read as one list", trusted, "10.0.0.1:1234", []string{"6.6.6.6", "1.2.3.4, 10.1.1.1"}, "1.2.3.4"},
		{"all hops trusted: the left-most", trusted, "10.0.0.1:1234", []string{"10.2.2.2, 10.3.3.3"}, "10.2.2.2"},
		{"a malformed hop stops the walk", trusted, "10.0.0.1:1234", []string{"1.2.3.4, garbage"}, "10.0.0.1"},
		{"no XFF: the peer", trusted, "10.0.0.1:1234", nil, "10.0.0.1"},
		{"IPv6 trusted peer", trusted, "[2001:db8::1]:1234", []string{"2001:db9::5"}, "2001:db9::5"},
		{"IPv4-mapped peer", trusted, "[::ffff:10.0.0.1]:1234", []string{"1.2.3.4"}, "1.2.3.4"},
		{"IPv4-mapped hop: its IPv4 form", trusted, "10.0.0.1:1234", []string{"::ffff:198.51.100.7"}, "198.51.100.7"},
		{"IPv4-mapped trusted hop passed", trusted, "10.0.0.1:1234", []string{"1.2.3.4, ::ffff:10.0.0.2"}, "1.2.3.4"},
		{"IPv4-mapped peer, untrusted: its IPv4 form", trusted, "[::ffff:192.0.2.9]:1234", []string{"1.2.3.4"}, "192.0.2.9"},
	}
	for _, c := range cases {
		g := &Gateway{cfg: Config{TrustedProxies: c.proxies}}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := g.clientIP(r); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
