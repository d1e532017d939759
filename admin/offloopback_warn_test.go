package admin

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/testkit"
)

// TestOffLoopbackWarnsPlainHTTP (authz28 #1): the admin API off loopback
// serves plain HTTP, so the bearer token crosses the network in clear; the
// start said nothing. It warns, naming a TLS proxy and SigV4 clients; on
// loopback it does not.
func TestOffLoopbackWarnsPlainHTTP(t *testing.T) {
	t.Parallel()
	token := strings.Repeat("a1", 20)
	for _, c := range []struct {
		listen string
		warn   bool
	}{{"192.0.2.2:9090", true}, {"0.0.0.0:9090", true}, {"127.0.0.1:9090", false}} {
		var logs testkit.LockedBuffer
		if _, err := New(Params{Config: Config{Listen: c.listen, Token: token}, Log: slog.New(slog.NewTextHandler(&logs, nil))}); err != nil {
			t.Fatalf("%s: %v", c.listen, err)
		}
		got := strings.Contains(logs.String(), "serves plain HTTP off loopback") && strings.Contains(logs.String(), "SigV4")
		if got != c.warn {
			t.Errorf("--admin-listen %s: warned %v, want %v:\n%s", c.listen, got, c.warn, logs.String())
		}
	}
}

// TestShortTokenOnLoopbackWarns (sec29 #1): on loopback a token of 3
// characters was taken without a word, though any local user can guess it.
// The start warns, saying how long a token should be; a token of 32
// characters or more, or none, says nothing.
func TestShortTokenOnLoopbackWarns(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		token string
		warn  bool
	}{{"abc", true}, {strings.Repeat("a", MinTokenLength-1), true}, {strings.Repeat("a", MinTokenLength), false}, {"", false}} {
		var logs testkit.LockedBuffer
		if _, err := New(Params{Config: Config{Listen: "127.0.0.1:9090", Token: c.token}, Log: slog.New(slog.NewTextHandler(&logs, nil))}); err != nil {
			t.Fatalf("token of %d: %v", len(c.token), err)
		}
		got := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "fewer than the 32 required") &&
			strings.Contains(logs.String(), "openssl rand -hex 32")
		if got != c.warn {
			t.Errorf("token of %d characters: warned %v, want %v:\n%s", len(c.token), got, c.warn, logs.String())
		}
	}
}
