package netaddr

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9090": true,
		"127.1.2.3:80":   true,
		"localhost:9090": true,
		"[::1]:9090":     true,
		":9090":          false,
		"0.0.0.0:9090":   false,
		"[::]:9090":      false,
		"10.0.0.1:9090":  false,
		"example.com:80": false,
		"127.0.0.1":      false, // no port: not a listen address
		"":               false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestNotLoopback: the reason an address is not loopback is true of it. A
// host name that resolves to loopback (vm, 127.1) was said to be "not a
// loopback address"; it is refused still (names are not resolved), saying
// so and asking for the IP address.
func TestNotLoopback(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:9090": "",
		"localhost:9090": "",
		"[::1]:9090":     "",
		"10.0.0.1:9090":  "which is not a loopback address",
		"0.0.0.0:9090":   "which listens on every interface",
		":9090":          "which listens on every interface",
		"[::]:9090":      "which listens on every interface",
		"vm:31191":       `whose host "vm" is not an IP address: names other than localhost are not resolved`,
		"127.1:31191":    `whose host "127.1" is not an IP address`,
		"127.0.0.1":      "which is not host:port",
	} {
		got := NotLoopback(addr)
		if want == "" && got != "" || !strings.HasPrefix(got, want) {
			t.Errorf("NotLoopback(%q) = %q, want %q...", addr, got, want)
		}
		if strings.Contains(got, "name") && !strings.Contains(got, "give the IP address (127.0.0.1 or ::1)") {
			t.Errorf("NotLoopback(%q) = %q: says names are not resolved without saying what to give", addr, got)
		}
	}
}

func TestForwardedPort(t *testing.T) {
	with := func(la net.Addr, secure bool) *http.Request {
		r := httptest.NewRequest("GET", "http://example.test:1/", nil) // Host's port is never the answer
		if secure {
			r.TLS = &tls.ConnectionState{}
		}
		if la != nil {
			r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, la))
		}
		return r
	}
	for name, tc := range map[string]struct {
		r    *http.Request
		want string
	}{
		"TCP listener":            {with(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8443}, true), "8443"},
		"the same port again":     {with(&net.TCPAddr{IP: net.IPv6loopback, Port: 8443}, false), "8443"},
		"another port":            {with(&net.TCPAddr{Port: 8080}, false), "8080"},
		"another kind of address": {with(&net.UnixAddr{Name: "x"}, false), "80"},
		"no server, plain":        {with(nil, false), "80"},
		"no server, TLS":          {with(nil, true), "443"},
	} {
		if got := ForwardedPort(tc.r); got != tc.want {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
}

func TestForwardedFor(t *testing.T) {
	for _, tc := range []struct {
		prior []string
		want  string
	}{
		{nil, "127.0.0.1"},
		{[]string{""}, "127.0.0.1"},
		{[]string{"10.0.0.1"}, "10.0.0.1, 127.0.0.1"},
		{[]string{"10.1.0.5", "10.0.0.5"}, "10.1.0.5, 10.0.0.5, 127.0.0.1"},
		{[]string{"1.1.1.1, 2.2.2.2", "", "3.3.3.3"}, "1.1.1.1, 2.2.2.2, 3.3.3.3, 127.0.0.1"},
	} {
		if got := ForwardedFor(tc.prior, "127.0.0.1"); got != tc.want {
			t.Errorf("ForwardedFor(%q) = %q, want %q", tc.prior, got, tc.want)
		}
	}
}

func TestUnmapped(t *testing.T) {
	for in, want := range map[string]string{
		"198.51.100.7": "198.51.100.7", "::ffff:198.51.100.7": "198.51.100.7", "::FFFF:10.0.0.1": "10.0.0.1",
		"::ffff:c633:6407": "198.51.100.7", "2001:db8::1": "2001:db8::1", "::1": "::1", "garbage:x": "garbage:x", "": "",
	} {
		if got := Unmapped(in); got != want {
			t.Errorf("Unmapped(%q) = %q, want %q", in, got, want)
		}
	}
}
