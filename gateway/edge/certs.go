package edge

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/portico-dev/portico/internal/errdefs"
)

// MaxPEMFile is the most ReadPEMFile reads: a certificate chain, a key or a
// truststore bundle larger than this is refused (API Gateway's truststores
// hold at most 1 MB).
const MaxPEMFile = 1 << 20

// ReadPEMFile reads a PEM file the operator names (a certificate, key or
// truststore): a regular file of at most MaxPEMFile bytes. Anything else (a
// device such as /dev/zero, a named pipe, a directory, a larger file) is
// refused with errdefs.ErrInvalid rather than read without end.
func ReadPEMFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, invalidf("%s is %s, not a regular file: give a PEM file", path, fileKind(fi.Mode()))
	}
	if fi.Size() > MaxPEMFile {
		return nil, invalidf("%s holds %d bytes, more than the %d a PEM file may", path, fi.Size(), MaxPEMFile)
	}
	f, err := os.Open(path) //nolint:gosec // G304: the operator names the file
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, MaxPEMFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxPEMFile {
		return nil, invalidf("%s holds more than the %d bytes a PEM file may", path, MaxPEMFile)
	}
	return b, nil
}

// fileKind names the kind of a file that is not a regular one, in words.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeIrregular != 0:
		return "an irregular file"
	}
	return "a special file"
}

// LoadKeyPair reads a PEM certificate chain (leaf first) and its PEM private key
// and checks that both parse, that they belong together and that the leaf is
// valid at now. Every error names the file at fault and wraps
// errdefs.ErrInvalid (or the read error).
func LoadKeyPair(certFile, keyFile string, now time.Time) (*tls.Certificate, error) {
	pair, _, _, err := loadKeyPair(certFile, keyFile, now)
	return pair, err
}

// loadKeyPair is LoadKeyPair that also returns the files' bytes.
func loadKeyPair(certFile, keyFile string, now time.Time) (pair *tls.Certificate, certPEM, keyPEM []byte, err error) {
	certPEM, err = ReadPEMFile(certFile)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("certificate file %s: %w", certFile, err)
	}
	keyPEM, err = ReadPEMFile(keyFile)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("key file %s: %w", keyFile, err)
	}
	pair, err = ParseKeyPair(certPEM, keyPEM, "certificate file "+certFile, "key file "+keyFile, now)
	if err != nil {
		return nil, nil, nil, err
	}
	return pair, certPEM, keyPEM, nil
}

