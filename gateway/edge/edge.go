// Package edge is the gateway's edge: TLS (certificates from PEM files reloaded
// when they change, a development CA for `portico tls init`), custom domain names
// with their base path and API mappings, resolved by SNI and Host, and mutual TLS
// per domain.
//
// The gateway consumes it through two small seams it declares: a DomainResolver
// (Edge.Resolve) in its locate step and the TLS configuration (Edge.TLSConfig) of
// its TLS listener.
package edge

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
)

// Config configures the edge.
type Config struct {
	// CertFile and KeyFile are the gateway's default certificate and key (PEM),
	// reloaded when they change. Empty: the development certificate of `portico
	// tls init` in DataDir when it exists, else TLS stays off.
	CertFile, KeyFile string
	// ListenerOff: the gateway has no TLS listener (--tls-listen off). The
	// default certificate is then not loaded, as nothing serves it (a
	// CertFile given is warned about); custom domains are served by Host on
	// the plain listener.
	ListenerOff bool
	// DataDir is the data directory (for the development CA).
	DataDir string
	// GatewayDomain is the gateway's own domain, whose names {apiId}.DOMAIN
	// are every API's execute-api endpoint (default DefaultGatewayDomain):
	// custom domain names under it are refused, so that none shadows them.
	GatewayDomain string
}

// DefaultGatewayDomain is the gateway's domain when Config.GatewayDomain is
// empty, as the gateway's own default.
const DefaultGatewayDomain = "execute-api.localhost"

// Edge holds the TLS configuration and the custom domain names. Safe for
// concurrent use.
type Edge struct {
	cfg  Config
	log  *slog.Logger
	st   *store.Store
	apis APIs
	now  func() time.Time

	cert *CertReloader // nil: no default certificate, TLS off
	// devCertBad: the development certificate in the data directory did
	// not load at start, which New logged with what to do (TLSOffSaid).
	devCertBad bool

	devMu    sync.Mutex // guards the development CA's fields
	devFiles [2]fileStamp
	devCA    *DevCA
	devErr   error
	devRead  bool // devCA, devErr are those of devFiles

	mu      sync.Mutex   // serializes rebuilds, Watch and Close
	watcher *certWatcher // set by Watch: reloads the certificates from files
	table   atomic.Pointer[table]

	expiryWarned sync.Map      // CheckExpiry's warnings given: what + "/" + certificate DER + "/" + state
	expiryStop   chan struct{} // closed by Close: ends Watch's expiry checks

	reloadHook atomic.Pointer[func(domain string, err error)]
	// devCAHook, when set, gets the development CA (PEM) once the
	// development certificate reloaded (SetDevCAHook).
	devCAHook      atomic.Pointer[func(caPEM []byte)]
	truststoreHook atomic.Pointer[func()]
}

