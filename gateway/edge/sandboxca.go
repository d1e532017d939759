package edge

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
)

// Files of the sandbox CA: the internal CA, made at the first start when there
// is no development CA, lives beside the development CA (DevCADir); the
// files sandboxes trust it by live in SandboxTrustDir.
const (
	SandboxCACertFile = "sandbox-ca.pem"
	SandboxCAKeyFile  = "sandbox-ca-key.pem"
)

// SandboxTrustDir is the directory of the files sandboxes trust the sandbox CA
// by (runtimes.TrustBundleFile and runtimes.TrustCAFile): certificates only,
// readable by every user, so that it can be handed to sandboxes as it is.
func SandboxTrustDir(dataDir string) string { return filepath.Join(dataDir, "sandbox-trust") }

// systemRootFiles are where the host's system roots are looked for when
// SSL_CERT_FILE does not name them: crypto/x509's list for Linux, and macOS's.
var systemRootFiles = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Gentoo
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL 6
	"/etc/ssl/ca-bundle.pem",                            // openSUSE
	"/etc/pki/tls/cacert.pem",                           // OpenELEC
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
	"/etc/ssl/cert.pem",                                 // Alpine, macOS
}

// SandboxCA is the certificate authority of the sandbox-facing @connections
// endpoint: it signs the endpoint's server certificate, and sandboxes trust it
// through the files of SandboxTrustDir (SandboxTrust). It is the development
// CA of `portico tls init` when there is one valid for more than RenewBefore,
// else an internal CA that the first start makes in DevCADir (its key with
// mode 0600, never logged). Safe for concurrent use.
type SandboxCA struct {
	ca    *DevCA
	dev   bool // ca is the development CA
	trust string
	now   func() time.Time
	roots []byte // the host's system roots (PEM), the bundle's first part

	mu    sync.Mutex
	extra []byte // a development CA made after start, trusted too (TrustDevCA)
}

// OpenSandboxCA loads (or makes) the sandbox CA of dataDir and writes the files
// sandboxes trust it by: the host's system roots followed by the CA, and the CA
// alone. now is the clock (nil: time.Now); log receives what was chosen.
func OpenSandboxCA(dataDir string, now func() time.Time, log *slog.Logger) (*SandboxCA, error) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := now()
	// Absolute: sandboxes read it from their own working directory, and
	// container engines bind-mount absolute paths only.
	trust, err := filepath.Abs(SandboxTrustDir(dataDir))
	if err != nil {
		return nil, err
	}
	s := &SandboxCA{trust: trust, now: now}
	dir := DevCADir(dataDir)
	if ca, err := LoadDevCA(dir, t); err == nil && t.Add(RenewBefore).Before(ca.Cert.NotAfter) {
		s.ca, s.dev = ca, true
	} else {
		if s.ca, err = internalCA(dir, t); err != nil {
			return nil, fmt.Errorf("sandbox CA in %s: %w", dir, err)
		}
	}
	roots, from := systemRoots()
	s.roots = roots
	if err := os.MkdirAll(s.trust, 0o755); err != nil { //nolint:gosec // G301: certificates for every sandbox user
		return nil, err
	}
	if err := os.Chmod(s.trust, 0o755); err != nil { //nolint:gosec // G302: as above, whatever the umask
		return nil, err
	}
	if err := s.writeTrust(nil); err != nil {
		return nil, err
	}
	which := "internal (" + filepath.Join(dir, SandboxCACertFile) + ")"
	if s.dev {
		which = "development (" + filepath.Join(dir, DevCACertFile) + ")"
	}
	if from == "" {
		log.Warn("no system root certificates found: sandboxes' CA bundle holds the sandbox CA alone, so their HTTPS calls elsewhere fail unless they set SSL_CERT_FILE themselves",
			"bundle", filepath.Join(s.trust, runtimes.TrustBundleFile))
	}
	log.Info("sandbox CA ready", "ca", which, "systemRoots", from, "trust", s.trust, "expires", s.ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	return s, nil
}