// ParseKeyPair is LoadKeyPair on PEM bytes; certName and keyName name them in
// errors as a whole ("certificate file x.pem", "the certificate of
// api.example.com"). The certificates after the leaf must parse and make a
// chain that the leaf's signature starts (each signed by the next), else the
// chain is refused rather than served in part or to no client's use. An
// expired certificate is refused with an error that is also ErrExpired.
func ParseKeyPair(certPEM, keyPEM []byte, certName, keyName string, now time.Time) (*tls.Certificate, error) {
	leaf, err := parseLeaf(certPEM, certName)
	if err != nil {
		return nil, err
	}
	switch keyPEMKind(keyPEM) {
	case keyNone:
		return nil, invalidf("%s: no PEM private key in it", keyName)
	case keyBadBlock:
		return nil, invalidf("%s: %v", keyName, errBadPEMBlock)
	case keyCertOnly:
		return nil, invalidf("%s: it holds a certificate and no private key: are the certificate and the key swapped?", keyName)
	case keyEncrypted:
		return nil, invalidf("%s: the private key is encrypted, and Portico reads unencrypted keys only: decrypt it with `openssl pkey -in KEY.pem -out KEY-plain.pem` and keep that file to the server's user", keyName)
	}
	if err := checkChain(certPEM, certName); err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, invalidf("%s does not fit %s: %v", keyName, certName, err)
	}
	if now.After(leaf.NotAfter) {
		return nil, &invalidErr{msg: fmt.Sprintf("%s expired at %s", certName, leaf.NotAfter.UTC().Format(time.RFC3339)), also: ErrExpired}
	}
	if now.Before(leaf.NotBefore) {
		return nil, invalidf("%s is not valid before %s", certName, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	pair.Leaf = leaf
	return &pair, nil
}

// ErrExpired is wrapped (with errdefs.ErrInvalid) by the error of a
// certificate that has expired.
var ErrExpired = errors.New("certificate expired")

// invalidErr is an errdefs.ErrInvalid whose text is its message alone: it
// reaches people as it is (an API's message, a command's error), without ":
// invalid parameter" after it.
type invalidErr struct {
	msg  string
	also error // another kind it is, or nil
}

func (e *invalidErr) Error() string { return e.msg }

func (e *invalidErr) Unwrap() []error {
	if e.also != nil {
		return []error{errdefs.ErrInvalid, e.also}
	}
	return []error{errdefs.ErrInvalid}
}

// invalidf is an errdefs.ErrInvalid that reads fmt.Sprintf(format, args...).
func invalidf(format string, args ...any) error {
	return &invalidErr{msg: fmt.Sprintf(format, args...)}
}

// checkChain checks the certificates of a PEM chain (leaf first): every
// CERTIFICATE block parses, and each certificate is signed by the one after
// it, so that a client given the chain can follow it from the leaf. Other
// blocks (a key in a combined file) and text around the blocks (openssl's
// "Bag Attributes") are left to the files' own readers; CheckCertificateChain
// is strict.
func checkChain(certPEM []byte, name string) error {
	certs, err := pemCertificates(certPEM)
	if err != nil {
		return invalidf("%s: certificate %d of the chain: %v", name, len(certs)+1, err)
	}
	for i := 1; i < len(certs); i++ {
		if err := certs[i-1].CheckSignatureFrom(certs[i]); err != nil {
			return invalidf("%s: certificate %d of the chain (%s) is not signed by certificate %d (%s): give the chain in order, leaf first, each certificate followed by its issuer", name, i, certs[i-1].Subject, i+1, certs[i].Subject)
		}
	}
	return nil
}

// pemCertificates parses data's CERTIFICATE blocks in order, skipping blocks
// of other types. On a block that does not parse (a certificate, or a PEM
// block of any type cut short) it returns the certificates before it with
// the error, so len(certs)+1 numbers the bad one.
func pemCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		var err error
		if b, rest, err = decodePEM(rest); err != nil {
			return certs, err
		}
		if b == nil {
			return certs, nil
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return certs, err
		}
		certs = append(certs, c)
	}
}

// errBadPEMBlock is the error of a PEM block that pem.Decode passes over.
var errBadPEMBlock = errors.New("a PEM block that does not parse (cut short, or its base64 damaged): give whole PEM blocks")

// decodePEM is pem.Decode, except that a block that does not parse is an
// error: pem.Decode skips it silently, to the next block or the end, which
// drops a certificate cut short at the end of a file or between others.
func decodePEM(data []byte) (*pem.Block, []byte, error) {
	b, rest := pem.Decode(data)
	passed := data[:len(data)-len(rest)] // what pem.Decode went through
	if b == nil {
		passed = data
	}
	if n := pemBegins(passed); n > 1 || (b == nil && n > 0) {
		return nil, rest, errBadPEMBlock
	}
	return b, rest, nil
}

// pemBegins counts the lines of data that begin a PEM block, as pem.Decode
// finds them.
func pemBegins(data []byte) int {
	const begin = "-----BEGIN "
	n := bytes.Count(data, []byte("\n"+begin))
	if bytes.HasPrefix(data, []byte(begin)) {
		n++
	}
	return n
}

// parseLeaf parses the first certificate of a PEM chain. A block cut short
// before it is "a PEM block that does not parse", and a file holding a
// private key and no certificate says the two may be swapped.
func parseLeaf(certPEM []byte, name string) (*x509.Certificate, error) {
	rest := certPEM
	sawKey := false
	for {
		var b *pem.Block
		var err error
		if b, rest, err = decodePEM(rest); err != nil {
			return nil, invalidf("%s: %v", name, err)
		}
		if b == nil {
			if sawKey {
				return nil, invalidf("%s: it holds a private key and no certificate: are the certificate and the key swapped?", name)
			}
			return nil, invalidf("%s: no PEM certificate in it", name)
		}
		if b.Type != "CERTIFICATE" {
			sawKey = sawKey || strings.HasSuffix(b.Type, "PRIVATE KEY")
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, invalidf("%s: %v", name, err)
		}
		return c, nil
	}
}