// New returns the edge; it loads the default certificate (refusing one that
// LoadKeyPair refuses) and the stored domain names. now may be nil.
func New(ctx context.Context, cfg Config, st *store.Store, a APIs, now func() time.Time, log *slog.Logger) (*Edge, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	if cfg.DataDir == "" && st != nil {
		cfg.DataDir = st.Dir()
	}
	if cfg.GatewayDomain == "" {
		cfg.GatewayDomain = DefaultGatewayDomain
	}
	cfg.GatewayDomain = CanonicalDomainName(cfg.GatewayDomain)
	e := &Edge{cfg: cfg, log: log, st: st, apis: a, now: now}
	if g, ok := a.(interface{ GuardDelete(apis.DeleteGuard) }); ok {
		g.GuardDelete(refuseDeletingMappedAPI)
	}
	certFile, keyFile := cfg.CertFile, cfg.KeyFile
	if (certFile == "") != (keyFile == "") {
		return nil, invalidf("--tls-cert and --tls-key go together")
	}
	dev := false
	if cfg.ListenerOff {
		if certFile != "" {
			log.Warn("--tls-cert and --tls-key are not used: --tls-listen off turns off the TLS listener that would serve them; drop them, or give --tls-listen an address",
				"cert", certFile, "key", keyFile)
		}
		certFile, keyFile = "", ""
	}
	if certFile == "" && cfg.DataDir != "" && !cfg.ListenerOff {
		dir := DevCADir(cfg.DataDir)
		c, k := filepath.Join(dir, DevCertFile), filepath.Join(dir, DevKeyFile)
		if _, err := os.Stat(c); err == nil {
			certFile, keyFile, dev = c, k, true
		}
	}
	if certFile != "" {
		r, err := NewCertReloader(certFile, keyFile, now, log)
		switch {
		case err != nil && dev:
			// The development certificate is the server's own choice, not
			// the operator's: a bad one (most often expired) turns TLS off
			// rather than keeping plain HTTP and the admin API down too.
			log.Error("TLS listener off: the development certificate does not load; run `portico tls init --data-dir DATA` with the server's data directory to make a new one (make run does), then restart",
				"cert", certFile, "err", err)
			e.devCertBad = true
		case err != nil:
			return nil, &hinted{err: err, hint: "replace --tls-cert and --tls-key (PORTICO_TLS_CERT, PORTICO_TLS_KEY) with a pair valid now"}
		default:
			e.cert = r
			if dev && st != nil {
				// `portico tls init` rewrites the certificate; when it made
				// a new CA, the domains the old one signed are signed again.
				r.OnReload = func(err error) {
					if err == nil {
						go e.devCertReloaded()
					}
				}
			}
		}
	}
	if st != nil {
		if err := e.rebuild(ctx); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// hinted is an error with what to do about it after its text; it is still
// the error it wraps.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() + ": " + h.hint }
func (h *hinted) Unwrap() error { return h.err }

// CheckExpiry logs a warning for every certificate in use (the default one
// and the custom domains') that has expired or expires within RenewBefore,
// naming what to do; a certificate is warned about once per state (soon,
// expired) and user (the default certificate, each domain) until it is
// replaced, so that a certificate shared by several domains names each. Watch runs it every ExpiryCheckInterval;
// tests call it with their clock.
func (e *Edge) CheckExpiry() {
	now := e.now()
	check := func(what, hint string, c *tls.Certificate) {
		if c == nil || c.Leaf == nil {
			return
		}
		state := ""
		switch {
		case !now.Before(c.Leaf.NotAfter):
			state = "expired"
		case now.Add(RenewBefore).After(c.Leaf.NotAfter):
			state = "soon"
		default:
			return
		}
		key := what + "/" + string(c.Certificate[0]) + "/" + state
		if _, seen := e.expiryWarned.LoadOrStore(key, true); seen {
			return
		}
		msg := "TLS certificate in use expires soon"
		if state == "expired" {
			msg = "TLS certificate in use has expired: clients refuse it"
		}
		e.log.Warn(msg, "cert", what, "notAfter", c.Leaf.NotAfter.UTC().Format(time.RFC3339), "do", hint)
	}
	if e.cert != nil {
		hint := "replace --tls-cert and --tls-key; the new files are loaded as they change"
		if e.cfg.CertFile == "" {
			hint = "run `portico tls init` to make a new development certificate; it is loaded as it is written"
		}
		check(e.cert.certFile, hint, e.cert.Certificate())
	}
	if t := e.table.Load(); t != nil {
		for _, m := range []map[string]*domainEntry{t.exact, t.wild} {
			for _, d := range m {
				if d.tls == nil {
					continue
				}
				if d.tls.certs != nil {
					check("domain "+d.domain.Name, "replace the files of its certificate ARN ("+d.domain.CertificateSource+"); they are loaded as they change", d.tls.certs.Certificate())
					continue
				}
				if d.domain.CertificateSource == "dev" || len(d.tls.cfg.Certificates) == 0 {
					continue // signed at start by the development CA
				}
				check("domain "+d.domain.Name, "give it a new certificate (update-domain-name)", &d.tls.cfg.Certificates[0])
			}
		}
	}
}

// ExpiryCheckInterval is how often Watch checks certificates for expiry.
const ExpiryCheckInterval = time.Hour

// Certificates returns the default certificate's reloader, nil when TLS is off.
func (e *Edge) Certificates() *CertReloader { return e.cert }

// Watch starts reloading certificates when their files change: the default
// certificate's and those of custom domains created from files
// (file:///abs/cert.pem?key=/abs/key.pem), including domains created later.
func (e *Edge) Watch() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.watcher != nil {
		return nil
	}
	var reloaders []*CertReloader
	if e.cert != nil {
		reloaders = append(reloaders, e.cert)
	}
	if t := e.table.Load(); t != nil {
		reloaders = append(reloaders, t.reloaders()...)
	}
	w, err := watchFiles(e.log, reloaders...)
	if err != nil {
		return err
	}
	e.watcher = w
	e.expiryStop = make(chan struct{})
	go e.checkExpiryEvery(ExpiryCheckInterval, e.expiryStop)
	return nil
}

// checkExpiryEvery runs CheckExpiry now and every interval until stop closes.
func (e *Edge) checkExpiryEvery(interval time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		e.CheckExpiry()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// Close stops watching.
func (e *Edge) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.watcher == nil {
		return nil
	}
	close(e.expiryStop)
	err := e.watcher.close()
	e.watcher = nil
	return err
}

// SetReloadHook sets a function called after every reload attempt of a custom
// domain's certificate files, with the domain's name and the attempt's error
// (nil: the new certificate is in use). For tests and operators' tooling.
func (e *Edge) SetReloadHook(f func(domain string, err error)) { e.reloadHook.Store(&f) }

// SetDevCAHook has f called with the development CA's certificate (PEM)
// each time the development certificate reloads (`portico tls init`), after
// the custom domains were signed again: the sandbox CA trusts a new one
// (SandboxCA.TrustDevCA). f runs on a goroutine of the edge's own.
func (e *Edge) SetDevCAHook(f func(caPEM []byte)) { e.devCAHook.Store(&f) }

// OnTruststoreChange sets a function called after every change that may leave
// a connection to a mutual TLS domain verified against a truststore the domain
// no longer has: a mutual TLS domain updated (its truststore, or its
// certificate) or deleted. It runs once the change is in effect (Verified
// then answers for the domains as they are now), on the goroutine that made
// the change, and should not block. The gateway closes the WebSocket
// connections that Verified refuses from it; HTTP requests are checked one by
// one (Resolve).
func (e *Edge) OnTruststoreChange(f func()) { e.truststoreHook.Store(&f) }

// Verified reports whether a connection made to host (a WebSocket upgrade's
// Host, which Resolve resolved) with TLS state cs (nil: plain HTTP) would still
// be let through to a mutual TLS domain as the domains are now: as Resolve,
// the domain's handshake with a client certificate verified against the CA of
// its truststore as it is now. A connection to a domain without mutual TLS is
// good; one that came through a mutual TLS domain deleted since is not (no
// truststore admits it), and one to no domain without a verified client
// certificate is.
func (e *Edge) Verified(host string, cs *tls.ConnectionState) bool {
	t := e.table.Load()
	var d *domainEntry
	if t != nil {
		d = t.lookup(hostOnly(host))
	}
	if d == nil {
		return cs == nil || len(cs.VerifiedChains) == 0
	}
	return d.admits(t, cs) == nil
}

// devCertReloaded compiles the domains again after the development
// certificate was reloaded: compile signs those of an earlier development
// CA with the current one. It runs on a goroutine of its own, off the
// watcher's.
func (e *Edge) devCertReloaded() {
	e.mu.Lock()
	closed := e.watcher == nil // Close ran
	e.mu.Unlock()
	if closed {
		return
	}
	if err := e.rebuild(context.Background()); err != nil {
		e.log.Error("custom domains not compiled again after the development certificate changed: those signed by an earlier development CA keep its certificates until a restart", "err", err)
	}
	if f := e.devCAHook.Load(); f != nil && *f != nil {
		if ca, err := e.DevCA(); err == nil {
			(*f)(ca.CertPEM)
		}
	}
}

func (e *Edge) domainReloaded(domain string, err error) {
	if f := e.reloadHook.Load(); f != nil && *f != nil {
		(*f)(domain, err)
	}
}

// DevCA returns the development CA of the data directory (errdefs.ErrNotFound
// before `portico tls init`). It is loaded again when its files change (are
// made, replaced or removed), so that `portico tls init` needs no restart;
// until then the last load's CA or error is returned at the cost of two
// stats.
func (e *Edge) DevCA() (*DevCA, error) {
	dir := DevCADir(e.cfg.DataDir)
	files := [2]fileStamp{stampOf(filepath.Join(dir, DevCACertFile)), stampOf(filepath.Join(dir, DevCAKeyFile))}
	e.devMu.Lock()
	defer e.devMu.Unlock()
	if !e.devRead || files != e.devFiles {
		e.devCA, e.devErr = LoadDevCA(dir, e.now())
		e.devFiles, e.devRead = files, true
	}
	return e.devCA, e.devErr
}

// fileStamp is what a file's stat says of its content: a file rewritten has
// another modification time or size; the zero stamp is a file that is not
// there.
type fileStamp struct {
	modTime int64 // Unix nanoseconds
	size    int64
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{modTime: fi.ModTime().UnixNano(), size: fi.Size()}
}

// nextProtos: HTTP/2 first for REST and HTTP APIs; WebSocket clients ask for
// http/1.1 only (Portico does not offer RFC 8441 WebSockets over HTTP/2).
var nextProtos = []string{"h2", "http/1.1"}

// TLSConfig returns the TLS listener's configuration (TLS 1.2 and 1.3 with Go's
// defaults, HTTP/2, the certificate of the SNI's custom domain or the default
// one, client certificates on mutual TLS domains), or nil when there is no
// default certificate: TLS is then off.
func (e *Edge) TLSConfig() *tls.Config {
	if e.cert == nil {
		return nil
	}
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		NextProtos:         nextProtos,
		GetCertificate:     e.cert.GetCertificate,
		GetConfigForClient: e.configForClient,
	}
}

