package main

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/gateway/edge"
)

// TestServeAddressInUseSaysWhichFlag: a start that finds one of its
// listeners' addresses taken says which flag (and variable) picks another
// (it said only "bind: address already in use").
func TestServeAddressInUseSaysWhichFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, err := edge.InitDevCA(filepath.Join(dir, "tls"), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = taken.Close() }()
	addr := taken.Addr().String()
	for _, c := range []struct {
		name string
		set  func(s *app.Settings)
		want string
	}{
		{"gateway", func(s *app.Settings) { s.Listen = addr }, "pick another address with --listen (PORTICO_LISTEN)"},
		{"gateway TLS", func(s *app.Settings) { s.TLSListen = addr }, "pick another address with --tls-listen (PORTICO_TLS_LISTEN)"},
		{"admin", func(s *app.Settings) { s.AdminListen = addr }, "pick another address with --admin-listen (PORTICO_ADMIN_LISTEN)"},
		{"metrics", func(s *app.Settings) { s.MetricsListen = addr }, "pick another address with --metrics-listen (PORTICO_METRICS_LISTEN)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := app.Defaults()
			s.DataDir, s.Runtime, s.LogLevel = filepath.Join(t.TempDir(), "data"), "process", "error"
			s.Listen, s.AdminListen, s.TLSListen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
			s.TLSCert, s.TLSKey = f.Cert, f.Key
			c.set(&s)
			err := runServer(context.Background(), s, nil)
			if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "another portico or another program listens there") ||
				!strings.Contains(err.Error(), c.want) {
				t.Errorf("serve on a taken address: %v, want it to say %q", err, c.want)
			}
		})
	}
}
