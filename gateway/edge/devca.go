package edge

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
	"golang.org/x/net/idna"
)

// Files of the development CA under DevCADir(dataDir).
const (
	DevCACertFile = "ca.pem"
	DevCAKeyFile  = "ca-key.pem"
	DevCertFile   = "cert.pem"
	DevKeyFile    = "key.pem"
)

// DefaultDevNames are the names every development certificate covers.
var DefaultDevNames = []string{"localhost", "127.0.0.1", "::1", "*.execute-api.localhost"}

// DevCADir is where `portico tls init` keeps the development CA and certificate.
func DevCADir(dataDir string) string { return filepath.Join(dataDir, "tls") }

// DevCA is a local certificate authority for development (the idea of mkcert):
// its certificate is trusted by the developer's browser and tools, and it signs
// the gateway's certificates. Safe for concurrent use.
type DevCA struct {
	// Cert is the CA certificate.
	Cert *x509.Certificate
	// CertPEM is Cert in PEM.
	CertPEM []byte
	key     crypto.Signer
}

// Validity of development certificates.
const (
	devCAValidity   = 10 * 365 * 24 * time.Hour
	devCertValidity = 397 * 24 * time.Hour // the most browsers accept
)

// NewDevCA makes a new CA valid from now.
func NewDevCA(now time.Time) (*DevCA, error) { return newCA(now, "Portico development CA") }

