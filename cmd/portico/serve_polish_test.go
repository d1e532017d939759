package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDomainRefusesPortAndDots is what the ops21 tester found: --domain took
// a port or a leading dot, giving a gateway no Host could reach by name.
// Each is refused, saying what to give; a plain domain is taken.
func TestDomainRefusesPortAndDots(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, c := range []struct{ domain, want string }{
		{"example.com:8080", "takes no port"},
		{".example.com", "drop the leading dot"},
		{"example.com.", "drop the trailing dot"},
		{"http://example.com", "no domain name"},
		{"a..example.com", "empty label"},
		{"ex ample.com", "not a letter, digit or hyphen"},
	} {
		_, err := parseServe(t, "--domain", c.domain).settings()
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--domain") {
			t.Errorf("--domain %q: %v, want an error naming --domain and %q", c.domain, err, c.want)
		}
	}
	for _, d := range []string{"api.example.com", "execute-api.localhost", "Example.COM", "localhost"} {
		if s, err := parseServe(t, "--domain", d).settings(); err != nil || s.Domain != d {
			t.Errorf("--domain %q: %q, %v; want it taken", d, s.Domain, err)
		}
	}
}

// TestDataDirTildeExpanded is what the ops21 tester found: data-dir: ~/pd
// in the config file (or --data-dir=~/pd, which no shell expands) made a
// directory named ~. A leading ~/ is the home directory.
func TestDataDirTildeExpanded(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Chdir(t.TempDir())
	if err := os.WriteFile("portico.yaml", []byte("data-dir: ~/pd\naccess-log-dir: [~/logs]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := parseServe(t).settings()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(home, "pd"); s.DataDir != want {
		t.Errorf("data-dir: ~/pd is %q, want %q", s.DataDir, want)
	}
	if want := filepath.Join(home, "logs"); len(s.AccessLogDirs) != 1 || s.AccessLogDirs[0] != want {
		t.Errorf("access-log-dir: [~/logs] is %q, want [%q]", s.AccessLogDirs, want)
	}
	if s, err := parseServe(t, "--data-dir=~/other").settings(); err != nil || s.DataDir != filepath.Join(home, "other") {
		t.Errorf("--data-dir=~/other: %q, %v", s.DataDir, err)
	}
	if s, err := parseServe(t, "--data-dir=a~/b").settings(); err != nil || s.DataDir != "a~/b" {
		t.Errorf("--data-dir=a~/b (no leading ~/): %q, %v; want it as it is", s.DataDir, err)
	}
}

// TestTokenFileReadableByOthersWarnsOnLoopback is what the ops21 tester
// found: a 0644 admin token file got no warning with the admin API on
// loopback, where every local user reaches it. The start warns, naming the
// file and chmod 600; a 0600 one is not warned about.
func TestTokenFileReadableByOthersWarnsOnLoopback(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	tf := writeMode(t, filepath.Join(dir, "token"), fileToken+"\n", 0o644)
	s, err := parseServe(t, "--admin-listen", "127.0.0.1:0", "--admin-token-file", tf).settings()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.StartWarnings) != 1 || !strings.Contains(s.StartWarnings[0], tf) || !strings.Contains(s.StartWarnings[0], "chmod 600 "+tf) {
		t.Errorf("a 0644 token file on loopback: warnings %q, want one naming it and chmod 600", s.StartWarnings)
	}
	writeMode(t, tf, fileToken+"\n", 0o600)
	if s, _ := parseServe(t, "--admin-listen", "127.0.0.1:0", "--admin-token-file", tf).settings(); len(s.StartWarnings) != 0 {
		t.Errorf("a 0600 token file warned: %q", s.StartWarnings)
	}
}
