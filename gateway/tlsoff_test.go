package gateway

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestTLSListenerOffSaysWhy: a TLS listener asked for without a certificate
// does not start; the server says so and what to do (it said nothing, and
// the connection was refused), as a warning when the address is the
// operator's; --tls-listen off says nothing.
func TestTLSListenerOffSaysWhy(t *testing.T) {
	t.Parallel()
	_, svc := gwtest.APIs(t)
	for tlsListen, want := range map[string]string{"127.0.0.1:0": "level=WARN", ListenOff: ""} {
		logs := &testkit.LockedBuffer{}
		gw := New(Config{Listen: "127.0.0.1:0", TLSListen: tlsListen}, svc, nil, nil, nil)
		s := NewServer(gw, slog.New(slog.NewTextHandler(logs, nil)), listener.Limits{})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		_ = s.Stop(context.Background())
		said := strings.Contains(logs.String(), "TLS listener off: no certificate")
		switch {
		case want == "" && said:
			t.Errorf("--tls-listen off: logged %s", logs.String())
		case want != "" && (!said || !strings.Contains(logs.String(), want) || !strings.Contains(logs.String(), "portico tls init")):
			t.Errorf("--tls-listen %s without a certificate: logged %q, want a %s saying why and what to do", tlsListen, logs.String(), want)
		}
	}
}