// TLSOffSaid reports whether TLSConfig is nil because the development
// certificate in the data directory does not load (most often: it expired),
// which New logged with what to do; the gateway then does not log a second,
// vaguer reason (gateway.TLSOffExplainer).
func (e *Edge) TLSOffSaid() bool { return e.cert == nil && e.devCertBad }

// unknownSNI is the configuration of a handshake whose server name is neither
// a custom domain nor covered by the default certificate: it has no
// certificate, so crypto/tls refuses the handshake with the alert
// unrecognized_name (112), which says what is wrong, rather than the
// internal_error (80) that an error from GetConfigForClient sends.
var unknownSNI = &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: nextProtos}

// configForClient picks the configuration of the SNI's custom domain; nil keeps
// the default one.
func (e *Edge) configForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	sni := strings.ToLower(hello.ServerName)
	if sni == "" {
		return nil, nil
	}
	if t := e.table.Load(); t != nil {
		if d := t.lookup(sni); d != nil {
			if d.err != nil {
				return nil, fmt.Errorf("domain name %s: %w", d.domain.Name, d.err)
			}
			return d.tls.cfg, nil
		}
	}
	if leaf := e.cert.Certificate().Leaf; leaf != nil && leaf.VerifyHostname(sni) == nil {
		return nil, nil
	}
	e.log.Debug("TLS handshake refused: the server name is no custom domain and not in the gateway's certificate", "sni", sni)
	return unknownSNI, nil
}

