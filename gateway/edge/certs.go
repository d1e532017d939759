package edge

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/portico-dev/portico/internal/errdefs"
)

// LoadKeyPair reads a PEM certificate chain (leaf first) and its PEM private key
// and checks that both parse, that they belong together and that the leaf is
// valid at now. Every error names the file at fault and wraps
// errdefs.ErrInvalid (or the read error).
func LoadKeyPair(certFile, keyFile string, now time.Time) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile) //nolint:gosec // G304: the operator's own certificate file
	if err != nil {
		return nil, fmt.Errorf("certificate file %s: %w", certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile) //nolint:gosec // G304: the operator's own key file
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", keyFile, err)
	}
	return ParseKeyPair(certPEM, keyPEM, certFile, keyFile, now)
}

// ParseKeyPair is LoadKeyPair on PEM bytes; certName and keyName name them in
// errors.
func ParseKeyPair(certPEM, keyPEM []byte, certName, keyName string, now time.Time) (*tls.Certificate, error) {
	leaf, err := parseLeaf(certPEM, certName)
	if err != nil {
		return nil, err
	}
	if !keyHasPEM(keyPEM) {
		return nil, fmt.Errorf("key file %s: no PEM private key in it: %w", keyName, errdefs.ErrInvalid)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("key file %s does not fit certificate file %s: %w: %w", keyName, certName, err, errdefs.ErrInvalid)
	}
	if now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("certificate file %s expired at %s: %w", certName, leaf.NotAfter.UTC().Format(time.RFC3339), errdefs.ErrInvalid)
	}
	if now.Before(leaf.NotBefore) {
		return nil, fmt.Errorf("certificate file %s is not valid before %s: %w", certName, leaf.NotBefore.UTC().Format(time.RFC3339), errdefs.ErrInvalid)
	}
	pair.Leaf = leaf
	return &pair, nil
}

// parseLeaf parses the first certificate of a PEM chain.
func parseLeaf(certPEM []byte, name string) (*x509.Certificate, error) {
	rest := certPEM
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, fmt.Errorf("certificate file %s: no PEM certificate in it: %w", name, errdefs.ErrInvalid)
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate file %s: %w: %w", name, err, errdefs.ErrInvalid)
		}
		return c, nil
	}
}

func keyHasPEM(keyPEM []byte) bool {
	rest := keyPEM
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return false
		}
		if b.Type == "PRIVATE KEY" || b.Type == "EC PRIVATE KEY" || b.Type == "RSA PRIVATE KEY" {
			return true
		}
	}
}

// ParseTruststore parses a PEM bundle of CA certificates (a mutual TLS
// truststore); name names it in errors. A bundle without a certificate, or with
// one that does not parse, is errdefs.ErrInvalid.
func ParseTruststore(bundle []byte, name string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	rest := bundle
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("truststore %s: certificate %d: %w: %w", name, n+1, err, errdefs.ErrInvalid)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("truststore %s: no PEM certificate in it: %w", name, errdefs.ErrInvalid)
	}
	return pool, nil
}

// CertReloader serves a certificate from a pair of PEM files and reloads it when
// either file changes (written in place, replaced by rename, or swapped through a
// symlink). A reload that fails (files that do not parse or match, an expired
// certificate; often the moment between writing the certificate and its key) is
// logged with the file at fault and the old certificate is kept. Connections
// already made keep the certificate they were made with. Safe for concurrent
// use.
type CertReloader struct {
	certFile, keyFile string
	now               func() time.Time
	log               *slog.Logger
	cur               atomic.Pointer[tls.Certificate]

	mu      sync.Mutex
	watcher *fsnotify.Watcher
	done    chan struct{}
	// OnReload, when set before Watch, is called after every reload attempt
	// with its error (nil: the new certificate is in use).
	OnReload func(error)
}

// NewCertReloader loads the pair, refusing files that LoadKeyPair refuses. now may
// be nil (time.Now).
func NewCertReloader(certFile, keyFile string, now func() time.Time, log *slog.Logger) (*CertReloader, error) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &CertReloader{certFile: certFile, keyFile: keyFile, now: now, log: log}
	pair, err := LoadKeyPair(certFile, keyFile, now())
	if err != nil {
		return nil, err
	}
	c.cur.Store(pair)
	return c, nil
}

// Certificate returns the certificate in use.
func (c *CertReloader) Certificate() *tls.Certificate { return c.cur.Load() }

// GetCertificate is a tls.Config.GetCertificate that serves the current
// certificate.
func (c *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// Reload loads the files again; on failure it keeps the old certificate and
// returns the error.
func (c *CertReloader) Reload() error {
	pair, err := LoadKeyPair(c.certFile, c.keyFile, c.now())
	if err != nil {
		c.log.Error("TLS certificate not reloaded; the old one stays in use", "cert", c.certFile, "key", c.keyFile, "err", err)
		return err
	}
	c.cur.Store(pair)
	c.log.Info("TLS certificate reloaded", "cert", c.certFile, "subject", pair.Leaf.Subject.String(), "notAfter", pair.Leaf.NotAfter)
	return nil
}

// Watch starts watching the files' directories and reloads on every change to
// either file, until Close.
func (c *CertReloader) Watch() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watcher != nil {
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch TLS certificate: %w", err)
	}
	dirs := map[string]bool{filepath.Dir(c.certFile): true, filepath.Dir(c.keyFile): true}
	for d := range dirs {
		if err := w.Add(d); err != nil {
			_ = w.Close()
			return fmt.Errorf("watch %s: %w", d, err)
		}
	}
	c.watcher, c.done = w, make(chan struct{})
	go c.loop(w, c.done)
	return nil
}

func (c *CertReloader) loop(w *fsnotify.Watcher, done chan struct{}) {
	defer close(done)
	certAbs, keyAbs := absPath(c.certFile), absPath(c.keyFile)
	for {
		select {
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			name := absPath(ev.Name)
			// A symlink swap (Kubernetes secrets) renames ..data in the same
			// directory: reload on any create or rename there too.
			if name != certAbs && name != keyAbs && !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Rename) {
				continue
			}
			if ev.Has(fsnotify.Chmod) && !ev.Has(fsnotify.Write) {
				continue
			}
			err := c.Reload()
			if c.OnReload != nil {
				c.OnReload(err)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			c.log.Warn("TLS certificate watch", "err", err)
		}
	}
}

// Close stops watching.
func (c *CertReloader) Close() error {
	c.mu.Lock()
	w, done := c.watcher, c.done
	c.watcher = nil
	c.mu.Unlock()
	if w == nil {
		return nil
	}
	err := w.Close()
	<-done
	if errors.Is(err, fsnotify.ErrClosed) {
		return nil
	}
	return err
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return filepath.Clean(a)
	}
	return filepath.Clean(p)
}
