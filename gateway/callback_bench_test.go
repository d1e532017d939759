package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/listener"
)

// BenchmarkCallbackEndpoint measures requests to the sandbox-facing endpoint
// (a path it answers 404, so that only the listener and h1 are measured): plain
// HTTP with and without HTTPS beside it (the first byte sniffed), on kept
// connections and on a new connection per request, and HTTPS on kept
// connections.
func BenchmarkCallbackEndpoint(b *testing.B) {
	for _, c := range []struct {
		name       string
		sniff      bool
		https      bool
		keepAlives bool
	}{
		{"plain-only/keepalive", false, false, true},
		{"sniffing/keepalive", true, false, true},
		{"plain-only/new-conn", false, false, false},
		{"sniffing/new-conn", true, false, false},
		{"sniffing/https-keepalive", true, true, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			_, svc := gwtest.APIs(b)
			m := connections.New(connections.Config{AdminToken: "tok"}, nil)
			b.Cleanup(func() { _ = m.Shutdown(context.Background()) })
			gw := New(Config{Listen: "127.0.0.1:0", CallbackBind: "127.0.0.1:0"}, svc, &fakeResolver{}, &fakeInvoker{}, slog.New(slog.DiscardHandler))
			gw.EnableWebSockets(m)
			tr := &http.Transport{DisableKeepAlives: !c.keepAlives}
			if c.sniff {
				ca, err := edge.OpenSandboxCA(b.TempDir(), nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				gw.SetCallbackTLS(ca)
				pool := x509.NewCertPool()
				pool.AppendCertsFromPEM(ca.CertPEM())
				tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
			}
			srv := NewServer(gw, nil, listener.Limits{})
			if err := srv.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = srv.Stop(context.Background()) })
			b.Cleanup(tr.CloseIdleConnections)
			scheme := "http://"
			if c.https {
				scheme = "https://"
			}
			url := scheme + srv.cb.ln.Addr().String() + "/nothing"
			client := &http.Client{Transport: tr}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				resp, err := client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusNotFound {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