// internalCA loads the internal CA of dir, making a new one when there is
// none, it does not load, or it expires within RenewBefore.
func internalCA(dir string, now time.Time) (*DevCA, error) {
	certPath, keyPath := filepath.Join(dir, SandboxCACertFile), filepath.Join(dir, SandboxCAKeyFile)
	if ca, err := loadCA(certPath, keyPath, now); err == nil && now.Add(RenewBefore).Before(ca.Cert.NotAfter) {
		return ca, nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errdefs.ErrInvalid) {
		return nil, err
	}
	ca, err := newCA(now, "Portico sandbox CA")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(ca.key)
	if err != nil {
		return nil, err
	}
	// The key first: the certificate names a key that is there.
	if err := writeFileAtomic(keyPath, pemBlock("PRIVATE KEY", kder), 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(certPath, ca.CertPEM, 0o644); err != nil {
		return nil, err
	}
	return ca, nil
}

// loadCA reads a CA certificate and its key, valid at now.
func loadCA(certPath, keyPath string, now time.Time) (*DevCA, error) {
	certPEM, err := os.ReadFile(certPath) //nolint:gosec // G304: our own data directory
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyPath) //nolint:gosec // G304: our own data directory
	if err != nil {
		return nil, err
	}
	pair, err := ParseKeyPair(certPEM, keyPEM, "CA "+certPath, "CA key "+keyPath, now)
	if err != nil {
		return nil, err
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok || !pair.Leaf.IsCA {
		return nil, invalidf("%s is not a CA certificate", certPath)
	}
	return &DevCA{Cert: pair.Leaf, CertPEM: certPEM, key: signer}, nil
}

// systemRoots returns the host's system root certificates in PEM and the file
// they came from: SSL_CERT_FILE's, as crypto/x509 reads it, else the first of
// systemRootFiles that holds any. Nil and "" when none is found.
func systemRoots() ([]byte, string) {
	files := systemRootFiles
	if f := os.Getenv("SSL_CERT_FILE"); f != "" {
		files = []string{f}
	}
	for _, f := range files {
		b, err := os.ReadFile(f) //nolint:gosec // G304: the host's certificate bundle
		if err == nil && bytes.Contains(b, []byte("-----BEGIN CERTIFICATE-----")) {
			return b, f
		}
	}
	return nil, ""
}

// writeTrust writes the files sandboxes trust the CA by: the host's system
// roots followed by the CA (and extra, another CA trusted too), and the CAs
// alone. Each is written only when changed: a restart on a full disk must
// not fail for want of room to rewrite what is already there.
func (s *SandboxCA) writeTrust(extra []byte) error {
	cas := append(slices.Clip(s.ca.CertPEM), extra...)
	bundle := make([]byte, 0, len(s.roots)+len(cas)+1)
	bundle = append(bundle, s.roots...)
	if len(bundle) > 0 && bundle[len(bundle)-1] != '\n' {
		bundle = append(bundle, '\n')
	}
	bundle = append(bundle, cas...)
	if err := writeFileIfChanged(filepath.Join(s.trust, runtimes.TrustCAFile), cas, 0o644); err != nil {
		return err
	}
	return writeFileIfChanged(filepath.Join(s.trust, runtimes.TrustBundleFile), bundle, 0o644)
}

// TrustDevCA has sandboxes started from now on trust certPEM, a development
// CA `portico tls init` made while the server runs, beside the sandbox CA:
// the gateway's development certificate and the custom domains it signs are
// signed by it from their next reload, and functions calling them over
// HTTPS verify them without a restart. The sandbox CA itself (the
// @connections endpoint's) stays until the restart; the development CA it
// was, if it was one, is trusted until then too. A certPEM already trusted
// changes nothing.
func (s *SandboxCA) TrustDevCA(certPEM []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(certPEM) > 0 && certPEM[len(certPEM)-1] != '\n' {
		certPEM = append(slices.Clip(certPEM), '\n')
	}
	if bytes.Equal(certPEM, s.ca.CertPEM) || bytes.Equal(certPEM, s.extra) {
		return nil
	}
	if err := s.writeTrust(certPEM); err != nil {
		return err
	}
	s.extra = certPEM
	return nil
}

// Development reports whether the sandbox CA is the development CA of
// `portico tls init` (false: the internal one).
func (s *SandboxCA) Development() bool { return s.dev }

// CertPEM is the CA's certificate in PEM.
func (s *SandboxCA) CertPEM() []byte { return s.ca.CertPEM }

// SandboxTrust names the directory of the files sandboxes trust the CA by;
// it satisfies invoker.TrustSource.
func (s *SandboxCA) SandboxTrust() *runtimes.Trust { return &runtimes.Trust{Dir: s.trust} }

// ServerConfig returns the TLS configuration of an endpoint that sandboxes
// reach by names (IP addresses or DNS names; unspecified addresses and
// duplicates are left out): TLS 1.2 and 1.3, HTTP/1.1, and a certificate for
// names signed by the CA, issued now and again RenewBefore its expiry, at
// the first handshake after that. An error says why none could be issued.
func (s *SandboxCA) ServerConfig(names []string) (*tls.Config, error) {
	var valid []string
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil && ip.IsUnspecified() || n == "" {
			continue
		}
		v, err := ValidateCertName(n)
		if err != nil {
			return nil, err
		}
		if !containsName(valid, v) {
			valid = append(valid, v)
		}
	}
	if len(valid) == 0 {
		return nil, invalidf("the sandbox-facing endpoint has no name to issue a certificate for (%v)", names)
	}
	is := &leafIssuer{ca: s.ca, names: valid, now: s.now}
	if _, err := is.certificate(); err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return is.certificate() },
	}, nil
}

func containsName(names []string, n string) bool {
	for _, m := range names {
		if m == n {
			return true
		}
	}
	return false
}

// leafIssuer keeps a server certificate for names, issued again once its
// renewal time has passed. Safe for concurrent use.
type leafIssuer struct {
	ca    *DevCA
	names []string
	now   func() time.Time
	mu    sync.Mutex // one issue at a time
	cur   atomic.Pointer[issuedLeaf]
}

type issuedLeaf struct {
	cert    *tls.Certificate
	renewAt time.Time
}

// certificate returns the current certificate, issuing a new one when there
// is none or its renewal time has passed. A failed renewal keeps serving the
// current one while it is valid.
func (is *leafIssuer) certificate() (*tls.Certificate, error) {
	now := is.now()
	if c := is.cur.Load(); c != nil && now.Before(c.renewAt) {
		return c.cert, nil
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	c := is.cur.Load()
	if c != nil && now.Before(c.renewAt) {
		return c.cert, nil
	}
	cert, err := is.ca.IssueTLS(is.names, now)
	if err != nil {
		if c != nil && now.Before(c.cert.Leaf.NotAfter) {
			return c.cert, nil
		}
		return nil, fmt.Errorf("issuing the sandbox-facing endpoint's certificate: %w", err)
	}
	renewAt := cert.Leaf.NotAfter.Add(-RenewBefore)
	if !renewAt.After(now) { // the CA expires first: try again in an hour
		renewAt = now.Add(time.Hour)
	}
	is.cur.Store(&issuedLeaf{cert: cert, renewAt: renewAt})
	return cert, nil
}