// compiledTLS is a domain's TLS configuration as domainTLS builds it.
type compiledTLS struct {
	cfg *tls.Config
	// certs is the certificate's reloader, nil unless it comes from files.
	certs *CertReloader
	// roots are the truststore's certificates (mutual TLS), those that
	// verified the domain's connections: a connection whose client
	// certificate chains to none of them was verified under an earlier
	// truststore.
	roots []*x509.Certificate
	// devCAPEM is the development CA that signed the certificate (PEM), nil
	// unless it is the development CA's: compile signs it again when the CA
	// changed (`portico tls init` made a new one).
	devCAPEM []byte
}

// domainTLS builds a domain's TLS configuration from its certificate (or the
// development CA's) and truststore, refusing one that does not load. A
// certificate from files (a file:// certificate ARN) is read from the files
// first, and d's stored copy becomes what they hold when they load; the
// stored copy is served when they do not. It comes with its reloader, which
// serves it and, once watched, reloads the files.
func (e *Edge) domainTLS(d *Domain) (*compiledTLS, error) { return e.buildDomainTLS(d, false) }

// buildDomainTLS is domainTLS; with serving (a server starting, or a table
// compiled for the listener) a domain whose certificate files and stored copy
// both fail is not an error: its reloader has no certificate, so its
// handshakes fail, and its files are watched, so that it is served once they
// load.
func (e *Edge) buildDomainTLS(d *Domain, serving bool) (*compiledTLS, error) {
	var cert *tls.Certificate
	var err error
	certFile, keyFile, fromFiles := CertificateFiles(d.CertificateSource)
	var reloader *CertReloader
	var devCAPEM []byte
	switch {
	case len(d.CertificatePEM) == 0 && len(d.KeyPEM) == 0 && !fromFiles:
		ca, cerr := e.DevCA()
		if cerr != nil {
			return nil, errdefs.New(errdefs.ErrInvalid, "BadRequestException",
				fmt.Sprintf("domain name %s has no certificate: give one (certificateBody and certificatePrivateKey, or a file:// certificateArn) or run `portico tls init` for the development CA", d.Name))
		}
		d.CertificateSource = "dev"
		cert, err = ca.IssueTLS([]string{d.Name}, e.now())
		devCAPEM = ca.CertPEM
	case fromFiles:
		name := d.Name
		reloader = newCertReloader(certFile, keyFile, e.now, e.log.With("domain", name), func(c *tls.Certificate) error {
			return covers(name, c, "certificate file "+certFile)
		})
		pair, certPEM, keyPEM, ferr := reloader.read()
		if ferr == nil {
			cert, d.CertificatePEM, d.KeyPEM = pair, certPEM, keyPEM
			break
		}
		reloader.failure.Store(&ferr)
		if serving {
			reloader.reported = reloader.failureID(ferr) // logged below, once
		}
		cert, err = e.storedCertificate(d)
		switch {
		case err == nil && serving:
			e.log.Warn("domain certificate files do not load: serving the copy in the store until they do", "domain", name, "cert", certFile, "err", ferr)
		case err != nil && serving:
			e.log.Error("domain name refused: its handshakes fail until its certificate files load (they are watched)",
				"domain", name, "cert", certFile, "err", ferr, "stored", err)
			cert, err = nil, nil
		case err != nil:
			err = ferr // the files are what the operator fixes
		}
	default:
		cert, err = e.storedCertificate(d)
	}
	if err != nil {
		return nil, badRequest(err)
	}
	c := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: nextProtos,
	}
	if reloader != nil {
		name, createdAt, revision, source := d.Name, d.CreatedAt, d.Revision, d.CertificateSource
		if cert != nil {
			reloader.cur.Store(cert)
		}
		reloader.OnReload = func(err error) { e.domainReloaded(name, err) }
		reloader.onLoaded = func(certPEM, keyPEM []byte) { e.keepReloaded(name, createdAt, revision, source, certPEM, keyPEM) }
		c.GetCertificate = reloader.GetCertificate
	} else {
		c.Certificates = []tls.Certificate{*cert}
	}
	out := &compiledTLS{cfg: c, certs: reloader, devCAPEM: devCAPEM}
	if d.MutualTLS() {
		pool, roots, err := parseTruststore(d.TruststorePEM, d.TruststoreURI)
		if err != nil {
			return nil, badRequest(err)
		}
		out.roots = roots
		c.ClientAuth, c.ClientCAs = tls.RequireAndVerifyClientCert, pool
		c.VerifyConnection = refuseSelfSignedClient
		// Own ticket keys: a session resumed here was verified against this
		// truststore, never another domain's.
		var key [32]byte
		_, _ = rand.Read(key[:])
		c.SetSessionTicketKeys([][32]byte{key})
	}
	return out, nil
}