// CheckCertificateChain checks a certificate chain given apart from its leaf
// (API Gateway's certificateChain): PEM certificates that parse and nothing
// else, neither text around them nor another kind of block (a private key).
// Whether it chains to the leaf is ParseKeyPair's to check, with the leaf.
func CheckCertificateChain(chain []byte, name string) error {
	rest := bytes.TrimSpace(chain)
	n := 0
	for len(rest) > 0 {
		if !bytes.HasPrefix(rest, []byte("-----BEGIN ")) {
			return invalidf("%s: text that is not a PEM certificate: give the issuers' certificates in PEM, the leaf's issuer first", name)
		}
		b, after := pem.Decode(rest)
		if b == nil {
			return invalidf("%s: a PEM block that does not parse: give the issuers' certificates in PEM, the leaf's issuer first", name)
		}
		n++
		if b.Type != "CERTIFICATE" {
			return invalidf("%s: block %d is a %s, not a CERTIFICATE: give the issuers' certificates only (the key goes in its own field)", name, n, b.Type)
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return invalidf("%s: certificate %d: %v", name, n, err)
		}
		rest = bytes.TrimSpace(after)
	}
	if n == 0 {
		return invalidf("%s: no PEM certificate in it", name)
	}
	return nil
}

// CheckCertificateBody checks the blocks of a certificate given as PEM (API
// Gateway's certificateBody, or the certificate file of a file:// certificate
// ARN): certificates only, or with keyAllowed (a file, which may hold its key
// too, as combined PEM files do) certificates and private keys. Another block
// is refused rather than dropped without a word, and a key is never kept as
// part of a certificate. Blocks that do not parse and text without a
// certificate are left to ParseKeyPair, which says what they are.
func CheckCertificateBody(certPEM []byte, name string, keyAllowed bool) error {
	var bad error
	sawCert := false
	for rest, n := certPEM, 1; ; n++ {
		b, after, err := decodePEM(rest)
		if err != nil || b == nil {
			break
		}
		rest = after
		isKey := strings.HasSuffix(b.Type, "PRIVATE KEY")
		what := "give the certificate, then its chain"
		switch {
		case b.Type == "CERTIFICATE":
			sawCert = true
			continue
		case isKey && keyAllowed:
			continue
		case isKey:
			what += " (the private key goes in its own field)"
		case keyAllowed:
			what += " (and its private key, if you like)"
		}
		if bad == nil {
			bad = invalidf("%s: block %d is a %s, not a CERTIFICATE: %s", name, n, b.Type, what)
		}
	}
	if !sawCert {
		return nil
	}
	return bad
}

// Kinds of PEM key files.
const (
	keyNone      = iota // no private key block
	keyPlain            // an unencrypted private key
	keyEncrypted        // an encrypted one: PKCS#8 or OpenSSL's legacy headers
	keyBadBlock         // a PEM block that does not parse before any key
	keyCertOnly         // no private key block, but a certificate
)

// keyPEMKind says what keyPEM holds: its first private key's kind, else why
// there is none.
func keyPEMKind(keyPEM []byte) int {
	rest := keyPEM
	sawCert := false
	for {
		var b *pem.Block
		var err error
		if b, rest, err = decodePEM(rest); err != nil {
			return keyBadBlock
		}
		if b == nil {
			if sawCert {
				return keyCertOnly
			}
			return keyNone
		}
		switch b.Type {
		case "CERTIFICATE":
			sawCert = true
		case "ENCRYPTED PRIVATE KEY":
			return keyEncrypted
		case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY":
			if strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") {
				return keyEncrypted
			}
			return keyPlain
		}
	}
}

// ParseTruststore parses a PEM bundle of CA certificates (a mutual TLS
// truststore); name names it in errors. A bundle without a certificate, or with
// one that does not parse, is errdefs.ErrInvalid.
func ParseTruststore(bundle []byte, name string) (*x509.CertPool, error) {
	pool, _, err := parseTruststore(bundle, name)
	return pool, err
}

