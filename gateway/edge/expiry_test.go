package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/testkit"
	"github.com/portico-dev/portico/store"
)

// TestExpiredCertificateAtStart: an expired development certificate leaves
// TLS off and says to run `portico tls init`; an expired --tls-cert refuses the
// start and says to replace it.
func TestExpiredCertificateAtStart(t *testing.T) {
	dir := t.TempDir()
	issued := time.Now().Add(-400 * 24 * time.Hour)
	f, err := InitDevCA(DevCADir(dir), nil, issued)
	if err != nil {
		t.Fatal(err)
	}
	var logs testkit.LockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	e, err := New(context.Background(), Config{DataDir: dir}, nil, nil, nil, log)
	if err != nil {
		t.Fatalf("an expired development certificate refused the start: %v", err)
	}
	if e.TLSConfig() != nil {
		t.Error("TLS is on with an expired certificate")
	}
	if !strings.Contains(logs.String(), "portico tls init") || !strings.Contains(logs.String(), "expired") {
		t.Errorf("the log does not say what to do:\n%s", logs.String())
	}
	_, err = New(context.Background(), Config{CertFile: f.Cert, KeyFile: f.Key}, nil, nil, nil, nil)
	if !errors.Is(err, errdefs.ErrInvalid) || !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), "replace --tls-cert") || strings.Contains(err.Error(), "invalid parameter") {
		t.Errorf("an expired --tls-cert: %v", err)
	}
}

