package gateway

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
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

// TestExpiredDevelopmentCertificateSaidOnce: with the data directory's
// development certificate expired, the TLS listener stays off and the server
// says so once, with what is wrong and what to do (portico tls init); not a
// second line claiming there is no development certificate.
func TestExpiredDevelopmentCertificateSaidOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := edge.InitDevCA(edge.DevCADir(dir), nil, time.Now().AddDate(-3, 0, 0)); err != nil {
		t.Fatal(err)
	}
	st := gwtest.Store(t, dir)
	svc := apis.NewService(st, nil)
	logs := &testkit.LockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	ed, err := edge.New(context.Background(), edge.Config{DataDir: dir}, st, svc, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	gw := New(Config{Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0"}, svc, nil, nil, nil)
	s := NewServer(gw, log, listener.Limits{})
	s.SetTLSFrom(ed)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = s.Stop(context.Background())
	out := logs.String()
	if n := strings.Count(out, "TLS listener off"); n != 1 || !strings.Contains(out, "portico tls init") || !strings.Contains(out, "expired") ||
		strings.Contains(out, "no development certificate") {
		t.Errorf("an expired development certificate: logged %d lines about the TLS listener being off, want one naming the expiry and `portico tls init`:\n%s", n, out)
	}
	if s.TLSAddr() != "" {
		t.Errorf("the TLS listener started (%s) without a certificate", s.TLSAddr())
	}
}
