package gateway

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/internal/listener"
)

// TestCallbackOnLoopbackForContainersWarns: a sandbox-facing endpoint bound
// on loopback and given to sandboxes at another address (a container
// runtime's host address) cannot be reached by them; the start line said so
// at INFO only, and hook reports failed without a word (r-sam26 #3). It is
// a WARN naming what to use; an endpoint reachable where it is given is not.
func TestCallbackOnLoopbackForContainersWarns(t *testing.T) {
	for _, tc := range []struct {
		name, bind, host string
		warn             bool
	}{
		{"loopback, given at a bridge address", "127.0.0.1:0", "172.18.0.1", true},
		{"loopback, given as a name", "127.0.0.1:0", "host.docker.internal", true},
		{"loopback, given on loopback (process runtime)", "127.0.0.1:0", "", false},
		{"loopback, given as localhost", "127.0.0.1:0", "localhost", false},
		{"all addresses", ":0", "172.18.0.1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTLSEnv(t, Config{}, edge.Config{})
			var buf bytes.Buffer
			e.gw.log = slog.New(slog.NewTextHandler(&buf, nil))
			m := connections.New(connections.DefaultConfig(), nil)
			e.gw.EnableWebSockets(m)
			t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
			cs, err := e.gw.startCallback(tc.bind, tc.host, listener.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cs.srv.Close() })
			warned := strings.Contains(buf.String(), "level=WARN") && strings.Contains(buf.String(), "use --callback-listen :")
			if warned != tc.warn {
				t.Fatalf("warned %v, want %v; log:\n%s", warned, tc.warn, buf.String())
			}
		})
	}
}
