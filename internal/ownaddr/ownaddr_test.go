package ownaddr

import (
	"net/netip"
	"testing"
)

func TestOwner(t *testing.T) {
	var s Set
	forgetAdmin := s.Add("admin API", "127.0.0.1:9001")
	s.Add("metrics endpoint", "[::]:9002")
	s.Add("Runtime API", "[::ffff:10.1.2.3]:9003")
	s.Add("unix", "/run/x.sock") // not an IP and port: ignored
	for _, tc := range []struct {
		host string
		port uint16
		want string
	}{
		{"127.0.0.1", 9001, "admin API"},
		{"localhost", 9001, "admin API"},
		{"LOCALHOST.", 9001, "admin API"},
		{"api.localhost", 9001, "admin API"},
		{"0.0.0.0", 9001, "admin API"},
		{"::ffff:127.0.0.1", 9001, "admin API"},
		{"127.0.0.2", 9001, ""},
		{"127.0.0.1", 9000, ""},
		{"127.0.0.1", 9002, "metrics endpoint"},
		{"::1", 9002, "metrics endpoint"},
		{"[::1]", 9002, "metrics endpoint"},
		{"localhost", 9002, "metrics endpoint"},
		{"192.0.2.77", 9002, ""}, // not an address of this host
		{"10.1.2.3", 9003, "Runtime API"},
		{"backend.example", 9001, ""},
	} {
		if got, ok := s.OwnerOfHost(tc.host, tc.port); got != tc.want || ok != (tc.want != "") {
			t.Errorf("OwnerOfHost(%q, %d) = %q, %v; want %q", tc.host, tc.port, got, ok, tc.want)
		}
	}
	forgetAdmin()
	if name, ok := s.Owner(netip.MustParseAddr("127.0.0.1"), 9001); ok {
		t.Errorf("a forgotten listener is still %q", name)
	}
	var none *Set
	none.Add("x", "127.0.0.1:1")()
	if _, ok := none.Owner(netip.MustParseAddr("127.0.0.1"), 1); ok {
		t.Error("a nil Set holds a listener")
	}
}