// refuseSelfSignedClient fails a mutual TLS handshake whose client
// certificate is self-signed, as API Gateway does ("Access denied. Reason:
// self signed certificate") even when the truststore holds that certificate:
// a truststore names the CAs that issue client certificates.
func refuseSelfSignedClient(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return nil // RequireAndVerifyClientCert refused it already
	}
	leaf := cs.PeerCertificates[0]
	if bytes.Equal(leaf.RawSubject, leaf.RawIssuer) && leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil {
		return errors.New("the client certificate is self-signed: give one issued by a CA in the domain's truststore")
	}
	return nil
}

// storedCertificate parses d's stored certificate and key, checked at now and
// against d's name.
func (e *Edge) storedCertificate(d *Domain) (*tls.Certificate, error) {
	cert, err := ParseKeyPair(d.CertificatePEM, d.KeyPEM, "the certificate of "+d.Name, "the private key of "+d.Name, e.now())
	if err == nil {
		err = covers(d.Name, cert, "the certificate of "+d.Name)
	}
	return cert, err
}

// keepReloaded makes a certificate reloaded from a domain's files the
// domain's stored copy, so that a restart while the files are bad, or an
// update of the domain, serves it rather than an older copy. It keeps
// nothing when the domain changed since its reloader was built (deleted,
// created again or updated: the update read the files itself). Called on the
// watcher's goroutine.
func (e *Edge) keepReloaded(name string, createdAt time.Time, revision int, source string, certPEM, keyPEM []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := e.st.Update(ctx, func(tx *store.Tx) error {
		d, err := getDomain(tx, name)
		if err != nil {
			if errors.Is(err, errdefs.ErrNotFound) {
				return nil
			}
			return err
		}
		if !d.CreatedAt.Equal(createdAt) || d.Revision != revision || d.CertificateSource != source ||
			(bytes.Equal(d.CertificatePEM, certPEM) && bytes.Equal(d.KeyPEM, keyPEM)) {
			return nil
		}
		d.CertificatePEM, d.KeyPEM, d.CertificateUploadedAt = certPEM, keyPEM, e.now()
		return tx.Put(bucketDomains, name, d)
	})
	if err != nil {
		e.log.Error("the reloaded certificate of a domain is not kept in the store: a restart while its files are bad serves the older copy",
			"domain", name, "err", err)
	}
}

