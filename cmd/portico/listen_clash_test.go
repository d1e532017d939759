package main

import (
	"strings"
	"testing"
)

// TestListenClashNamed is what the store3 tester found: --listen the same as
// --admin-listen failed at start with a bare "address already in use". Two
// listeners on one address are refused, naming both flags.
func TestListenClashNamed(t *testing.T) {
	for _, args := range [][]string{
		{"--listen", "127.0.0.1:9090", "--admin-listen", "127.0.0.1:9090"},
		{"--listen", ":9090", "--admin-listen", "127.0.0.1:9090"},
		{"--tls-listen", "127.0.0.1:8080", "--listen", "127.0.0.1:8080"},
		{"--metrics-listen", "127.0.0.1:9090"},
	} {
		t.Chdir(t.TempDir())
		_, err := parseServe(t, args...).settings()
		if err == nil || !strings.Contains(err.Error(), "are the same address") {
			t.Errorf("%v: settings() = %v, want the clash named", args, err)
		}
	}
	t.Chdir(t.TempDir())
	if _, err := parseServe(t, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--tls-listen", "127.0.0.2:0").settings(); err != nil {
		t.Errorf("port 0 twice: %v", err)
	}
}