// parseTruststore is ParseTruststore that also returns the certificates of the
// pool, in the bundle's order.
func parseTruststore(bundle []byte, name string) (*x509.CertPool, []*x509.Certificate, error) {
	certs, err := pemCertificates(bundle)
	if err != nil {
		return nil, nil, invalidf("truststore %s: certificate %d: %v", name, len(certs)+1, err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	if len(certs) == 0 {
		return nil, nil, invalidf("truststore %s: no PEM certificate in it", name)
	}
	return pool, certs, nil
}

// CertReloader serves a certificate from a pair of PEM files and reloads it when
// either file changes (written in place, replaced by rename, or swapped through a
// symlink). A pair that fails to load after a change (files that do not parse or
// match, an expired certificate, one that does not cover its domain) is most
// often half written: a new key beside the old certificate, or the other way
// round. So the failure is not judged at once: the reloader waits until the
// files have been quiet for SettleDelay (every further change loads the pair
// again and restarts the wait) and only then, if the pair still fails, logs it
// once with the file at fault. The old certificate is kept meanwhile.
// Connections already made keep the certificate they were made with. Safe for
// concurrent use.
type CertReloader struct {
	certFile, keyFile string
	now               func() time.Time
	log               *slog.Logger
	// check, when set, refuses a pair that parses but does not fit its use (a
	// custom domain's certificate that does not cover the domain).
	check func(*tls.Certificate) error
	cur   atomic.Pointer[tls.Certificate] // nil: none has loaded yet (a domain's files and stored copy both failed at start)
	// failure is the error of the last load, nil after one that loaded.
	failure atomic.Pointer[error]
	// onLoaded, when set, is called with the files' bytes whenever a pair
	// other than the one in use is put in use (a custom domain keeps them
	// as its stored copy).
	onLoaded func(certPEM, keyPEM []byte)

	mu      sync.Mutex
	watcher *certWatcher // Watch's own
	// OnReload, when set before Watch, is called after every reload attempt
	// that is judged, with its error (nil: the pair in the files is in use);
	// a failure after a change is judged once the files have settled.
	OnReload func(error)

	// afterFunc starts the settle timer (time.AfterFunc; tests fire it
	// themselves).
	afterFunc func(time.Duration, func()) interface{ Stop() bool }
	// pmu guards the settle state: a pair that failed to load after a
	// change and is waiting for the files to settle.
	pmu     sync.Mutex
	pending interface{ Stop() bool } // nil: nothing waiting
	gen     int                      // bumped whenever pending changes, so a stale timer does nothing
	// reported identifies the failure last logged as an error (its text
	// and the files' contents), "" after a pair loaded: the same failure of
	// the same files is logged once, whatever else changes in their
	// directories.
	reported string
}

// SettleDelay is how long the certificate files must stay unchanged before a
// pair that fails to load after a change is reported: long enough for a tool
// that writes the key and the certificate one after the other.
const SettleDelay = 2 * time.Second

// NewCertReloader loads the pair, refusing files that LoadKeyPair refuses. now may
// be nil (time.Now).
func NewCertReloader(certFile, keyFile string, now func() time.Time, log *slog.Logger) (*CertReloader, error) {
	c := newCertReloader(certFile, keyFile, now, log, nil)
	pair, err := LoadKeyPair(certFile, keyFile, c.now())
	if err != nil {
		return nil, err
	}
	c.cur.Store(pair)
	return c, nil
}

func newCertReloader(certFile, keyFile string, now func() time.Time, log *slog.Logger, check func(*tls.Certificate) error) *CertReloader {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &CertReloader{certFile: certFile, keyFile: keyFile, now: now, log: log, check: check,
		afterFunc: func(d time.Duration, f func()) interface{ Stop() bool } { return time.AfterFunc(d, f) }}
}

// Certificate returns the certificate in use.
func (c *CertReloader) Certificate() *tls.Certificate { return c.cur.Load() }

// GetCertificate is a tls.Config.GetCertificate that serves the current
// certificate; with none loaded yet the handshake fails, saying why.
func (c *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if cert := c.cur.Load(); cert != nil {
		return cert, nil
	}
	return nil, fmt.Errorf("no certificate to serve: %w", c.Failure())
}

// Failure returns the error of the last attempt to load the files, nil when
// it loaded (or none was made).
func (c *CertReloader) Failure() error {
	if p := c.failure.Load(); p != nil {
		return *p
	}
	return nil
}

// Reload loads the files again; on failure it keeps the old certificate, logs
// the error and returns it, naming the file at fault.
func (c *CertReloader) Reload() error {
	err := c.load()
	if err != nil {
		c.logFailure(err)
	}
	return err
}

// load loads the pair and puts it in use; on failure the old certificate
// stays. A pair that is the one in use already is not logged again.
func (c *CertReloader) load() error {
	pair, certPEM, keyPEM, err := c.read()
	if err != nil {
		c.failure.Store(&err)
		return err
	}
	c.failure.Store(nil)
	if old := c.cur.Swap(pair); old == nil || !slices.EqualFunc(old.Certificate, pair.Certificate, bytes.Equal) {
		c.log.Info("TLS certificate reloaded", "cert", c.certFile, "subject", pair.Leaf.Subject.String(), "notAfter", pair.Leaf.NotAfter)
		if c.onLoaded != nil {
			c.onLoaded(certPEM, keyPEM)
		}
	}
	return nil
}

// read loads the pair from the files and checks it, without putting it in
// use.
func (c *CertReloader) read() (pair *tls.Certificate, certPEM, keyPEM []byte, err error) {
	pair, certPEM, keyPEM, err = loadKeyPair(c.certFile, c.keyFile, c.now())
	if err == nil && c.check != nil {
		err = c.check(pair)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return pair, certPEM, keyPEM, nil
}

func (c *CertReloader) logFailure(err error) {
	if c.cur.Load() == nil {
		c.log.Error("TLS certificate files do not load; its handshakes fail until they do", "cert", c.certFile, "key", c.keyFile, "err", err)
		return
	}
	c.log.Error("TLS certificate not reloaded; the old one stays in use", "cert", c.certFile, "key", c.keyFile, "err", err)
}

// failureID identifies a failure to load the files as they are now: its
// text and the files' contents.
func (c *CertReloader) failureID(err error) string {
	h := sha256.New()
	for _, f := range []string{c.certFile, c.keyFile} {
		b, _ := ReadPEMFile(f) // nothing read is part of the identity too
		_, _ = h.Write(b)
		_, _ = h.Write([]byte{0})
	}
	return err.Error() + "\x00" + string(h.Sum(nil))
}

// changed loads the pair after a change to its files. Success is used at
// once; a failure waits for the files to settle (see CertReloader): the next
// change loads the pair again and restarts the wait, and the timer judges
// what is on disk then.
func (c *CertReloader) changed() {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.stopPendingLocked()
	if err := c.load(); err != nil {
		c.log.Debug("TLS certificate files do not load yet; waiting for them to settle", "cert", c.certFile, "key", c.keyFile, "wait", SettleDelay, "err", err)
		gen := c.gen
		c.pending = c.afterFunc(SettleDelay, func() { c.settled(gen) })
		return
	}
	c.reported = ""
	c.tell(nil)
}

// settled is the settle timer of generation gen firing: the files have not
// changed for SettleDelay, so the pair on disk is judged, and a failure
// reported once.
func (c *CertReloader) settled(gen int) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if gen != c.gen {
		return // a later change, or Close, took over
	}
	c.pending = nil
	c.gen++
	err := c.load()
	switch {
	case err == nil:
		c.reported = ""
	case c.failureID(err) == c.reported:
		c.log.Debug("TLS certificate files still do not load, as reported", "cert", c.certFile, "key", c.keyFile, "err", err)
	default:
		c.reported = c.failureID(err)
		c.logFailure(err)
	}
	c.tell(err)
}

// stopPending drops a failure waiting to be judged (the files are no longer
// watched).
func (c *CertReloader) stopPending() {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.stopPendingLocked()
}

func (c *CertReloader) stopPendingLocked() {
	if c.pending != nil {
		c.pending.Stop()
		c.pending = nil
	}
	c.gen++
}

// tell hands a judged outcome to OnReload.
func (c *CertReloader) tell(err error) {
	if c.OnReload != nil {
		c.OnReload(err)
	}
}

// Watch starts watching the files' directories and reloads on every change to
// either file, until Close.
func (c *CertReloader) Watch() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watcher != nil {
		return nil
	}
	w, err := watchFiles(c.log, c)
	if err != nil {
		return err
	}
	c.watcher = w
	return nil
}

// Close stops watching.
func (c *CertReloader) Close() error {
	c.mu.Lock()
	w := c.watcher
	c.watcher = nil
	c.mu.Unlock()
	if w == nil {
		return nil
	}
	err := w.close()
	c.stopPending()
	return err
}

// dirs are the absolute directories of the pair's files.
func (c *CertReloader) dirs() []string {
	a, b := filepath.Dir(absPath(c.certFile)), filepath.Dir(absPath(c.keyFile))
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}

// concerns reports whether a file system event may have changed the pair: a
// write to either file, or a create or rename in their directories (a
// Kubernetes secret's symlink swap renames ..data beside them).
func (c *CertReloader) concerns(ev fsnotify.Event) bool {
	if ev.Has(fsnotify.Chmod) && !ev.Has(fsnotify.Write) {
		return false
	}
	name := absPath(ev.Name)
	if name == absPath(c.certFile) || name == absPath(c.keyFile) {
		return true
	}
	if !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Rename) {
		return false
	}
	return slices.Contains(c.dirs(), filepath.Dir(name))
}

