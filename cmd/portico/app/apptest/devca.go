package apptest

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/edge"
)

// DevCA makes the development CA of `portico tls init` in dataDir (a server
// started on dataDir with a TLS listener serves certificates it signs) and
// returns a pool that trusts it, for the test's clients.
func DevCA(t testing.TB, dataDir string) *x509.CertPool {
	t.Helper()
	if _, err := edge.InitDevCA(edge.DevCADir(dataDir), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	ca, err := edge.LoadDevCA(edge.DevCADir(dataDir), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}
