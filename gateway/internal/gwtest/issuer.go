package gwtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Issuer is an OIDC issuer served by a test: discovery, a JWKS it can rotate,
// and a count of the JWKS fetches. It starts publishing RSA1 as kid "k1" and EC
// as kid "e1"; RSA2 is kept back for a rotation.
type Issuer struct {
	Srv     *httptest.Server
	Fetches atomic.Int64
	RSA1    *rsa.PrivateKey
	RSA2    *rsa.PrivateKey
	EC      *ecdsa.PrivateKey

	mu   sync.Mutex
	jwks []byte
}

// Transport is a transport that trusts the issuer's TLS certificate, for
// auth.Stage.SetJWKSTransport (the issuer serves https only, as the gateway
// fetches keys over https only).
func (is *Issuer) Transport() http.RoundTripper { return is.Srv.Client().Transport }

// TLSTransport is a transport that trusts every httptest TLS server (they
// share one certificate), for stages that fetch keys from issuers started
// after them.
var TLSTransport = sync.OnceValue(func() http.RoundTripper {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
})

// NewIssuer starts an issuer over TLS (an https URL), stopped when tb ends.
func NewIssuer(tb testing.TB) *Issuer {
	tb.Helper()
	is := &Issuer{}
	is.RSA1, _ = rsa.GenerateKey(rand.Reader, 2048)
	is.RSA2, _ = rsa.GenerateKey(rand.Reader, 2048)
	is.EC, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	is.Publish(tb, map[string]any{"k1": &is.RSA1.PublicKey, "e1": &is.EC.PublicKey})
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"issuer":"` + is.Srv.URL + `","jwks_uri":"` + is.Srv.URL + `/keys"}`))
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		is.Fetches.Add(1)
		is.mu.Lock()
		defer is.mu.Unlock()
		_, _ = w.Write(is.jwks)
	})
	is.Srv = httptest.NewTLSServer(mux)
	tb.Cleanup(is.Srv.Close)
	return is
}

// Publish replaces the JWKS with keys (kid -> public key).
func (is *Issuer) Publish(tb testing.TB, keys map[string]any) {
	tb.Helper()
	set := jwk.NewSet()
	for kid, pub := range keys {
		k, err := jwk.Import(pub)
		if err != nil {
			tb.Fatal(err)
		}
		_ = k.Set(jwk.KeyIDKey, kid)
		_ = set.AddKey(k)
	}
	b, err := json.Marshal(set)
	if err != nil {
		tb.Fatal(err)
	}
	is.mu.Lock()
	is.jwks = b
	is.mu.Unlock()
}

// PublishRaw serves b as the JWKS, as it is (keys jwx would not make).
func (is *Issuer) PublishRaw(b []byte) {
	is.mu.Lock()
	is.jwks = b
	is.mu.Unlock()
}

// Token signs claims with alg ("RS256", "ES256", "HS256", "none") and kid.
func (is *Issuer) Token(tb testing.TB, alg, kid string, key any, claims map[string]any) string {
	tb.Helper()
	h, _ := json.Marshal(map[string]string{"alg": alg, "kid": kid, "typ": "JWT"})
	p, _ := json.Marshal(claims)
	return is.Sign(tb, alg, key, string(h), string(p))
}

// Sign signs a protected header and a claims set given as JSON text, as they
// are (a member named twice too), with alg as Token takes it.
func (is *Issuer) Sign(tb testing.TB, alg string, key any, header, claims string) string {
	tb.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	in := b64([]byte(header)) + "." + b64([]byte(claims))
	sum := sha256.Sum256([]byte(in))
	var sig []byte
	switch alg {
	case "RS256":
		sig, _ = rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, sum[:])
	case "ES256":
		r, s, err := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), sum[:])
		if err != nil {
			tb.Fatal(err)
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	case "HS256":
		m := hmac.New(sha256.New, key.([]byte))
		m.Write([]byte(in))
		sig = m.Sum(nil)
	}
	return in + "." + b64(sig)
}
