package upgradetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"time"
)

// Issuer is an OpenID issuer at a fixed address (a JWT authorizer's
// configuration names its URL, so the test serves it where the old build
// found it): its discovery document, its JWKS of one ES256 key, and tokens
// signed with that key. Its methods are safe for concurrent use.
type Issuer struct {
	// Addr is host:port; the issuer's URL is https://Addr, or http://Addr
	// for an issuer a build from before https-only issuers recorded.
	Addr string `json:"addr"`
	// TLS says the issuer serves https (with a certificate made when it is
	// served: trust it with Transport or CertPEM). Fixtures made before
	// JWT issuers had to be https lack it.
	TLS bool `json:"tls,omitempty"`
	// Kid names the key; Key is its private key, PKCS #8 PEM (a test key).
	Kid string `json:"kid"`
	Key string `json:"key"`
	// Audience is the aud the tokens carry.
	Audience string `json:"audience"`

	certPEM []byte // the served certificate (TLS), set by Serve
}

// NewIssuer returns an https issuer at addr with a new P-256 key.
func NewIssuer(addr, audience string) (*Issuer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return &Issuer{Addr: addr, TLS: true, Kid: "upgrade-fixture", Audience: audience,
		Key: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))}, nil
}

// URL is the issuer's URL, the iss of its tokens.
func (is *Issuer) URL() string {
	if is.TLS {
		return "https://" + is.Addr
	}
	return "http://" + is.Addr
}

// CertPEM is the certificate the issuer serves (PEM), once Serve has
// started it over TLS; nil otherwise.
func (is *Issuer) CertPEM() []byte { return is.certPEM }

// Transport is a transport that trusts the certificate the issuer serves
// (for auth.Stage.SetJWKSTransport), once Serve has started it over TLS.
func (is *Issuer) Transport() http.RoundTripper {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(is.certPEM)
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
}

// serverCert makes a self-signed certificate for the issuer's host, valid
// for a day.
func (is *Issuer) serverCert() (tls.Certificate, error) {
	host, _, err := net.SplitHostPort(is.Addr)
	if err != nil {
		return tls.Certificate{}, err
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "upgradetest issuer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return tls.Certificate{}, err
	}
	is.certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, nil
}

func (is *Issuer) key() (*ecdsa.PrivateKey, error) {
	b, _ := pem.Decode([]byte(is.Key))
	if b == nil {
		return nil, errors.New("issuer: no PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("issuer: not an ECDSA key")
	}
	return ek, nil
}

// Token returns an ES256 token of the issuer for its audience, valid for an
// hour from now, with subject sub and scope "read".
func (is *Issuer) Token(now time.Time, sub string) (string, error) {
	k, err := is.key()
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	head, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": is.Kid})
	body, _ := json.Marshal(map[string]any{"iss": is.URL(), "aud": is.Audience, "sub": sub, "scope": "read",
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()})
	signing := enc.EncodeToString(head) + "." + enc.EncodeToString(body)
	sum := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, k, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signing + "." + enc.EncodeToString(sig), nil
}

// Handler serves the discovery document and the JWKS.
func (is *Issuer) Handler() (http.Handler, error) {
	k, err := is.key()
	if err != nil {
		return nil, err
	}
	coord := func(n *big.Int) string { return base64.RawURLEncoding.EncodeToString(n.FillBytes(make([]byte, 32))) }
	ecdh, err := k.PublicKey.ECDH()
	if err != nil {
		return nil, err
	}
	raw := ecdh.Bytes() // 0x04 || X || Y
	x, y := new(big.Int).SetBytes(raw[1:33]), new(big.Int).SetBytes(raw[33:])
	jwks, _ := json.Marshal(map[string]any{"keys": []any{map[string]string{
		"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": is.Kid, "x": coord(x), "y": coord(y)}}})
	disc, _ := json.Marshal(map[string]string{"issuer": is.URL(), "jwks_uri": is.URL() + "/jwks.json"})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(disc)
	})
	mux.HandleFunc("GET /jwks.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	})
	return mux, nil
}

// Serve serves the issuer at its address until the returned stop is called.
func (is *Issuer) Serve() (stop func(), err error) {
	ln, err := net.Listen("tcp", is.Addr)
	if err != nil {
		return nil, fmt.Errorf("issuer at %s: %w", is.Addr, err)
	}
	is.Addr = ln.Addr().String() // port 0 asked for: the one it got, in URL and iss
	h, err := is.Handler()
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if is.TLS {
		cert, err := is.serverCert()
		if err != nil {
			_ = ln.Close()
			return nil, err
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}
