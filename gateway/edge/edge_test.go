package edge

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/errdefs"
)

// newTestCA returns a new development CA made now, and the time.
func newTestCA(t *testing.T) (*DevCA, time.Time) {
	t.Helper()
	now := time.Now()
	ca, err := NewDevCA(now)
	if err != nil {
		t.Fatal(err)
	}
	return ca, now
}

func TestLoadKeyPairNamesTheFileAtFault(t *testing.T) {
	dir := t.TempDir()
	ca, now := newTestCA(t)
	cert, key, _ := ca.Issue([]string{"localhost"}, now)
	_, otherKey, _ := ca.Issue([]string{"localhost"}, now)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, goodKey := write("cert.pem", cert), write("key.pem", key)
	cases := []struct {
		name      string
		cert, key string
		at        time.Time
		blame     string
	}{
		{"no PEM in the certificate", write("junk.pem", []byte("hello")), goodKey, now, "junk.pem"},
		{"a certificate that does not parse", write("bad.pem", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")), goodKey, now, "bad.pem"},
		{"no key in the key file", good, write("nokey.pem", cert), now, "nokey.pem"},
		{"a key of another certificate", good, write("other-key.pem", otherKey), now, "other-key.pem"},
		{"expired", good, goodKey, now.Add(400 * 24 * time.Hour), "cert.pem"},
		{"not valid yet", good, goodKey, now.Add(-2 * time.Hour), "cert.pem"},
		{"missing", filepath.Join(dir, "nope.pem"), goodKey, now, "nope.pem"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadKeyPair(c.cert, c.key, c.at)
			if err == nil || !strings.Contains(err.Error(), c.blame) {
				t.Fatalf("err %v, want one naming %s", err, c.blame)
			}
		})
	}
	if _, err := LoadKeyPair(good, goodKey, now); err != nil {
		t.Fatalf("a good pair: %v", err)
	}
}

func TestNormalizeMappingKey(t *testing.T) {
	cases := map[string]string{"": "", "/": "", "(none)": "", "v1": "v1", "/v1": "v1", "orders/v2": "orders/v2", "a$b-c_d.e+f!g*h'i(j)": "a$b-c_d.e+f!g*h'i(j)"}
	for in, want := range cases {
		if got, err := NormalizeMappingKey(in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"v1/", "a//b", "//", "a b", "a?b", "a%2Fb", "ü", ".", "..", "/..", "a/./b", "a/.."} {
		if _, err := NormalizeMappingKey(in); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", in, err)
		}
	}
}

func TestValidateDomainName(t *testing.T) {
	for in, want := range map[string]string{"API.Example.com": "api.example.com", "*.example.com": "*.example.com", "a-b.example.com.": "a-b.example.com"} {
		if got, err := ValidateDomainName(in); err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	for _, in := range []string{"localhost", "", "a..b", "-a.example.com", "a_b.example.com", "*.*.example.com", "a.*.example.com", "*", "127.0.0.1", "::1", "[::1]", "1.2.3.4.", "*.10.0.0"} {
		if _, err := ValidateDomainName(in); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", in, err)
		}
	}
}

func TestHostOnly(t *testing.T) {
	for in, want := range map[string]string{"API.example.com:8443": "api.example.com", "api.example.com": "api.example.com", "[::1]:443": "::1", "127.0.0.1": "127.0.0.1", "x.example.com.:1": "x.example.com"} {
		if got := hostOnly(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func FuzzNormalizeMappingKey(f *testing.F) {
	for _, s := range []string{"", "v1", "orders/v2", "(none)", "a//b", "/x/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		k, err := NormalizeMappingKey(in)
		if err != nil {
			return
		}
		again, err := NormalizeMappingKey(k)
		if err != nil || again != k {
			t.Fatalf("%q normalized to %q, which normalizes to %q (%v)", in, k, again, err)
		}
		if strings.HasPrefix(k, "/") || strings.HasSuffix(k, "/") || strings.Contains(k, "//") {
			t.Fatalf("%q normalized to %q", in, k)
		}
	})
}

// TestDomainCertificateFilesAtStart: a domain from files serves, after a
// restart, the files as they are then when they are good (and keeps them as
// its stored copy), else the stored copy.
func TestDomainCertificateFilesAtStart(t *testing.T) {
	dir := t.TempDir()
	ca, now := newTestCA(t)
	certPath, keyPath := filepath.Join(dir, "d.pem"), filepath.Join(dir, "d-key.pem")
	write := func(c, k []byte) string {
		t.Helper()
		if err := os.WriteFile(certPath, c, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyPath, k, 0o600); err != nil {
			t.Fatal(err)
		}
		pair, err := ParseKeyPair(c, k, "c", "k", now)
		if err != nil {
			return ""
		}
		return pair.Leaf.SerialNumber.String()
	}
	const name = "files.example.com"
	c0, k0, _ := ca.Issue([]string{name}, now)
	serial0 := write(c0, k0)
	st := gwtest.Store(t, dir)
	start := func() string {
		t.Helper()
		e, err := New(context.Background(), Config{DataDir: dir}, st, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		d := e.table.Load().lookup(name)
		if d == nil || d.tls == nil || d.tls.certs == nil {
			t.Fatalf("domain %s has no certificate reloader: %+v", name, d)
		}
		return d.tls.certs.Certificate().Leaf.SerialNumber.String()
	}
	e, err := New(context.Background(), Config{DataDir: dir}, st, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateDomain(context.Background(), Domain{Name: name, CertificatePEM: c0, KeyPEM: k0, CertificateSource: "file://" + certPath + "?key=" + keyPath}); err != nil {
		t.Fatal(err)
	}
	if got := start(); got != serial0 {
		t.Fatalf("unchanged files: serving %s, want %s", got, serial0)
	}
	c1, k1, _ := ca.Issue([]string{name}, now)
	serial1 := write(c1, k1)
	if got := start(); got != serial1 {
		t.Fatalf("files changed while down: serving %s, want the new %s", got, serial1)
	}
	write([]byte("junk"), k1)
	if got := start(); got != serial1 {
		t.Fatalf("bad files at start: serving %s, want the stored copy of the files' last good pair, %s", got, serial1)
	}
}

// UpdateDomain stores a domain's new certificate and truststore, builds its
// TLS configuration again at once, keeps it across a restart, and refuses an
// update that does not load, storing nothing.
func TestUpdateDomain(t *testing.T) {
	dir := t.TempDir()
	ca, now := newTestCA(t)
	clients, _ := newTestCA(t)
	st := gwtest.Store(t, dir)
	clock := func() time.Time { return now }
	e, err := New(context.Background(), Config{DataDir: dir}, st, nil, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	const name = "api.example.com"
	c0, k0, _ := ca.Issue([]string{name}, now)
	if _, err := e.CreateDomain(context.Background(), Domain{Name: name, CertificatePEM: c0, KeyPEM: k0, CertificateSource: "inline"}); err != nil {
		t.Fatal(err)
	}
	before := e.table.Load().lookup(name).tls
	c1, k1, _ := ca.Issue([]string{name}, now)
	now = now.Add(time.Hour)
	d, err := e.UpdateDomain(context.Background(), name, func(d *Domain) error {
		d.CertificatePEM, d.KeyPEM = c1, k1
		d.TruststorePEM, d.TruststoreURI = clients.CertPEM, "file:///clients.pem"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !d.MutualTLS() || !d.CertificateUploadDate().Equal(now) || d.CreatedAt.Equal(now) {
		t.Errorf("updated domain: mutual TLS %v, certificate uploaded %v, created %v", d.MutualTLS(), d.CertificateUploadDate(), d.CreatedAt)
	}
	check := func(e *Edge, what string) {
		t.Helper()
		ent := e.table.Load().lookup(name)
		if ent == nil || ent.tls == nil || ent.tls.cfg.ClientAuth != tls.RequireAndVerifyClientCert || len(ent.tls.roots) != 1 ||
			!bytes.Equal(ent.tls.cfg.Certificates[0].Certificate[0], mustDER(t, c1)) {
			t.Fatalf("%s: the listener's configuration is not the update's", what)
		}
	}
	check(e, "after the update")
	if e.table.Load().lookup(name).tls == before {
		t.Error("the domain's TLS configuration was kept")
	}
	// An update that changes nothing keeps the configuration, and with it the
	// session tickets of its connections.
	kept := e.table.Load().lookup(name).tls
	if d, err := e.UpdateDomain(context.Background(), name, func(*Domain) error { return nil }); err != nil || d.Revision != 1 {
		t.Fatalf("an update that changes nothing: %+v %v", d, err)
	}
	if e.table.Load().lookup(name).tls != kept {
		t.Error("an update that changes nothing built the TLS configuration again")
	}
	_, err = e.UpdateDomain(context.Background(), name, func(d *Domain) error {
		d.TruststorePEM = []byte("not pem")
		return nil
	})
	if !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("a truststore that does not load: %v", err)
	}
	if _, err := e.UpdateDomain(context.Background(), "nope.example.com", func(*Domain) error { return nil }); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("an unknown domain: %v", err)
	}
	check(e, "after a refused update")
	restarted, err := New(context.Background(), Config{DataDir: dir}, st, nil, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	check(restarted, "after a restart")
}

func mustDER(t *testing.T, certPEM []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	if b == nil {
		t.Fatal("no PEM")
	}
	return b.Bytes
}

// A wildcard domain stands for every name under it, so only a wildcard
// certificate of the same suffix covers it; an exact domain takes any
// certificate valid for its name, a wildcard one included.
func TestCertificateCoversDomain(t *testing.T) {
	dir := t.TempDir()
	ca, now := newTestCA(t)
	e, err := New(context.Background(), Config{DataDir: dir}, gwtest.Store(t, dir), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		domain string
		names  []string
		ok     bool
	}{
		{"*.s.example.com", []string{"x.s.example.com"}, false},
		{"*.s.example.com", []string{"x.s.example.com", "shop.s.example.com"}, false},
		{"*.s.example.com", []string{"*.example.com"}, false},
		{"*.s.example.com", []string{"s.example.com"}, false},
		{"*.s.example.com", []string{"other.example.com", "*.S.Example.com"}, true},
		{"api.example.com", []string{"*.example.com"}, true},
		{"api.example.com", []string{"api.example.com"}, true},
		{"api.example.com", []string{"www.example.com"}, false},
	} {
		c, k, _ := ca.Issue(tc.names, now)
		_, err := e.CreateDomain(context.Background(), Domain{Name: tc.domain, CertificatePEM: c, KeyPEM: k, CertificateSource: "inline"})
		if tc.ok && err != nil {
			t.Errorf("%s with a certificate for %v: %v", tc.domain, tc.names, err)
		}
		if !tc.ok && !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%s with a certificate for %v: %v, want refused as not covering it", tc.domain, tc.names, err)
		}
		if err == nil {
			if err := e.DeleteDomain(context.Background(), tc.domain); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestCertificateWithoutSANSaysSo: a certificate that names the domain in its
// common name alone is refused saying that clients check the
// subjectAltName, not the common name, and how to issue one; it read
// "the certificate of cn.example.com () does not cover cn.example.com".
func TestCertificateWithoutSANSaysSo(t *testing.T) {
	dir := t.TempDir()
	e, err := New(context.Background(), Config{DataDir: dir}, gwtest.Store(t, dir), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "cn.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	_, err = e.CreateDomain(context.Background(), Domain{Name: "cn.example.com", CertificateSource: "inline",
		CertificatePEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:         pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})})
	if err == nil || strings.Contains(err.Error(), "()") || !strings.Contains(err.Error(), "subjectAltName") ||
		!strings.Contains(err.Error(), "CN=cn.example.com") {
		t.Errorf("a certificate with a common name alone: %v, want it refused saying it has no subjectAltName and its CN is not used", err)
	}
}

// TestParseKeyPairSaysWhatIsWrong: a lone certificate or key cut short is "a
// PEM block that does not parse", as a block cut short after another is, not
// "no PEM certificate"; a certificate and key given the wrong way round say
// they may be swapped.
func TestParseKeyPairSaysWhatIsWrong(t *testing.T) {
	ca, now := newTestCA(t)
	cert, key, err := ca.Issue([]string{"localhost"}, now)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		cert, key []byte
		says      string
	}{
		{"a lone certificate cut short", cert[:300], key, "certificate file c.pem: a PEM block that does not parse"},
		{"a certificate cut short before a key", append(cert[:300:300], key...), key, "certificate file c.pem: a PEM block that does not parse"},
		{"a lone key cut short", cert, key[:150], "key file k.pem: a PEM block that does not parse"},
		{"swapped", key, cert, "certificate file c.pem: it holds a private key and no certificate: are the certificate and the key swapped?"},
		{"a certificate as the key", cert, cert, "key file k.pem: it holds a certificate and no private key: are the certificate and the key swapped?"},
		{"no PEM in the certificate", []byte("hello"), key, "certificate file c.pem: no PEM certificate in it"},
		{"no PEM in the key", cert, []byte("hello"), "key file k.pem: no PEM private key in it"},
	}
	for _, c := range cases {
		_, err := ParseKeyPair(c.cert, c.key, "certificate file c.pem", "key file k.pem", now)
		if !errors.Is(err, errdefs.ErrInvalid) || !strings.HasPrefix(err.Error(), c.says) {
			t.Errorf("%s: %v, want ErrInvalid saying %q", c.name, err, c.says)
		}
	}
	if _, err := ParseKeyPair(append(append([]byte(nil), key...), cert...), key, "certificate file c.pem", "key file k.pem", now); err != nil {
		t.Errorf("a combined file, its key first: %v", err)
	}
}

// TestMissingMappingNamesItsBasePath: getting or deleting a base path a
// domain does not map is 404 naming it; the empty base path ("(none)", "/",
// "") is named "(none)", as API Gateway names it, not left blank; the
// message is API Gateway's v1 one ("Invalid base path mapping identifier
// specified"), an unknown apigatewayv2 API mapping id keeps apigatewayv2's.
func TestMissingMappingNamesItsBasePath(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, Config{DataDir: t.TempDir()}, gwtest.Store(t, t.TempDir()), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ca, now := newTestCA(t)
	const name = "vm.example.com"
	c, k, _ := ca.Issue([]string{name}, now)
	if _, err := e.CreateDomain(ctx, Domain{Name: name, CertificatePEM: c, KeyPEM: k, CertificateSource: "inline"}); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"(none)": "(none)", "/": "(none)", "": "(none)", "v1": "v1", "/v1/x": "v1/x"} {
		_, gerr := e.GetMapping(ctx, name, key, true)
		derr := e.DeleteMapping(ctx, name, key, true)
		for what, err := range map[string]error{"get": gerr, "delete": derr} {
			if !errors.Is(err, errdefs.ErrNotFound) || err.Error() != "Invalid base path mapping identifier specified: "+want {
				t.Errorf("%s of base path %q: %v, want NotFound naming %s", what, key, err, want)
			}
		}
	}
	if _, err := e.GetMapping(ctx, name, "abc123", false); !errors.Is(err, errdefs.ErrNotFound) || err.Error() != "Invalid mapping identifier specified: abc123" {
		t.Errorf("get of API mapping abc123: %v, want NotFound in apigatewayv2's words", err)
	}
}

// TestIDNDomainNameNamesItsALabel (tls28 #5): an internationalised name was
// refused saying only that 'ü' is not allowed; the refusal names the A-label
// form to give instead.
func TestIDNDomainNameNamesItsALabel(t *testing.T) {
	for in, want := range map[string]string{"bücher.test": `"xn--bcher-kva.test"`, "*.Bücher.test": `"*.xn--bcher-kva.test"`} {
		_, err := ValidateDomainName(in)
		if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "A-label (punycode) form") || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want it to name %s", in, err, want)
		}
	}
	if _, err := ValidateDomainName("a_b.test"); err == nil || strings.Contains(err.Error(), "A-label") {
		t.Errorf("a_b.test: %v, want no A-label hint", err)
	}
}

// TestWildcardMatchesDNSLabelsOnly (tls28 #8): a wildcard domain matched a
// Host whose first label is no DNS label (".apps.test", "*.apps.test",
// "a%41.apps.test"), which reached the API with domainPrefix "", "*" or
// "a%41": tenants no DNS name produces. Only a DNS label stands in for the
// star.
func TestWildcardMatchesDNSLabelsOnly(t *testing.T) {
	w := &domainEntry{domain: Domain{Name: "*.apps.test"}}
	tb := &table{exact: map[string]*domainEntry{}, wild: map[string]*domainEntry{"apps.test": w}}
	for _, host := range []string{"good1.apps.test", "a-b.apps.test", "x.apps.test", "Up.apps.test"} {
		if tb.lookup(host) != w {
			t.Errorf("%q: not matched by *.apps.test", host)
		}
	}
	for _, host := range []string{".apps.test", "*.apps.test", "a%41.apps.test", "a_b.apps.test", "-.apps.test", "a*b.apps.test", "-a.apps.test", "a.b.apps.test", strings.Repeat("a", 64) + ".apps.test"} {
		if d := tb.lookup(host); d != nil {
			t.Errorf("%q: matched %s, want no domain", host, d.domain.Name)
		}
	}
}

// TestCertNameIDNNamesItsALabel: `portico tls init` with a name in Unicode
// letters is refused naming its A-label form, as create-domain-name does
// (verify28a: it named only the letter).
func TestCertNameIDNNamesItsALabel(t *testing.T) {
	_, err := ValidateCertName("köln.test")
	if err == nil || !strings.Contains(err.Error(), `"xn--kln-sna.test"`) {
		t.Fatalf("ValidateCertName(köln.test): %v, want the A-label named", err)
	}
	if n, err := ValidateCertName("xn--kln-sna.test"); err != nil || n != "xn--kln-sna.test" {
		t.Fatalf("the A-label form: %q %v", n, err)
	}
}
