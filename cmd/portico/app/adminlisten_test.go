package app

import (
	"strings"
	"testing"
)

// TestAdminListenNameRefusedTruly: --admin-listen with a host name other than
// localhost (vm, which may resolve to 127.0.0.1) or a short form (127.1) and
// no token is refused, as before, but no longer "not a loopback address",
// which the name may well be: the message says names are not resolved and
// asks for the IP address. An address off loopback keeps its message.
func TestAdminListenNameRefusedTruly(t *testing.T) {
	for listen, want := range map[string]string{
		"vm:31191":       `the admin API would listen on vm:31191, whose host "vm" is not an IP address: names other than localhost are not resolved`,
		"127.1:31191":    `whose host "127.1" is not an IP address`,
		"192.0.2.2:9090": "the admin API would listen on 192.0.2.2:9090, which is not a loopback address, without a token",
	} {
		s := Defaults()
		s.DataDir = t.TempDir()
		s.AdminListen = listen
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(listen, ":31191") && strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("%s: %v; want %q", listen, err, want)
		}
	}
	s := Defaults()
	s.DataDir = t.TempDir()
	s.AdminListen = "127.0.0.1:31191"
	if err := s.Validate(); err != nil {
		t.Errorf("127.0.0.1:31191: %v", err)
	}
}
