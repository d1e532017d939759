package edge

import (
	"context"
	"crypto/tls"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/store"
)

// handshakeSerial makes a TLS handshake with e's domain configuration for
// server name sni (client and server in this process, over loopback TCP) and
// answers the serial of the certificate served, or the handshake's error.
func handshakeSerial(t *testing.T, e *Edge, sni string) (string, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		srv := tls.Server(c, &tls.Config{MinVersion: tls.VersionTLS12, GetConfigForClient: e.configForClient})
		_ = srv.HandshakeContext(t.Context())
		_ = srv.Close()
	}()
	d := tls.Dialer{Config: &tls.Config{ServerName: sni, InsecureSkipVerify: true}} //nolint:gosec // the test reads what is served, expired or not
	conn, err := d.DialContext(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		<-done
		return "", err
	}
	serial := conn.(*tls.Conn).ConnectionState().PeerCertificates[0].SerialNumber.String()
	_ = conn.Close()
	<-done
	return serial, nil
}

// domainFiles is a custom domain whose certificate comes from files, on an
// edge with a clock the test sets.
type domainFiles struct {
	dir, certPath, keyPath, arn string
	ca                          *DevCA
	st                          *store.Store
	clock                       atomic.Pointer[time.Time]
}

const filesDomain = "files.example.com"