// certWatcher reloads CertReloaders when their files change: one fsnotify
// watcher for all of them (the gateway's certificate and every custom domain's
// from files), each directory watched once. Safe for concurrent use.
type certWatcher struct {
	log  *slog.Logger
	w    *fsnotify.Watcher
	done chan struct{}

	mu   sync.Mutex
	dirs map[string]int // watched directory -> reloaders in it
	subs map[*CertReloader]bool
}

func newCertWatcher(log *slog.Logger) (*certWatcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch TLS certificates: %w", err)
	}
	cw := &certWatcher{log: log, w: w, done: make(chan struct{}), dirs: map[string]int{}, subs: map[*CertReloader]bool{}}
	go cw.loop()
	return cw, nil
}

// watchFiles returns a new watcher on the files of rs.
func watchFiles(log *slog.Logger, rs ...*CertReloader) (*certWatcher, error) {
	w, err := newCertWatcher(log)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if err := w.add(r); err != nil {
			_ = w.close()
			return nil, err
		}
	}
	return w, nil
}

// add watches c's files.
func (cw *certWatcher) add(c *CertReloader) error {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	if cw.subs[c] {
		return nil
	}
	var added []string
	for _, d := range c.dirs() {
		if cw.dirs[d] == 0 {
			if err := cw.w.Add(d); err != nil {
				for _, a := range added {
					cw.unwatch(a)
				}
				return fmt.Errorf("watch %s: %w", d, err)
			}
		}
		cw.dirs[d]++
		added = append(added, d)
	}
	cw.subs[c] = true
	return nil
}

