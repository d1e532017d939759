package edge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnknownSNIIsUnrecognizedName: a handshake for a name that is neither a
// custom domain nor in the default certificate is refused with the alert
// unrecognized_name (112), not internal_error (80).
func TestUnknownSNIIsUnrecognizedName(t *testing.T) {
	ca, now := newTestCA(t)
	dir := t.TempDir()
	certPEM, keyPEM, err := ca.Issue([]string{"localhost"}, now)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), Config{CertFile: certFile, KeyFile: keyFile}, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	handshake := func(name string) error {
		sc, cc := net.Pipe()
		defer func() { _ = sc.Close(); _ = cc.Close() }()
		go func() { _ = tls.Server(sc, e.TLSConfig()).Handshake(); _ = sc.Close() }()
		return tls.Client(cc, &tls.Config{ServerName: name, RootCAs: pool}).Handshake()
	}
	if err := handshake("localhost"); err != nil {
		t.Fatalf("localhost: %v", err)
	}
	err = handshake("nowhere.example.org")
	if err == nil || !strings.Contains(err.Error(), "unrecognized name") {
		t.Errorf("unknown SNI: %v, want the alert unrecognized name", err)
	}
}