// covers checks that a domain's certificate (named in errors by what) covers the
// domain name; a wildcard domain's must cover its names.
func covers(domain string, c *tls.Certificate, what string) error {
	if coversName(domain, c.Leaf) {
		return nil
	}
	if len(c.Leaf.DNSNames) == 0 && len(c.Leaf.IPAddresses) == 0 {
		return invalidf("%s names no host in a subjectAltName (its subject is %s), so it covers no name: clients check the subjectAltName and ignore the common name. Issue it with subjectAltName=DNS:%s (openssl req -addext subjectAltName=DNS:%s)",
			what, c.Leaf.Subject, domain, domain)
	}
	return invalidf("%s (%s) does not cover %s", what, certNames(c), domain)
}

// coversName reports whether leaf is valid for every name domain stands for. A
// wildcard domain (*.example.com) stands for every name one label under its
// suffix, so only a wildcard name of the same suffix covers it: a certificate for
// x.example.com alone would fail every other client's hostname check.
func coversName(domain string, leaf *x509.Certificate) bool {
	suffix, wild := strings.CutPrefix(domain, "*.")
	if !wild {
		return leaf.VerifyHostname(domain) == nil
	}
	suffix = strings.TrimSuffix(suffix, ".")
	for _, n := range leaf.DNSNames {
		if rest, ok := strings.CutPrefix(n, "*."); ok && strings.EqualFold(strings.TrimSuffix(rest, "."), suffix) {
			return true
		}
	}
	return false
}

func certNames(c *tls.Certificate) string {
	names := append([]string{}, c.Leaf.DNSNames...)
	for _, ip := range c.Leaf.IPAddresses {
		names = append(names, ip.String())
	}
	return strings.Join(names, ", ")
}

// table is the compiled domain model, swapped whole on every change.
type table struct {
	exact map[string]*domainEntry
	wild  map[string]*domainEntry // "example.com" for *.example.com
}

type domainEntry struct {
	domain   Domain
	tls      *compiledTLS // nil when err is set
	err      error        // the domain's certificate or truststore failed to load
	mappings []Mapping    // longest key first
}

// verified reports whether a mutual TLS connection's client certificate was
// verified against the domain's truststore as it is now: a chain of cs ends at
// one of its certificates. A connection made before the truststore changed
// (the domain deleted and created again, or updated) chains to a certificate
// it no longer holds. A full handshake's chain ends at the very certificate
// of the pool, so the comparison is of pointers; a resumed session's chains
// were parsed again from its ticket, and compare by their bytes.
func (d *domainEntry) verified(cs *tls.ConnectionState) bool {
	if d.tls == nil {
		return false
	}
	for _, chain := range cs.VerifiedChains {
		if len(chain) == 0 {
			continue
		}
		root := chain[len(chain)-1]
		for _, c := range d.tls.roots {
			if c == root || bytes.Equal(c.Raw, root.Raw) {
				return true
			}
		}
	}
	return false
}

func (t *table) empty() bool { return len(t.exact) == 0 && len(t.wild) == 0 }

// reloaders returns the domains' certificate reloaders.
func (t *table) reloaders() []*CertReloader {
	var out []*CertReloader
	for _, m := range []map[string]*domainEntry{t.exact, t.wild} {
		for _, d := range m {
			if d.tls != nil && d.tls.certs != nil {
				out = append(out, d.tls.certs)
			}
		}
	}
	return out
}

