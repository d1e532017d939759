package edge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/runtimes"
)

// servedLeaf is the certificate e serves for server name sni.
func servedLeaf(t *testing.T, e *Edge, sni string) *x509.Certificate {
	t.Helper()
	cfg, err := e.configForClient(&tls.ClientHelloInfo{ServerName: sni})
	if err != nil || cfg == nil || len(cfg.Certificates) == 0 {
		t.Fatalf("%s's certificate: %v", sni, err)
	}
	leaf, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

// TestNewDevCASignsExistingDomainsAgain (tls28 #1): a development CA made
// anew on a running server (`portico tls init` after the old ca.pem was moved
// away) served the gateway's certificate, but the custom domains it had
// signed kept the old CA's certificates until a restart, while tls init said
// no restart was needed. They are signed again by the new CA once the
// development certificate reloads.
func TestNewDevCASignsExistingDomainsAgain(t *testing.T) {
	dir := t.TempDir()
	caDir := DevCADir(dir)
	if _, err := InitDevCA(caDir, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	st := gwtest.Store(t, dir)
	e, err := New(context.Background(), Config{DataDir: dir}, st, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	resigned := make(chan string, 4)
	e.SetReloadHook(func(domain string, err error) {
		if err == nil {
			resigned <- domain
		}
	})
	sandboxCA, err := OpenSandboxCA(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	trusted := make(chan error, 1)
	e.SetDevCAHook(func(caPEM []byte) { trusted <- sandboxCA.TrustDevCA(caPEM) })
	if err := e.Watch(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateDomain(t.Context(), Domain{Name: "x.test"}); err != nil {
		t.Fatal(err)
	}
	before := servedLeaf(t, e, "x.test")

	for _, f := range []string{DevCACertFile, DevCAKeyFile} {
		if err := os.Rename(filepath.Join(caDir, f), filepath.Join(dir, "old-"+f)); err != nil {
			t.Fatal(err)
		}
	}
	made, err := InitDevCA(caDir, nil, time.Now())
	if err != nil || !made.NewCA {
		t.Fatalf("tls init after moving the CA away: %+v %v", made, err)
	}
	select {
	case d := <-resigned:
		if d != "x.test" {
			t.Fatalf("signed again: %q, want x.test", d)
		}
	case <-time.After(time.Minute): // a guard against hanging, not a timing assertion
		t.Fatal("x.test was not signed again by the new development CA")
	}
	caPEM, err := os.ReadFile(filepath.Join(caDir, DevCACertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	after := servedLeaf(t, e, "x.test")
	if after.Equal(before) {
		t.Fatal("x.test serves the same certificate")
	}
	if _, err := after.Verify(x509.VerifyOptions{Roots: pool, DNSName: "x.test"}); err != nil {
		t.Errorf("x.test's certificate does not verify under the new development CA: %v", err)
	}
	// Functions started from now on trust the new CA: their CA bundle (what
	// SSL_CERT_FILE names in a sandbox) verifies x.test (verify28a: the
	// bundle kept the old CA alone until a restart).
	select {
	case err := <-trusted:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // a guard against hanging, not a timing assertion
		t.Fatal("the sandbox CA was not told of the new development CA")
	}
	for _, f := range []string{runtimes.TrustBundleFile, runtimes.TrustCAFile} {
		b, err := os.ReadFile(filepath.Join(SandboxTrustDir(dir), f))
		if err != nil {
			t.Fatal(err)
		}
		sandboxPool := x509.NewCertPool()
		sandboxPool.AppendCertsFromPEM(b)
		if _, err := after.Verify(x509.VerifyOptions{Roots: sandboxPool, DNSName: "x.test"}); err != nil {
			t.Errorf("x.test's certificate does not verify under the sandboxes' %s: %v", f, err)
		}
	}
}
