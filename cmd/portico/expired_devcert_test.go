package main

import (
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/edge"
)

// TestExpiredDevCertMessagesSayWhy (tls28 #10): a server that started with
// an expired development certificate said, in its domains' status, that it
// "started without a certificate"; `tls init --if-needed` replacing that
// certificate led with "no restart needed". The domain's message says the
// development certificate did not load, and tls init says first that the
// certificate it replaces had expired and a server started with it needs a
// restart.
func TestExpiredDevCertMessagesSayWhy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A certificate of 397 days issued 400 days ago has expired.
	if _, err := edge.InitDevCA(edge.DevCADir(dir), nil, time.Now().Add(-400*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	env := apptest.Start(t, apptest.Options{DataDir: dir, Settings: func(s *app.Settings) { s.TLSListen = "127.0.0.1:0" }})
	if env.TLSURL != "" {
		t.Fatalf("the TLS listener serves an expired development certificate: %s", env.TLSURL)
	}
	cli(t, env, "domain", "create", "exp.dev.test")
	out := cli(t, env, "domain", "get", "exp.dev.test")
	if !strings.Contains(out, "the development certificate did not load when the server started") || strings.Contains(out, "started without a certificate") {
		t.Errorf("domain get on a server started with an expired development certificate printed:\n%s", out)
	}
	out = run(t, "tls", "init", "--data-dir", dir, "--if-needed", "--tls-listen", "127.0.0.1:8443")
	hint, _, _ := strings.Cut(out, "Trust the CA")
	if !strings.Contains(hint, "The certificate this replaces had expired") || strings.Contains(hint, "no restart needed") {
		t.Errorf("tls init --if-needed replacing an expired certificate printed:\n%s", out)
	}
}