func newDomainFiles(t *testing.T) *domainFiles {
	t.Helper()
	f := &domainFiles{dir: t.TempDir()}
	// The TLS listener's certificate, valid when the tests start the edge
	// after their clock moved (300 and 400 days on): a domain's handshakes
	// fail only where there is a TLS listener.
	if _, err := InitDevCA(DevCADir(f.dir), nil, time.Now().Add(300*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	f.ca, _ = newTestCA(t)
	f.certPath, f.keyPath = filepath.Join(f.dir, "d.pem"), filepath.Join(f.dir, "d-key.pem")
	f.arn = "file://" + f.certPath + "?key=" + f.keyPath
	f.st = gwtest.Store(t, f.dir)
	now := time.Now()
	f.clock.Store(&now)
	return f
}

func (f *domainFiles) now() time.Time { return *f.clock.Load() }

func (f *domainFiles) setNow(at time.Time) { f.clock.Store(&at) }

// issue signs a certificate for the domain valid from at for 397 days, and
// answers it with its key and serial.
func (f *domainFiles) issue(t *testing.T, at time.Time) (c, k []byte, serial string) {
	t.Helper()
	c, k, err := f.ca.Issue([]string{filesDomain}, at)
	if err != nil {
		t.Fatal(err)
	}
	return c, k, serialOf(t, c)
}

// write puts a pair in the files, the key first, each renamed into place.
func (f *domainFiles) write(t *testing.T, c, k []byte) {
	t.Helper()
	renameInto(t, f.keyPath, k)
	renameInto(t, f.certPath, c)
}

// start starts an edge on the store, as a server start does.
func (f *domainFiles) start(t *testing.T) *Edge {
	t.Helper()
	e, err := New(context.Background(), Config{DataDir: f.dir}, f.st, nil, f.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// watch starts e's watcher and returns a function that waits for the next
// judged reload of the domain's files.
func watch(t *testing.T, e *Edge) func() error {
	t.Helper()
	reloads, stop := make(chan error, 16), make(chan struct{})
	t.Cleanup(func() { close(stop) })
	e.SetReloadHook(func(domain string, err error) {
		if domain != filesDomain {
			return
		}
		select {
		case reloads <- err:
		case <-stop:
		}
	})
	if err := e.Watch(); err != nil {
		t.Fatal(err)
	}
	return func() error {
		t.Helper()
		select {
		case err := <-reloads:
			return err
		case <-time.After(time.Minute): // a guard against hanging, not a timing assertion
			t.Fatal("the domain's certificate files were not reloaded")
			return nil
		}
	}
}

// TestDomainStoredCopyFollowsReloads: a certificate reloaded from a domain's
// files becomes the domain's stored copy, so that an update of the domain
// (its truststore) and a restart with bad files serve it, not the copy taken
// at creation (which may have expired since).
func TestDomainStoredCopyFollowsReloads(t *testing.T) {
	f := newDomainFiles(t)
	t0 := f.now()
	c0, k0, serial0 := f.issue(t, t0.Add(-100*24*time.Hour)) // expires 297 days after t0
	f.write(t, c0, k0)
	e := f.start(t)
	if _, err := e.CreateDomain(context.Background(), Domain{Name: filesDomain, CertificatePEM: c0, KeyPEM: k0, CertificateSource: f.arn}); err != nil {
		t.Fatal(err)
	}
	next := watch(t, e)
	if got, err := handshakeSerial(t, e, filesDomain); err != nil || got != serial0 {
		t.Fatalf("created: serving %s %v, want %s", got, err, serial0)
	}
	c1, k1, serial1 := f.issue(t, t0) // expires 397 days after t0
	f.write(t, c1, k1)
	for {
		if err := next(); err == nil {
			if got, _ := handshakeSerial(t, e, filesDomain); got == serial1 {
				break
			}
		}
	}

	clients, _ := newTestCA(t)
	if _, err := e.UpdateDomain(context.Background(), filesDomain, func(d *Domain) error {
		d.TruststorePEM, d.TruststoreURI = clients.CertPEM, "file:///clients.pem"
		return nil
	}); err != nil {
		t.Fatalf("a truststore update: %v", err)
	}
	if got, err := handshakeSerial(t, e, filesDomain); err != nil || got != serial1 {
		t.Errorf("after a truststore update: serving %s %v, want the reloaded %s", got, err, serial1)
	}

	// The files go bad; a restart serves the last certificate they gave,
	// also once the creation copy has expired.
	renameInto(t, f.certPath, []byte("junk"))
	_ = e.Close()
	f.setNow(t0.Add(300 * 24 * time.Hour))
	e = f.start(t)
	if got, err := handshakeSerial(t, e, filesDomain); err != nil || got != serial1 {
		t.Errorf("restarted with bad files: serving %s %v, want the reloaded %s", got, err, serial1)
	}
	if d, _ := e.GetDomain(context.Background(), filesDomain); e.NotServed(d) != nil {
		t.Errorf("restarted with bad files: not served: %v", e.NotServed(d))
	}
}

// TestDomainFilesTriedBeforeStoredCopy: at start a domain's certificate
// files are loaded before its stored copy is judged, so an expired copy does
// not refuse a domain whose files are good; when both fail, the domain's
// handshakes fail and it reads back as not served, and its files are still
// watched: a good pair written later serves it.
func TestDomainFilesTriedBeforeStoredCopy(t *testing.T) {
	f := newDomainFiles(t)
	t0 := f.now()
	c0, k0, _ := f.issue(t, t0.Add(-100*24*time.Hour)) // expires 297 days after t0
	f.write(t, c0, k0)
	e := f.start(t)
	if _, err := e.CreateDomain(context.Background(), Domain{Name: filesDomain, CertificatePEM: c0, KeyPEM: k0, CertificateSource: f.arn}); err != nil {
		t.Fatal(err)
	}
	_ = e.Close()

	// Renewed while the server was down (certbot), started after the copy
	// in the store expired.
	c1, k1, serial1 := f.issue(t, t0)
	f.write(t, c1, k1)
	f.setNow(t0.Add(300 * 24 * time.Hour))
	e = f.start(t)
	if got, err := handshakeSerial(t, e, filesDomain); err != nil || got != serial1 {
		t.Fatalf("files renewed while down: serving %s %v, want %s", got, err, serial1)
	}
	_ = e.Close()

	// Both the files and the copy in the store expired: refused, reported,
	// and served again once the files are renewed.
	f.setNow(t0.Add(400 * 24 * time.Hour))
	e = f.start(t)
	if got, err := handshakeSerial(t, e, filesDomain); err == nil {
		t.Fatalf("an expired certificate was served: %s", got)
	}
	d, err := e.GetDomain(context.Background(), filesDomain)
	if err != nil {
		t.Fatal(err)
	}
	if e.NotServed(d) == nil {
		t.Error("a domain whose handshakes fail reads as served")
	}
	next := watch(t, e)
	c2, k2, serial2 := f.issue(t, f.now())
	f.write(t, c2, k2)
	for {
		if err := next(); err == nil {
			break
		}
	}
	if got, err := handshakeSerial(t, e, filesDomain); err != nil || got != serial2 {
		t.Fatalf("files renewed: serving %s %v, want %s", got, err, serial2)
	}
	if err := e.NotServed(d); err != nil {
		t.Errorf("renewed: still not served: %v", err)
	}
}