// newCA makes a new CA named name valid from now.
func newCA(now time.Time, name string) (*DevCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{Organization: []string{name}, CommonName: name + " " + now.UTC().Format("2006-01-02")},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(devCAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &DevCA{Cert: cert, CertPEM: pemBlock("CERTIFICATE", der), key: key}, nil
}

// Issue signs a server certificate for names (DNS names, wildcards and IP
// addresses) valid from now, returning it with its key in PEM.
func (ca *DevCA) Issue(names []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	return ca.issue(names, now, x509.ExtKeyUsageServerAuth)
}

// IssueClient signs a client certificate (for mutual TLS) with common name cn.
func (ca *DevCA) IssueClient(cn string, now time.Time) (certPEM, keyPEM []byte, err error) {
	return ca.issue([]string{cn}, now, x509.ExtKeyUsageClientAuth)
}

func (ca *DevCA) issue(names []string, now time.Time, usage x509.ExtKeyUsage) ([]byte, []byte, error) {
	if len(names) == 0 {
		return nil, nil, invalidf("a certificate needs a name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{Organization: []string{"Portico development certificate"}, CommonName: names[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(devCertValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	if usage == x509.ExtKeyUsageServerAuth {
		for _, n := range names {
			if ip := net.ParseIP(n); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, n)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return append(pemBlock("CERTIFICATE", der), ca.CertPEM...), pemBlock("PRIVATE KEY", kder), nil
}

// IssueTLS is Issue as a tls.Certificate.
func (ca *DevCA) IssueTLS(names []string, now time.Time) (*tls.Certificate, error) {
	c, k, err := ca.Issue(names, now)
	if err != nil {
		return nil, err
	}
	return ParseKeyPair(c, k, "issued certificate", "issued key", now)
}

// LoadDevCA reads the CA of `portico tls init` from dir (DevCADir), checking it is
// valid at now; a missing CA is errdefs.ErrNotFound.
func LoadDevCA(dir string, now time.Time) (*DevCA, error) {
	certPath, keyPath := filepath.Join(dir, DevCACertFile), filepath.Join(dir, DevCAKeyFile)
	certPEM, err := os.ReadFile(certPath) //nolint:gosec // G304: our own data directory
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("development CA %s: run `portico tls init`: %w", certPath, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyPath) //nolint:gosec // G304: our own data directory
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("development CA key %s is missing, and the CA %s signs nothing without it: %s: %w",
			keyPath, certPath, newCAHint(certPath), errdefs.ErrInvalid)
	}
	if err != nil {
		return nil, fmt.Errorf("development CA key %s: %w", keyPath, err)
	}
	pair, err := ParseKeyPair(certPEM, keyPEM, "development CA "+certPath, "development CA key "+keyPath, now)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, newCAHint(certPath))
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok || !pair.Leaf.IsCA {
		return nil, invalidf("development CA %s is not a CA certificate", certPath)
	}
	return &DevCA{Cert: pair.Leaf, CertPEM: certPEM, key: signer}, nil
}

// newCAHint says how to start over with a new development CA when the one at
// certPath cannot sign.
func newCAHint(certPath string) string {
	return fmt.Sprintf("to make a new CA, move %s (and its key, if any) away and run `portico tls init` again, then trust the new CA where you trusted the old one", certPath)
}

// DevFiles are the paths `portico tls init` wrote.
type DevFiles struct {
	Dir, CACert, CAKey, Cert, Key string
	// Names are the names the certificate covers.
	Names []string
	// Dropped are names of the earlier certificate left out of the new one:
	// those that are not valid names, and with DevInit.Reset all but
	// DefaultDevNames.
	Dropped []string
	// NewCA is whether a new CA was made (false: the existing one signed).
	NewCA bool
	// Issued is whether a new certificate was written (false: DevInit.IfNeeded
	// found the one there good).
	Issued bool
	// NotAfter is when the certificate in Cert expires.
	NotAfter time.Time
	// ReplacedExpired: the certificate that was in Cert had expired (a
	// server that started with it has its TLS listener off).
	ReplacedExpired bool
}

// DevInit are the choices of InitDevCA.
type DevInit struct {
	// Names are names to add: DNS names (one leading wildcard label at most)
	// or IP addresses, each checked with ValidateCertName.
	Names []string
	// Reset leaves the earlier certificate's names out: the new one covers
	// DefaultDevNames and Names only.
	Reset bool
	// IfNeeded issues a certificate only when there is none, or the one there
	// does not load, or it expires within RenewBefore, or Names holds a name it
	// does not cover (or Reset asks for fewer names).
	IfNeeded bool
}

// RenewBefore is how long before its expiry DevInit.IfNeeded renews the
// development certificate (and the server starts warning that it expires).
const RenewBefore = 30 * 24 * time.Hour

// ValidateCertName checks a name for a development certificate: an IP address,
// or a DNS name of valid labels with at most one wildcard label, leading
// ("*.example.test"). It returns the name in lower case.
func ValidateCertName(name string) (string, error) {
	if ip := net.ParseIP(strings.Trim(name, "[]")); ip != nil {
		return ip.String(), nil
	}
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	if strings.Contains(n, "://") || strings.ContainsAny(n, "/:") {
		return "", invalidf("%q is not a host name: give the name alone (api.example.test), not a URL or host:port", name)
	}
	rest, _ := strings.CutPrefix(n, "*.")
	if rest == "" || rest == "*" {
		return "", invalidf("%q: a wildcard needs a domain under it (*.example.test)", name)
	}
	if len(n) > 253 {
		return "", invalidf("%q is longer than a DNS name may be (253)", name)
	}
	for _, l := range strings.Split(rest, ".") {
		if l == "*" {
			return "", invalidf("%q: only the first label may be a wildcard (*.example.test)", name)
		}
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", invalidf("%q: label %q is not a DNS label", name, l)
		}
		for _, c := range l {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				if c > 127 {
					if a, err := idna.Lookup.ToASCII(n); err == nil {
						return "", invalidf("%q: %q is not allowed in a DNS name (letters, digits and - only): give the name in its A-label (punycode) form, %q", name, c, a)
					}
				}
				return "", invalidf("%q: %q is not allowed in a DNS name (letters, digits and - only)", name, c)
			}
		}
	}
	return n, nil
}

// InitDevCA is InitDevCAWith adding names.
func InitDevCA(dir string, names []string, now time.Time) (*DevFiles, error) {
	return InitDevCAWith(dir, DevInit{Names: names}, now)
}

