package auth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// jwtStage is New(nil, nil, log) fetching keys from httptest's TLS servers
// (the issuers these tests serve are https: keys are fetched over https only).
func jwtStage(log *slog.Logger) *Stage {
	s := New(nil, nil, log)
	s.SetJWKSTransport(gwtest.TLSTransport())
	return s
}

// TestJWKSBadDocuments checks that a JWKS that does not parse, a discovery
// document without jwks_uri (or with JWKS_URI, or jwks_uri twice), and an issuer that does not answer within the
// fetch timeout are errors (the request then gets 401), never a pass or a hang.
func TestJWKSBadDocuments(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	mux := http.NewServeMux()
	mux.HandleFunc("/bad/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"jwks_uri":"https://` + r.Host + `/bad/keys"}`))
	})
	mux.HandleFunc("/bad/keys", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"keys": "nope"`)) })
	mux.HandleFunc("/nouri/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{}`)) })
	// jwks_uri in another letter case, or twice: a lenient reader would take
	// the good keys.
	good := newJWKSServer(t, map[string]*rsa.PrivateKey{"k1": rsaKey(t)}).srv.URL + "/jwks.json"
	mux.HandleFunc("/upper/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"JWKS_URI":"` + good + `"}`))
	})
	mux.HandleFunc("/twice/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"jwks_uri":"https://` + r.Host + `/bad/keys","jwks_uri":"` + good + `"}`))
	})
	mux.HandleFunc("/slow/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	s := jwtStage(nil)
	for _, iss := range []string{"/bad", "/nouri", "/upper", "/twice", "/slow", "/missing"} {
		if _, err := s.keys(context.Background(), srv.URL+iss, "k1", false); err == nil {
			t.Errorf("issuer %s: keys accepted", iss)
		}
	}
}

// jwksServer is an OIDC issuer for the key lifetime tests: it serves a JWKS it
// can replace, with a Cache-Control header, or 500 while down.
type jwksServer struct {
	srv *httptest.Server

	mu           sync.Mutex
	keys         map[string]*rsa.PrivateKey // kid -> key, published as public keys
	cacheControl string
	down         bool
	fetches      int
}

func newJWKSServer(t *testing.T, keys map[string]*rsa.PrivateKey) *jwksServer {
	t.Helper()
	js := &jwksServer{keys: keys}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"jwks_uri":"https://` + r.Host + `/jwks.json"}`))
	})
	mux.HandleFunc("/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		js.mu.Lock()
		defer js.mu.Unlock()
		js.fetches++
		if js.down {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		set := jwk.NewSet()
		for kid, priv := range js.keys {
			k, err := jwk.Import(&priv.PublicKey)
			if err != nil {
				t.Error(err)
				return
			}
			_ = k.Set(jwk.KeyIDKey, kid)
			_ = k.Set(jwk.AlgorithmKey, jwa.RS256())
			_ = set.AddKey(k)
		}
		if js.cacheControl != "" {
			w.Header().Set("Cache-Control", js.cacheControl)
		}
		_ = json.NewEncoder(w).Encode(set)
	})
	js.srv = httptest.NewTLSServer(mux)
	t.Cleanup(js.srv.Close)
	return js
}

func (js *jwksServer) set(f func(js *jwksServer)) {
	js.mu.Lock()
	defer js.mu.Unlock()
	f(js)
}

// token signs an RS256 token with jwx, kid in its header; exp is an hour after
// now unless noExp.
func (js *jwksServer) token(t *testing.T, kid string, priv *rsa.PrivateKey, now time.Time, noExp bool) string {
	t.Helper()
	b := jwt.NewBuilder().Issuer(js.srv.URL).Audience([]string{"api1"}).Subject("u1").IssuedAt(now)
	if !noExp {
		b = b.Expiration(now.Add(time.Hour))
	}
	tok, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.Import(priv)
	if err != nil {
		t.Fatal(err)
	}
	_ = k.Set(jwk.KeyIDKey, kid)
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.RS256(), k))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

// verify runs tok through the stage's JWT check and returns "" when accepted,
// else the www-authenticate error_description.
func verify(t *testing.T, s *Stage, issuer, tok string) string {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/read", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	au := &apis.Authorizer{Name: "jwt", Type: apis.AuthorizerJWT, IdentitySource: []string{"header.Authorization"},
		Issuer: issuer, Audience: []string{"api1"}}
	err := s.verifyJWT(r, &pipeline.Context{}, au, nil)
	if err == nil {
		return ""
	}
	var pe *pipeline.Error
	if !errors.As(err, &pe) || pe.Type != pipeline.Unauthorized {
		t.Fatalf("not a 401: %v", err)
	}
	_, desc, _ := strings.Cut(pe.Header.Get("www-authenticate"), "error_description=")
	return strings.Trim(desc, `"`)
}