// lookup finds the domain of a host name: an exact name, else a wildcard one
// label up.
func (t *table) lookup(host string) *domainEntry {
	if d := t.exact[host]; d != nil {
		return d
	}
	if label, parent, ok := strings.Cut(host, "."); ok && isDNSLabel(label) {
		return t.wild[parent]
	}
	return nil
}

// isDNSLabel reports whether s can stand in for a wildcard's star: a DNS
// label of letters, digits and inner hyphens, as domain names are checked at
// creation (ValidateDomainName). "", "*", "a_b" or "a%41" in a Host could
// never be a DNS name's label; as domainPrefix they would be tenants no
// name produces.
func isDNSLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// rebuild compiles the stored domains and mappings into a new table, then
// tells the OnTruststoreChange function when a mutual TLS domain's compiled
// TLS configuration changed or the domain is gone.
func (e *Edge) rebuild(ctx context.Context) error {
	changed, err := e.compile(ctx)
	if err != nil || !changed {
		return err
	}
	if f := e.truststoreHook.Load(); f != nil && *f != nil {
		(*f)()
	}
	return nil
}

// compile is rebuild without the hook; it reports whether a mutual TLS domain
// of the table it replaced was changed or removed.
func (e *Edge) compile(ctx context.Context) (mtlsChanged bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := &table{exact: map[string]*domainEntry{}, wild: map[string]*domainEntry{}}
	old := e.table.Load()
	var fresh []Domain    // domains whose certificate files hold another pair than their stored copy
	var resigned []string // domains signed again by a new development CA
	err = e.st.View(ctx, func(tx *store.Tx) error {
		return tx.ForEach(bucketDomains, "", func(key string, raw []byte) error {
			var d Domain
			if err := jsonUnmarshal(raw, &d); err != nil {
				// One damaged record stops neither the start nor the
				// other domains: it serves nothing until deleted.
				if old == nil {
					e.log.Error("a stored domain name record is damaged (it does not decode): the domain serves nothing; delete it, or restore portico.db from a backup (docs/operations.md#backups)",
						"record", bucketDomains+"/"+key, "delete", DamagedDelete(bucketDomains, key), "err", err)
				}
				return nil
			}
			if err := e.checkStoredName(d.Name); err != nil {
				// Stored before such names were refused: it would take the
				// gateway's own requests, so it serves none.
				if old == nil {
					e.log.Error("domain name not served: delete it", "domain", d.Name, "err", err)
				}
				return nil
			}
			ent := &domainEntry{domain: d}
			if old != nil { // keep the compiled TLS (its dev or reloaded certificate) of an unchanged domain
				if o := old.lookupName(d.Name); o != nil && o.domain.CreatedAt.Equal(d.CreatedAt) && o.domain.Revision == d.Revision {
					ent.tls, ent.err = o.tls, o.err
					if o.tls != nil && o.tls.devCAPEM != nil {
						// Signed by the development CA: again by a new
						// one, which clients are told to trust instead.
						if ca, err := e.DevCA(); err == nil && !bytes.Equal(ca.CertPEM, o.tls.devCAPEM) {
							ent.tls, ent.err = nil, nil
							resigned = append(resigned, d.Name)
						}
					}
				}
			}
			if ent.tls == nil && ent.err == nil {
				// A certificate from files is read from them (they may have
				// changed while the server was down): served when they are
				// good, else the stored copy.
				stored := d.CertificatePEM
				ent.tls, ent.err = e.buildDomainTLS(&d, true)
				if ent.err != nil {
					e.log.Error("domain name refused: its handshakes fail until fixed", "domain", d.Name, "err", ent.err)
				}
				if ent.err == nil && !bytes.Equal(stored, d.CertificatePEM) {
					fresh = append(fresh, d)
				}
				ent.domain = d
			}
			ms := soundMappings(tx, d.Name, func(key string, err error) {
				if old == nil {
					e.log.Error("a stored API mapping record is damaged (it does not decode): its base path serves nothing; delete it, or restore portico.db from a backup (docs/operations.md#backups)",
						"record", bucketMappings+"/"+key, "delete", DamagedDelete(bucketMappings, key), "err", err)
				}
			})
			sort.SliceStable(ms, func(i, j int) bool { return len(ms[i].Key) > len(ms[j].Key) })
			ent.mappings = ms
			if parent, ok := strings.CutPrefix(d.Name, "*."); ok {
				t.wild[parent] = ent
			} else {
				t.exact[d.Name] = ent
			}
			return nil
		})
	})
	if err != nil {
		return false, err
	}
	e.table.Store(t)
	if e.watcher != nil {
		e.swapWatches(old, t)
	}
	for _, d := range fresh {
		e.keepReloaded(d.Name, d.CreatedAt, d.Revision, d.CertificateSource, d.CertificatePEM, d.KeyPEM)
	}
	if len(resigned) > 0 {
		e.log.Info("custom domains signed again by the new development CA", "domains", resigned)
		for _, name := range resigned {
			e.domainReloaded(name, nil)
		}
	}
	return old != nil && old.mutualTLSChanged(t), nil
}