// InitDevCAWith makes (or reuses) the development CA in dir and issues a
// server certificate for DefaultDevNames, the names of the certificate it
// replaces (unless in.Reset; those no longer valid are dropped) and in.Names,
// writing the files with owner-only permissions for the keys. A name in
// in.Names that ValidateCertName refuses is an errdefs.ErrInvalid, and nothing
// is written.
func InitDevCAWith(dir string, in DevInit, now time.Time) (*DevFiles, error) {
	var names []string
	for _, n := range in.Names {
		v, err := ValidateCertName(n)
		if err != nil {
			return nil, err
		}
		names = append(names, v)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f := &DevFiles{
		Dir: dir, CACert: filepath.Join(dir, DevCACertFile), CAKey: filepath.Join(dir, DevCAKeyFile),
		Cert: filepath.Join(dir, DevCertFile), Key: filepath.Join(dir, DevKeyFile),
	}
	ca, err := LoadDevCA(dir, now)
	if errors.Is(err, errdefs.ErrNotFound) {
		if ca, err = NewDevCA(now); err != nil {
			return nil, err
		}
		kder, err := x509.MarshalPKCS8PrivateKey(ca.key)
		if err != nil {
			return nil, err
		}
		if err := writeFileAtomic(f.CAKey, pemBlock("PRIVATE KEY", kder), 0o600); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(f.CACert, ca.CertPEM, 0o644); err != nil {
			return nil, err
		}
		f.NewCA = true
	} else if err != nil {
		return nil, err
	}
	all := slices.Clone(DefaultDevNames)
	var old []string
	var current *tls.Certificate
	if pair, err := LoadKeyPair(f.Cert, f.Key, now); err == nil && !f.NewCA && pair.Leaf.CheckSignatureFrom(ca.Cert) == nil {
		current = pair
	}
	// Names of an earlier certificate stay (running it again adds names),
	// unless Reset; names no longer valid go.
	if raw, err := os.ReadFile(f.Cert); err == nil {
		if leaf, err := parseLeaf(raw, f.Cert); err == nil {
			f.ReplacedExpired = !now.Before(leaf.NotAfter)
			for _, n := range append(slices.Clone(leaf.DNSNames), ipStrings(leaf.IPAddresses)...) {
				if slices.Contains(all, n) {
					continue
				}
				if _, err := ValidateCertName(n); err != nil || in.Reset {
					f.Dropped = append(f.Dropped, n)
					continue
				}
				old = append(old, n)
			}
		}
	}
	for _, n := range append(old, names...) {
		if !slices.Contains(all, n) {
			all = append(all, n)
		}
	}
	if in.IfNeeded && current != nil && len(f.Dropped) == 0 && now.Add(RenewBefore).Before(current.Leaf.NotAfter) {
		have := append(slices.Clone(current.Leaf.DNSNames), ipStrings(current.Leaf.IPAddresses)...)
		if !slices.ContainsFunc(all, func(n string) bool { return !slices.Contains(have, n) }) {
			f.Names, f.NotAfter = have, current.Leaf.NotAfter
			return f, nil
		}
	}
	certPEM, keyPEM, err := ca.Issue(all, now)
	if err != nil {
		return nil, err
	}
	// The key first: a reloader watching both sees a matching pair last.
	if err := writeFileAtomic(f.Key, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(f.Cert, certPEM, 0o644); err != nil {
		return nil, err
	}
	f.Names, f.Issued = all, true
	if leaf, err := parseLeaf(certPEM, f.Cert); err == nil {
		f.NotAfter = leaf.NotAfter
	}
	return f, nil
}

// writeFileIfChanged writes data to path (writeFileAtomic) unless path holds
// data already, with perm.
func writeFileIfChanged(path string, data []byte, perm os.FileMode) error {
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() == perm && fi.Size() == int64(len(data)) {
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
			return nil
		}
	}
	return writeFileAtomic(path, data, perm)
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// into place. A variable: tests make it fail as a full disk does.
var writeFileAtomic = func(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n.Add(n, big.NewInt(1))
}

func ipStrings(ips []net.IP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}