// TestJWKSLifetime checks that a fetched key set is trusted only for a while:
// a key the issuer withdraws stops verifying once the set's lifetime (here
// the JWKS's Cache-Control max-age) passes, even for a token verified and
// cached before, and at once for a cached token when another token made the
// set be fetched again; a key replaced under the same kid verifies after one
// rate-limited refetch; and while the issuer is down the old set serves for
// the grace period, then tokens are refused.
func TestJWKSLifetime(t *testing.T) {
	k1, k2, k1new := rsaKey(t), rsaKey(t), rsaKey(t)
	var mu sync.Mutex
	now := time.Unix(1_900_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	t.Run("withdrawn key, max-age", func(t *testing.T) {
		js := newJWKSServer(t, map[string]*rsa.PrivateKey{"k1": k1, "k2": k2})
		js.set(func(js *jwksServer) { js.cacheControl = "public, max-age=90" })
		s := jwtStage(nil)
		s.SetClock(clock)
		a := js.token(t, "k1", k1, clock(), false)
		if d := verify(t, s, js.srv.URL, a); d != "" {
			t.Fatalf("good token: %s", d)
		}
		js.set(func(js *jwksServer) { delete(js.keys, "k1") })
		advance(80 * time.Second)
		if d := verify(t, s, js.srv.URL, a); d != "" {
			t.Fatalf("within max-age: %s", d)
		}
		advance(11 * time.Second)
		if d := verify(t, s, js.srv.URL, a); d != "the token's key is unknown" {
			t.Fatalf("cached token after max-age: %q", d)
		}
		if d := verify(t, s, js.srv.URL, js.token(t, "k1", k1, clock(), false)); d != "the token's key is unknown" {
			t.Fatalf("new token after max-age: %q", d)
		}
	})

	t.Run("withdrawn key, refetch for another kid", func(t *testing.T) {
		js := newJWKSServer(t, map[string]*rsa.PrivateKey{"k1": k1})
		s := jwtStage(nil)
		s.SetClock(clock)
		a := js.token(t, "k1", k1, clock(), false)
		if d := verify(t, s, js.srv.URL, a); d != "" {
			t.Fatalf("good token: %s", d)
		}
		js.set(func(js *jwksServer) { js.keys = map[string]*rsa.PrivateKey{"k2": k2} })
		advance(jwksMinRefresh + time.Second)
		if d := verify(t, s, js.srv.URL, js.token(t, "k2", k2, clock(), false)); d != "" {
			t.Fatalf("new kid: %s", d)
		}
		if d := verify(t, s, js.srv.URL, a); d != "the token's key is unknown" {
			t.Fatalf("token cached before the refetch: %q", d)
		}
	})

	t.Run("key replaced under the same kid", func(t *testing.T) {
		js := newJWKSServer(t, map[string]*rsa.PrivateKey{"k1": k1})
		s := jwtStage(nil)
		s.SetClock(clock)
		if d := verify(t, s, js.srv.URL, js.token(t, "k1", k1, clock(), false)); d != "" {
			t.Fatalf("good token: %s", d)
		}
		js.set(func(js *jwksServer) { js.keys = map[string]*rsa.PrivateKey{"k1": k1new} })
		replaced := js.token(t, "k1", k1new, clock(), false)
		if d := verify(t, s, js.srv.URL, replaced); d != "the token is invalid" {
			t.Fatalf("within a minute of the fetch: %q", d)
		}
		advance(jwksMinRefresh)
		if d := verify(t, s, js.srv.URL, replaced); d != "" {
			t.Fatalf("after the refetch: %q", d)
		}
		// A bad signature refetches at most once a minute.
		js.set(func(js *jwksServer) { js.fetches = 0 })
		for range 3 {
			if d := verify(t, s, js.srv.URL, js.token(t, "k1", k2, clock(), false)); d != "the token is invalid" {
				t.Fatalf("forged token: %q", d)
			}
		}
		if js.fetches != 0 {
			t.Fatalf("forged tokens fetched the keys %d times", js.fetches)
		}
	})

	t.Run("issuer down: grace, then refused", func(t *testing.T) {
		js := newJWKSServer(t, map[string]*rsa.PrivateKey{"k1": k1})
		s := jwtStage(nil)
		s.SetClock(clock)
		if d := verify(t, s, js.srv.URL, js.token(t, "k1", k1, clock(), false)); d != "" {
			t.Fatalf("good token: %s", d)
		}
		js.set(func(js *jwksServer) { js.down = true })
		advance(jwksLifetime + time.Second)
		if d := verify(t, s, js.srv.URL, js.token(t, "k1", k1, clock(), false)); d != "" {
			t.Fatalf("within the grace period: %q", d)
		}
		advance(jwksGrace)
		if d := verify(t, s, js.srv.URL, js.token(t, "k1", k1, clock(), false)); d != "the issuer's keys are unavailable" {
			t.Fatalf("past the grace period: %q", d)
		}
		js.set(func(js *jwksServer) { js.down = false })
		advance(jwksRetry)
		if d := verify(t, s, js.srv.URL, js.token(t, "k1", k1, clock(), false)); d != "" {
			t.Fatalf("issuer back: %q", d)
		}
	})
}

// TestJWTRequiresExp checks that a token without exp is refused, as API
// Gateway requires exp, with its own error_description.
func TestJWTRequiresExp(t *testing.T) {
	k1 := rsaKey(t)
	js := newJWKSServer(t, map[string]*rsa.PrivateKey{"k1": k1})
	s := jwtStage(nil)
	if d := verify(t, s, js.srv.URL, js.token(t, "k1", k1, time.Now(), false)); d != "" {
		t.Fatalf("token with exp: %q", d)
	}
	if d := verify(t, s, js.srv.URL, js.token(t, "k1", k1, time.Now(), true)); d != "the token has no expiry (exp)" {
		t.Fatalf("token without exp: %q", d)
	}
}

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// slowIssuer is an OIDC issuer whose JWKS answers wait for release (or the
// request's end), then serve keys, or 500 while down; hit says a fetch
// arrived.
type slowIssuer struct {
	srv     *httptest.Server
	release chan struct{}
	hit     chan context.Context
	fetches atomic.Int64
	down    atomic.Bool
	onFetch func() // run as each fetch arrives, before it waits
}

func newSlowIssuer(t *testing.T, keys map[string]*rsa.PrivateKey) *slowIssuer {
	t.Helper()
	js := newJWKSServer(t, keys) // the JWKS document to serve
	si := &slowIssuer{release: make(chan struct{}), hit: make(chan context.Context, 100)}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"jwks_uri":"https://` + r.Host + `/jwks.json"}`))
	})
	mux.HandleFunc("/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		si.fetches.Add(1)
		if si.onFetch != nil {
			si.onFetch()
		}
		si.hit <- r.Context()
		select {
		case <-si.release:
		case <-r.Context().Done():
			return
		}
		if si.down.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		resp, err := js.srv.Client().Get(js.srv.URL + "/jwks.json")
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		_, _ = io.Copy(w, resp.Body)
	})
	si.srv = httptest.NewTLSServer(mux)
	t.Cleanup(si.srv.Close)
	return si
}

// TestJWKSFetchShared: requests that need an issuer's keys while a fetch runs
// wait for that one fetch, and all get its result (keys, or its failure), instead
// of queueing behind each other to fetch in turn.
func TestJWKSFetchShared(t *testing.T) {
	k1 := rsaKey(t)
	for _, down := range []bool{false, true} {
		si := newSlowIssuer(t, map[string]*rsa.PrivateKey{"k1": k1})
		si.down.Store(down)
		s := jwtStage(nil)
		const n = 8
		errs := make(chan error, n)
		call := func() {
			_, err := s.keys(context.Background(), si.srv.URL, "k1", false)
			errs <- err
		}
		go call()
		<-si.hit // the first request's fetch is waiting at the issuer
		for range n - 1 {
			go call()
		}
		ks := s.keySource(si.srv.URL)
		for ks.joined.Load() < n-1 {
			runtime.Gosched()
		}
		close(si.release)
		for range n {
			if err := <-errs; (err != nil) != down {
				t.Errorf("down=%v: err = %v", down, err)
			}
		}
		if f := si.fetches.Load(); f != 1 {
			t.Errorf("down=%v: %d fetches for %d requests at once, want 1", down, f, n)
		}
	}
}

// TestJWKSFailureRemembered: a first fetch that fails (here after the issuer
// took 1.5 s of the fake clock) is not tried again by the next request:
// tokens are refused at once until jwksRetry has passed since it failed.
func TestJWKSFailureRemembered(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_900_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	si := newSlowIssuer(t, map[string]*rsa.PrivateKey{"k1": rsaKey(t)})
	si.down.Store(true)
	si.onFetch = func() { advance(jwksFetchTimeout) }
	close(si.release)
	var logs syncBuffer
	s := jwtStage(slog.New(slog.NewTextHandler(&logs, nil)))
	s.SetClock(clock)
	for i := range 3 {
		if _, err := s.keys(context.Background(), si.srv.URL, "k1", false); err == nil {
			t.Fatalf("call %d: keys from an issuer that is down", i)
		}
	}
	if f := si.fetches.Load(); f != 1 {
		t.Fatalf("%d fetches, want 1: the failure was not remembered", f)
	}
	// The first fetch's failure is logged at warn (the default level), once,
	// naming the issuer.
	if n := strings.Count(logs.String(), "level=WARN msg=\"JWKS fetch failed"); n != 1 || !strings.Contains(logs.String(), si.srv.URL) {
		t.Fatalf("%d warn lines for the failed first fetch, want 1 naming the issuer:\n%s", n, logs.String())
	}
	si.down.Store(false)
	advance(jwksRetry)
	if _, err := s.keys(context.Background(), si.srv.URL, "k1", false); err != nil {
		t.Fatalf("after jwksRetry: %v", err)
	}
	if f := si.fetches.Load(); f != 2 {
		t.Fatalf("%d fetches, want 2", f)
	}
}

// TestJWKSFetchDoesNotBlockCachedKeys: while a fetch for a kid the set lacks
// waits at a slow issuer, a token under a kid the cached set holds is served
// from the cache at once, not held until that fetch ends or times out.
func TestJWKSFetchDoesNotBlockCachedKeys(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_900_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	si := newSlowIssuer(t, map[string]*rsa.PrivateKey{"k1": rsaKey(t)})
	s := jwtStage(nil)
	s.SetClock(clock)
	first := make(chan error, 1)
	go func() { _, err := s.keys(context.Background(), si.srv.URL, "k1", false); first <- err }()
	(<-si.hit)
	si.release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(jwksMinRefresh)
	mu.Unlock()
	unknown := make(chan error, 1)
	go func() { _, err := s.keys(context.Background(), si.srv.URL, "k9", false); unknown <- err }()
	fetchCtx := <-si.hit // the refetch for k9 waits at the issuer
	if _, err := s.keys(context.Background(), si.srv.URL, "k1", false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-fetchCtx.Done():
		t.Fatal("the cached kid was served only after the fetch in flight ended")
	default:
	}
	close(si.release)
	if err := <-unknown; err != nil {
		t.Fatal(err)
	}
}

// signRS256 signs claims with RSASSA-PKCS1-v1_5 SHA-256 under a protected
// header the test writes, whatever alg it claims.
func signRS256(t *testing.T, priv *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(claims)
	in := b64(h) + "." + b64(p)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + b64(sig)
}

// TestJWSHeaderChecks: a token whose protected header names an unknown
// critical extension (RFC 7515 4.1.11: the recipient must reject it), or an
// alg other than the one its signature was made with (PS256 or RS512 over an
// RS256 signature, ES256 over an RSA one), is refused; the same token under
// its true alg verifies.
func TestJWSHeaderChecks(t *testing.T) {
	k1 := rsaKey(t)
	js := newJWKSServer(t, map[string]*rsa.PrivateKey{"k1": k1})
	s := jwtStage(nil)
	now := time.Now()
	claims := map[string]any{"iss": js.srv.URL, "aud": "api1", "sub": "u1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if d := verify(t, s, js.srv.URL, signRS256(t, k1, map[string]any{"alg": "RS256", "kid": "k1", "typ": "JWT"}, claims)); d != "" {
		t.Fatalf("a good token: %q", d)
	}
	for name, header := range map[string]map[string]any{
		"unknown crit": {"alg": "RS256", "kid": "k1", "crit": []string{"urn:example:must-check"}, "urn:example:must-check": true},
		"PS256 header": {"alg": "PS256", "kid": "k1"},
		"RS512 header": {"alg": "RS512", "kid": "k1"},
		"ES256 header": {"alg": "ES256", "kid": "k1"},
	} {
		if d := verify(t, s, js.srv.URL, signRS256(t, k1, header, claims)); d != "the token is invalid" {
			t.Errorf("%s: %q, want the token is invalid", name, d)
		}
	}
}

// TestJWTBearerSchemeCaseInsensitive: the Bearer scheme is matched without
// regard to case (RFC 7235 2.1), so "bearer <jwt>" verifies as "Bearer <jwt>"
// and a bare token does.
func TestJWTBearerSchemeCaseInsensitive(t *testing.T) {
	k1 := rsaKey(t)
	js := newJWKSServer(t, map[string]*rsa.PrivateKey{"k1": k1})
	s := jwtStage(nil)
	tok := js.token(t, "k1", k1, time.Now(), false)
	au := &apis.Authorizer{Name: "jwt", Type: apis.AuthorizerJWT, IdentitySource: []string{"header.Authorization"},
		Issuer: js.srv.URL, Audience: []string{"api1"}}
	for _, v := range []string{"Bearer " + tok, "bearer " + tok, "BEARER  " + tok, tok} {
		r := httptest.NewRequest(http.MethodGet, "/read", nil)
		r.Header.Set("Authorization", v)
		if err := s.verifyJWT(r, &pipeline.Context{}, au, nil); err != nil {
			t.Errorf("Authorization %.10q...: %v", v, err)
		}
	}
}

// syncBuffer is a bytes.Buffer a logger may write from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestJWKSOddKeys: a JWKS holding, beside good RSA and EC keys, keys Portico
// cannot use (an oct key, whose secret the public JWKS gives away; an RSA key
// under 2048 bits; a kty jwx does not know) is read without them (RFC 7517 5:
// such keys are ignored), each skip logged at warn: the good keys still
// verify, an HS256 token signed with the published oct secret is refused
// (forgeable by anyone who reads the JWKS), and a token naming a skipped key
// has an unknown key.
func TestJWKSOddKeys(t *testing.T) {
	is := gwtest.NewIssuer(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("sharedsecret-sharedsecret-sharedsecret")
	b64 := base64.RawURLEncoding.EncodeToString
	good := jwk.NewSet()
	for kid, pub := range map[string]any{"k1": &is.RSA1.PublicKey, "e1": &is.EC.PublicKey} {
		k, err := jwk.Import(pub)
		if err != nil {
			t.Fatal(err)
		}
		_ = k.Set(jwk.KeyIDKey, kid)
		_ = good.AddKey(k)
	}
	keys, err := json.Marshal(good)
	if err != nil {
		t.Fatal(err)
	}
	oct := `{"kty":"oct","kid":"h1","k":"` + b64(secret) + `"},`
	unparsable := `{"kty":"RSA","kid":"small","n":"` + b64(small.N.Bytes()) + `","e":"AQAB"},` +
		`{"kty":"AKP","alg":"ML-DSA-44","kid":"pq1","pub":"AAAA"},`
	now := time.Now()
	claims := map[string]any{"iss": is.Srv.URL, "aud": "api1", "sub": "forged-admin", "exp": now.Add(time.Hour).Unix()}
	// With the oct key alone beside the good ones (a set jwx parses whole),
	// then with keys jwx refuses too.
	for _, odd := range []string{oct, oct + unparsable} {
		is.PublishRaw([]byte(strings.Replace(string(keys), `{"keys":[`, `{"keys":[`+odd, 1)))
		var logs syncBuffer
		s := jwtStage(slog.New(slog.NewTextHandler(&logs, nil)))
		for name, c := range map[string]struct{ tok, want string }{
			"RS256 under k1":    {is.Token(t, "RS256", "k1", is.RSA1, claims), ""},
			"ES256 under e1":    {is.Token(t, "ES256", "e1", is.EC, claims), ""},
			"HS256 under h1":    {is.Token(t, "HS256", "h1", secret, claims), "the token is invalid"},
			"RS256 under small": {signRS256(t, small, map[string]any{"alg": "RS256", "kid": "small"}, claims), "the token's key is unknown"},
		} {
			if d := verify(t, s, is.Srv.URL, c.tok); d != c.want {
				t.Errorf("%.20s...: %s: %q, want %q", odd, name, d, c.want)
			}
		}
		ks, err := s.keys(context.Background(), is.Srv.URL, "k1", false)
		if err != nil {
			t.Fatal(err)
		}
		for _, kid := range []string{"h1", "small", "pq1"} {
			if !strings.Contains(odd, `"`+kid+`"`) {
				continue
			}
			if _, ok := ks.set.LookupKeyID(kid); ok {
				t.Errorf("key %s kept", kid)
			}
			if !strings.Contains(logs.String(), "level=WARN msg=\"skipping a key of the issuer's JWKS") || !strings.Contains(logs.String(), "kid="+kid) {
				t.Errorf("no warn line for skipping %s:\n%s", kid, logs.String())
			}
		}
	}
}

// TestJWKSHTTPSOnly: an issuer's keys are fetched over https only, where
// they used to be fetched over plain http too, so anyone on the path could
// replace them and forge tokens: an http:// issuer, an https issuer whose
// discovery document names an http jwks_uri, and an https jwks_uri that
// redirects to http are each refused without a request reaching the plain
// http server; an https jwks_uri redirecting to https still serves its keys.
func TestJWKSHTTPSOnly(t *testing.T) {
	js := newJWKSServer(t, map[string]*rsa.PrivateKey{"k1": rsaKey(t)})
	var plainHits atomic.Int64
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainHits.Add(1)
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_, _ = w.Write([]byte(`{"jwks_uri":"http://` + r.Host + `/jwks.json"}`))
		default:
			// The JWKS the https issuer serves, as an attacker could copy it.
			resp, err := js.srv.Client().Get(js.srv.URL + "/jwks.json")
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			_, _ = io.Copy(w, resp.Body)
		}
	}))
	t.Cleanup(plain.Close)
	mux := http.NewServeMux()
	mux.HandleFunc("/httpjwks/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"jwks_uri":"` + plain.URL + `/jwks.json"}`))
	})
	mux.HandleFunc("/redirect/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"jwks_uri":"https://` + r.Host + `/redirect/keys"}`))
	})
	mux.HandleFunc("/redirect/keys", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/jwks.json", http.StatusFound)
	})
	mux.HandleFunc("/tls/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"jwks_uri":"https://` + r.Host + `/tls/keys"}`))
	})
	mux.HandleFunc("/tls/keys", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, js.srv.URL+"/jwks.json", http.StatusFound)
	})
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	s := jwtStage(nil)
	for name, iss := range map[string]string{
		"http issuer":                 plain.URL,
		"http jwks_uri":               srv.URL + "/httpjwks",
		"https redirected to http":    srv.URL + "/redirect",
		"HTTP issuer in capitals too": strings.Replace(plain.URL, "http://", "HTTP://", 1),
	} {
		if _, err := s.keys(context.Background(), iss, "k1", false); err == nil || !strings.Contains(err.Error(), "https") {
			t.Errorf("%s: keys fetched (err %v); want refused, naming https", name, err)
		}
	}
	if n := plainHits.Load(); n != 0 {
		t.Errorf("the plain http server got %d requests; want none", n)
	}
	ks, err := s.keys(context.Background(), srv.URL+"/tls", "k1", false)
	if err != nil {
		t.Fatalf("https redirected to https: %v", err)
	}
	if _, ok := ks.set.LookupKeyID("k1"); !ok {
		t.Error("https redirected to https: no k1")
	}
}