// mutualTLSChanged reports whether a domain with mutual TLS in t or in next is
// missing from the other or has another compiled TLS configuration there: its
// truststore (or certificate) changed, mutual TLS was turned on or off, or the
// domain was deleted or created again.
func (t *table) mutualTLSChanged(next *table) bool {
	differs := func(a, b *table) bool {
		for _, m := range []map[string]*domainEntry{a.exact, a.wild} {
			for _, d := range m {
				if !d.domain.MutualTLS() {
					continue
				}
				if o := b.lookupName(d.domain.Name); o == nil || o.tls != d.tls {
					return true
				}
			}
		}
		return false
	}
	return differs(t, next) || differs(next, t)
}

// swapWatches watches the certificate files of the domains new in t and stops
// watching those of domains gone since old; e.mu is held.
func (e *Edge) swapWatches(old, t *table) {
	kept := map[*CertReloader]bool{}
	for _, r := range t.reloaders() {
		kept[r] = true
		if err := e.watcher.add(r); err != nil {
			e.log.Error("domain certificate files not watched; they are not reloaded on change", "cert", r.certFile, "err", err)
		}
	}
	if old == nil {
		return
	}
	for _, r := range old.reloaders() {
		if !kept[r] {
			e.watcher.remove(r)
		}
	}
}

func (t *table) lookupName(name string) *domainEntry {
	if parent, ok := strings.CutPrefix(name, "*."); ok {
		return t.wild[parent]
	}
	return t.exact[name]
}

func jsonUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// Module provides the *Edge, watching the default certificate for the app's
// lifetime, and the *SandboxCA. It needs a Config, the store and the API
// service.
var Module = fx.Module("edge",
	fx.Provide(func(lc fx.Lifecycle, cfg Config, st *store.Store, a *apis.Service, log *slog.Logger) (*Edge, error) {
		e, err := New(context.Background(), cfg, st, a, nil, log.With("component", "edge"))
		if err != nil {
			return nil, err
		}
		lc.Append(fx.Hook{
			OnStart: func(context.Context) error { return e.Watch() },
			OnStop:  func(context.Context) error { return e.Close() },
		})
		return e, nil
	}),
	// The sandbox CA, in the store's data directory unless Config names one.
	fx.Provide(func(cfg Config, st *store.Store, log *slog.Logger) (*SandboxCA, error) {
		dir := cfg.DataDir
		if dir == "" {
			dir = st.Dir()
		}
		return OpenSandboxCA(dir, nil, log.With("component", "edge"))
	}),
	// A development CA made while the server runs is trusted by the
	// sandboxes started after it.
	fx.Invoke(func(e *Edge, s *SandboxCA, log *slog.Logger) {
		e.SetDevCAHook(func(caPEM []byte) {
			if err := s.TrustDevCA(caPEM); err != nil {
				log.Error("the new development CA is not added to the sandboxes' CA bundle: functions calling the gateway over HTTPS fail to verify it until a restart", "component", "edge", "err", err)
			}
		})
	}),
)

// EndpointConfigurationExtension is the OpenAPI extension that holds
// disableExecuteApiEndpoint.
const EndpointConfigurationExtension = "x-amazon-apigateway-endpoint-configuration"

// ExecuteAPIEndpointDisabled reports whether an API's extensions turn its default
// endpoints off ({"disableExecuteApiEndpoint": true} in
// x-amazon-apigateway-endpoint-configuration).
func ExecuteAPIEndpointDisabled(ext map[string]json.RawMessage) bool {
	raw, ok := ext[EndpointConfigurationExtension]
	if !ok {
		return false
	}
	var c struct {
		Disable bool `json:"disableExecuteApiEndpoint"`
	}
	return json.Unmarshal(raw, &c) == nil && c.Disable
}