// remove stops watching c's files.
func (cw *certWatcher) remove(c *CertReloader) {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	if !cw.subs[c] {
		return
	}
	delete(cw.subs, c)
	for _, d := range c.dirs() {
		cw.unwatch(d)
	}
	c.stopPending()
}

// unwatch drops one reloader's interest in d; cw.mu is held.
func (cw *certWatcher) unwatch(d string) {
	if cw.dirs[d]--; cw.dirs[d] <= 0 {
		delete(cw.dirs, d)
		_ = cw.w.Remove(d)
	}
}

func (cw *certWatcher) loop() {
	defer close(cw.done)
	for {
		select {
		case ev, ok := <-cw.w.Events:
			if !ok {
				return
			}
			cw.mu.Lock()
			var hit []*CertReloader
			for c := range cw.subs {
				if c.concerns(ev) {
					hit = append(hit, c)
				}
			}
			cw.mu.Unlock()
			for _, c := range hit {
				c.changed()
			}
		case err, ok := <-cw.w.Errors:
			if !ok {
				return
			}
			cw.log.Warn("TLS certificate watch", "err", err)
		}
	}
}

// close stops watching and waits for the loop to end.
func (cw *certWatcher) close() error {
	err := cw.w.Close()
	<-cw.done
	cw.mu.Lock()
	subs := slices.Collect(maps.Keys(cw.subs))
	cw.mu.Unlock()
	for _, c := range subs {
		c.stopPending()
	}
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

// certificateFileARN is the prefix of a certificate ARN naming PEM files on the
// server: "file:///abs/cert.pem?key=/abs/key.pem".
const certificateFileARN = "file://"

// certificateARNForm is how a certificate ARN from files is written, for
// error messages.
const certificateARNForm = "file:///abs/cert.pem?key=/abs/key.pem"

// ParseCertificateFileARN returns the certificate and key files a certificate
// ARN from files names. The ARN is a file URI (RFC 8089) of the server's own
// files, file:///abs/cert.pem or file://localhost/abs/cert.pem, with the key
// file's absolute path in its query, key=/abs/key.pem; percent-escapes are
// decoded in both (a % in a file's name is written %25, a space %20, a # %23).
// A relative path, a URI naming another host, a fragment or a query other
// than key= is an error saying what to give instead.
func ParseCertificateFileARN(arn string) (certFile, keyFile string, err error) {
	if !strings.HasPrefix(strings.ToLower(arn), "file:") {
		return "", "", fmt.Errorf("not a file URI: give %s", certificateARNForm)
	}
	if auth, ok := strings.CutPrefix(arn[len("file:"):], "//"); ok {
		// The authority, checked before the parse: file://cert.pem?... is
		// the host "cert.pem", not a relative path.
		if i := strings.IndexAny(auth, "/?#"); i >= 0 {
			auth = auth[:i]
		}
		if auth != "" && !strings.EqualFold(auth, "localhost") {
			return "", "", fmt.Errorf("the URI names the host %q: Portico reads certificates from its own files by absolute path, %s (or file://localhost/abs/cert.pem?key=...), not a relative one", auth, certificateARNForm)
		}
	}
	u, err := url.Parse(arn)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", "", fmt.Errorf("%w: give %s, with %% written %%25", err, certificateARNForm)
	}
	switch {
	case u.Opaque != "" || !filepath.IsAbs(u.Path):
		return "", "", fmt.Errorf("give the certificate file's absolute path: %s", certificateARNForm)
	case u.Fragment != "" || strings.HasSuffix(arn, "#"):
		return "", "", fmt.Errorf("a file URI with a fragment: give %s (a # in a file's name written %%23)", certificateARNForm)
	}
	key, ok := strings.CutPrefix(u.RawQuery, "key=")
	if !ok || key == "" || strings.Contains(key, "&") {
		return "", "", fmt.Errorf("name the key file in the query, key= and nothing else: %s (a & in a file's name written %%26)", certificateARNForm)
	}
	if keyFile, err = url.PathUnescape(key); err != nil {
		return "", "", fmt.Errorf("the key file's path: %w: give %s, with %% written %%25", err, certificateARNForm)
	}
	if !filepath.IsAbs(keyFile) {
		return "", "", fmt.Errorf("give the key file's absolute path, not %q: %s", keyFile, certificateARNForm)
	}
	return u.Path, keyFile, nil
}

// CertificateFiles returns the certificate and key files a certificate ARN
// from files names (ParseCertificateFileARN); ok is false for any other ARN.
// An ARN stored by an older build that does not parse so (it was split on
// the raw string: file://CERT.pem?key=KEY.pem, escapes read as they are, a
// relative path taken) is still read that way, so that its domain keeps
// being served; the admin API takes only ARNs that parse.
func CertificateFiles(arn string) (certFile, keyFile string, ok bool) {
	if c, k, err := ParseCertificateFileARN(arn); err == nil {
		return c, k, true
	}
	rest, ok := strings.CutPrefix(arn, certificateFileARN)
	if !ok {
		return "", "", false
	}
	certFile, keyFile, ok = strings.Cut(rest, "?key=")
	if !ok || certFile == "" || keyFile == "" {
		return "", "", false
	}
	return certFile, keyFile, true
}
