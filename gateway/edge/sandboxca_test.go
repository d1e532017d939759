package edge

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testkit"
	"github.com/portico-dev/portico/runtimes"
)

// fakeRoots points SSL_CERT_FILE, where the sandbox CA reads the host's
// system roots from, at a file of one certificate, and returns its PEM.
func fakeRoots(t *testing.T) []byte {
	t.Helper()
	other, err := NewDevCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "roots.pem")
	if err := os.WriteFile(f, other.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", f)
	return other.CertPEM
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestSandboxCAInternal: without a development CA, the first start makes an
// internal one (its key 0600, never logged) and later starts keep it; the
// trust directory holds the system roots followed by the CA, and the CA alone,
// readable by every user.
func TestSandboxCAInternal(t *testing.T) {
	roots := fakeRoots(t)
	dir := t.TempDir()
	var logs testkit.LockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ca, err := OpenSandboxCA(dir, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	if ca.Development() {
		t.Fatal("the sandbox CA is the development CA, and there is none")
	}
	keyPath := filepath.Join(DevCADir(dir), SandboxCAKeyFile)
	if m := mode(t, keyPath); m != 0o600 {
		t.Errorf("%s has mode %o, want 600", keyPath, m)
	}
	key, err := os.ReadFile(keyPath) //nolint:gosec // G304: the test's own directory
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "PRIVATE KEY") || strings.Contains(logs.String(), string(key[30:60])) {
		t.Errorf("the CA's key reached the log:\n%s", logs.String())
	}
	trust := ca.SandboxTrust().Dir
	if trust != SandboxTrustDir(dir) {
		t.Errorf("trust directory %s, want %s", trust, SandboxTrustDir(dir))
	}
	if m := mode(t, trust); m != 0o755 {
		t.Errorf("%s has mode %o, want 755", trust, m)
	}
	for name, want := range map[string][]byte{
		runtimes.TrustCAFile:     ca.CertPEM(),
		runtimes.TrustBundleFile: append(append([]byte{}, roots...), ca.CertPEM()...),
	} {
		p := filepath.Join(trust, name)
		got, err := os.ReadFile(p) //nolint:gosec // G304: the test's own directory
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n%s\nwant:\n%s", name, got, want)
		}
		if m := mode(t, p); m != 0o644 {
			t.Errorf("%s has mode %o, want 644", p, m)
		}
	}
	again, err := OpenSandboxCA(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.CertPEM(), ca.CertPEM()) {
		t.Error("a second start made another internal CA; want the first kept")
	}
	// A relative data directory (--data-dir ./portico-data) still gives an
	// absolute trust directory: sandboxes run elsewhere, and engines mount
	// absolute paths only.
	t.Chdir(dir)
	rel, err := OpenSandboxCA("./data", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := rel.SandboxTrust().Dir; !filepath.IsAbs(d) || d != filepath.Join(dir, "data", "sandbox-trust") {
		t.Errorf("trust directory %q for ./data, want %s", d, filepath.Join(dir, "data", "sandbox-trust"))
	}
}

// TestSandboxCADevelopment: the development CA of `portico tls init` is the
// sandbox CA when there is one.
func TestSandboxCADevelopment(t *testing.T) {
	fakeRoots(t)
	dir := t.TempDir()
	f, err := InitDevCA(DevCADir(dir), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ca, err := OpenSandboxCA(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	devPEM, err := os.ReadFile(f.CACert)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Development() || !bytes.Equal(ca.CertPEM(), devPEM) {
		t.Fatal("the sandbox CA is not the development CA")
	}
	if _, err := os.Stat(filepath.Join(DevCADir(dir), SandboxCAKeyFile)); err == nil {
		t.Error("an internal CA was made beside the development CA")
	}
}

// TestSandboxCAServerCertificate: the endpoint's certificate names its IP
// address and its DNS name, verifies against the trust directory's CA, and is
// issued again RenewBefore its expiry, not before.
func TestSandboxCAServerCertificate(t *testing.T) {
	fakeRoots(t)
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	ca, err := OpenSandboxCA(t.TempDir(), now, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ca.ServerConfig([]string{"172.18.0.1", "websocket.callback-host", "0.0.0.0", "172.18.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	get := func() *tls.Certificate {
		t.Helper()
		c, err := cfg.GetCertificate(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	first := get()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM())
	for _, name := range []string{"172.18.0.1", "websocket.callback-host"} {
		if _, err := first.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool, CurrentTime: now()}); err != nil {
			t.Errorf("the certificate does not verify for %s: %v", name, err)
		}
	}
	if len(first.Leaf.IPAddresses) != 1 || len(first.Leaf.DNSNames) != 1 {
		t.Errorf("names %v %v, want one IP address and one DNS name", first.Leaf.IPAddresses, first.Leaf.DNSNames)
	}
	mu.Lock()
	clock = first.Leaf.NotAfter.Add(-RenewBefore - time.Hour)
	mu.Unlock()
	if get() != first {
		t.Error("the certificate was issued again more than RenewBefore before its expiry")
	}
	mu.Lock()
	clock = first.Leaf.NotAfter.Add(-RenewBefore + time.Hour)
	mu.Unlock()
	renewed := get()
	if renewed == first || !renewed.Leaf.NotAfter.After(first.Leaf.NotAfter) {
		t.Fatalf("not renewed within RenewBefore of its expiry: expires %v (was %v)", renewed.Leaf.NotAfter, first.Leaf.NotAfter)
	}
	if get() != renewed {
		t.Error("the renewed certificate was not kept")
	}
	if _, err := ca.ServerConfig([]string{"bad name"}); err == nil {
		t.Error("a name that is no host name was taken")
	}
}

// TestSandboxCAReopensOnAFullDisk: a restart whose trust files are already as
// they should be writes nothing, so it starts on a full disk; one that must
// change them still fails, saying why.
func TestSandboxCAReopensOnAFullDisk(t *testing.T) {
	fakeRoots(t)
	dir := t.TempDir()
	if _, err := OpenSandboxCA(dir, nil, nil); err != nil {
		t.Fatal(err)
	}
	real := writeFileAtomic
	t.Cleanup(func() { writeFileAtomic = real })
	writeFileAtomic = func(path string, _ []byte, _ os.FileMode) error {
		return &os.PathError{Op: "write", Path: path + ".123", Err: syscall.ENOSPC}
	}
	if _, err := OpenSandboxCA(dir, nil, nil); err != nil {
		t.Fatalf("reopening with the trust files unchanged on a full disk: %v", err)
	}
	if err := os.WriteFile(filepath.Join(SandboxTrustDir(dir), runtimes.TrustBundleFile), []byte("stale"), 0o644); err != nil { //nolint:gosec // G306: as the real file
		t.Fatal(err)
	}
	if _, err := OpenSandboxCA(dir, nil, nil); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("a trust file to rewrite on a full disk: %v, want ENOSPC", err)
	}
}

// TestDevCAKeyMissingSaysHowToRecover: tls init with the CA's key gone (with
// or without Reset) fails saying the key is missing and how to make a new CA
// (move ca.pem away); doing so works, with a new CA.
func TestDevCAKeyMissingSaysHowToRecover(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Now()
	if _, err := InitDevCA(dir, nil, now); err != nil {
		t.Fatal(err)
	}
	caPath := filepath.Join(dir, DevCACertFile)
	if err := os.Remove(filepath.Join(dir, DevCAKeyFile)); err != nil {
		t.Fatal(err)
	}
	for _, reset := range []bool{false, true} {
		_, err := InitDevCAWith(dir, DevInit{Reset: reset}, now)
		if err == nil || !strings.Contains(err.Error(), "is missing") || !strings.Contains(err.Error(), "move "+caPath) || !strings.Contains(err.Error(), "portico tls init") {
			t.Errorf("reset %v: tls init with the CA key missing: %v, want the key named missing and how to make a new CA", reset, err)
		}
	}
	if err := os.Rename(caPath, caPath+".old"); err != nil {
		t.Fatal(err)
	}
	f, err := InitDevCA(dir, nil, now)
	if err != nil || !f.NewCA || !f.Issued {
		t.Fatalf("tls init after moving ca.pem away: %+v, %v; want a new CA", f, err)
	}
}