// TestCertificateExpiryWarnings: a certificate in use that comes within
// RenewBefore of its expiry, and one that expires, is warned about once each,
// by the clock the edge is given.
func TestCertificateExpiryWarnings(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	if _, err := InitDevCA(DevCADir(dir), nil, start); err != nil {
		t.Fatal(err)
	}
	ca, err := LoadDevCA(DevCADir(dir), start)
	if err != nil {
		t.Fatal(err)
	}
	now := start
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	var logs testkit.LockedBuffer
	st := gwtest.Store(t, dir)
	e, err := New(context.Background(), Config{DataDir: dir}, st, apis.NewService(st, nil), clock, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue([]string{"inline.example.com"}, start)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateDomain(context.Background(), Domain{Name: "inline.example.com", CertificatePEM: certPEM, KeyPEM: keyPEM, CertificateSource: "inline"}); err != nil {
		t.Fatal(err)
	}
	e.CheckExpiry()
	if strings.Contains(logs.String(), "expire") {
		t.Fatalf("a new certificate was warned about:\n%s", logs.String())
	}
	set(start.Add(devCertValidity - 10*24*time.Hour))
	e.CheckExpiry()
	e.CheckExpiry()
	if n := strings.Count(logs.String(), "expires soon"); n != 2 {
		t.Errorf("%d warnings of a certificate expiring soon, want 2 (the default and the domain's), once each:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "portico tls init") || !strings.Contains(logs.String(), "inline.example.com") {
		t.Errorf("the warnings do not name the certificates and what to do:\n%s", logs.String())
	}
	set(start.Add(devCertValidity + time.Hour))
	e.CheckExpiry()
	if n := strings.Count(logs.String(), "has expired"); n != 2 {
		t.Errorf("%d warnings of an expired certificate, want 2:\n%s", n, logs.String())
	}
}

// TestStoredShadowingDomainIsNotServed: a domain stored before names under the
// gateway's domain were refused takes none of the gateway's requests.
func TestStoredShadowingDomainIsNotServed(t *testing.T) {
	dir := t.TempDir()
	st := gwtest.Store(t, dir)
	ctx := context.Background()
	if err := st.Update(ctx, func(tx *store.Tx) error {
		return tx.Put(bucketDomains, "*.execute-api.localhost", &Domain{Name: "*.execute-api.localhost", CreatedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	var logs testkit.LockedBuffer
	e, err := New(ctx, Config{DataDir: dir}, st, apis.NewService(st, nil), nil, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.Resolve(httptest.NewRequest(http.MethodGet, "http://abcdefghij.execute-api.localhost/prod/x", nil), "/prod/x"); got != nil || err != nil {
		t.Errorf("the stored domain took an execute-api request: %+v %v", got, err)
	}
	if !strings.Contains(logs.String(), "not served") {
		t.Errorf("the log does not say the domain is not served:\n%s", logs.String())
	}
}

// TestStoredEmptyTruststoreFailsClosed: a mutual TLS domain whose truststore
// an older build read empty (stored with its truststoreUri and no
// certificate) still requires mutual TLS: its handshakes fail and plain HTTP
// is refused, rather than it being served without client certificates.
func TestStoredEmptyTruststoreFailsClosed(t *testing.T) {
	dir := t.TempDir()
	if _, err := InitDevCA(DevCADir(dir), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	st := gwtest.Store(t, dir)
	ctx := context.Background()
	const name = "mtls.example.test"
	if err := st.Update(ctx, func(tx *store.Tx) error {
		return tx.Put(bucketDomains, name, &Domain{Name: name, CertificateSource: "dev", TruststoreURI: "file:///tmp/empty.pem", CreatedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	e, err := New(ctx, Config{DataDir: dir}, st, apis.NewService(st, nil), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.GetDomain(ctx, name)
	if err != nil || !d.MutualTLS() {
		t.Fatalf("the stored domain reads as without mutual TLS: %+v %v", d, err)
	}
	if _, err := e.configForClient(&tls.ClientHelloInfo{ServerName: name}); err == nil {
		t.Error("a handshake of the domain was served")
	}
	if _, err := e.Resolve(httptest.NewRequest(http.MethodGet, "http://"+name+"/x", nil), "/x"); !errors.Is(err, errdefs.ErrForbidden) {
		t.Errorf("plain HTTP to the domain: %v, want forbidden", err)
	}
}

// TestCertificateExpiryWarningsNameEveryDomain: a certificate shared by
// several domains (a wildcard and an exact name under it) is warned about
// under each domain's name, not only the first one found.
func TestCertificateExpiryWarningsNameEveryDomain(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	if _, err := InitDevCA(DevCADir(dir), nil, start); err != nil {
		t.Fatal(err)
	}
	ca, err := LoadDevCA(DevCADir(dir), start)
	if err != nil {
		t.Fatal(err)
	}
	now := start
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var logs testkit.LockedBuffer
	st := gwtest.Store(t, dir)
	e, err := New(context.Background(), Config{DataDir: dir}, st, apis.NewService(st, nil), clock, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue([]string{"*.w.example.com"}, start)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"*.w.example.com", "exact.w.example.com", "other.w.example.com"}
	for _, name := range names {
		if _, err := e.CreateDomain(context.Background(), Domain{Name: name, CertificatePEM: certPEM, KeyPEM: keyPEM, CertificateSource: "inline"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, state := range []struct {
		at   time.Time
		want string
	}{{start.Add(devCertValidity - 10*24*time.Hour), "expires soon"}, {start.Add(devCertValidity + time.Hour), "has expired"}} {
		mu.Lock()
		now = state.at
		mu.Unlock()
		e.CheckExpiry()
		e.CheckExpiry()
		named := map[string]int{}
		for _, line := range strings.Split(logs.String(), "\n") {
			if i := strings.Index(line, `cert="domain `); i >= 0 && strings.Contains(line, state.want) {
				named[strings.SplitN(line[i+len(`cert="domain `):], `"`, 2)[0]]++
			}
		}
		for _, name := range names {
			if named[name] != 1 {
				t.Errorf("%q: domain %s is named %d times, want once:\n%s", state.want, name, named[name], logs.String())
			}
		}
	}
}

// TestTLSCertWithTheListenerOff (tls28 #3): --tls-cert and --tls-key with
// --tls-listen off started without a word, then warned that the "TLS
// certificate in use expires soon", of a certificate nothing serves. The
// start warns that the files are not used, and there is no expiry warning.
func TestTLSCertWithTheListenerOff(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	f, err := InitDevCA(DevCADir(dir), nil, start)
	if err != nil {
		t.Fatal(err)
	}
	var logs testkit.LockedBuffer
	soon := func() time.Time { return start.Add(devCertValidity - 10*24*time.Hour) }
	e, err := New(context.Background(), Config{CertFile: f.Cert, KeyFile: f.Key, ListenerOff: true, DataDir: dir}, nil, nil, soon, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if e.TLSConfig() != nil {
		t.Error("a TLS configuration with the TLS listener off")
	}
	e.CheckExpiry()
	if log := logs.String(); !strings.Contains(log, "--tls-cert and --tls-key are not used: --tls-listen off") || strings.Contains(log, "expires soon") {
		t.Errorf("log:\n%s", log)
	}
}
