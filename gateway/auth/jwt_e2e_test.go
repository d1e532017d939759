package auth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/auth"
)

// issuer is an OIDC issuer served by the test: discovery, a JWKS it can
// rotate, and counters of fetches.
type issuer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	jwks    []byte
	fetches atomic.Int64
	rsa1    *rsa.PrivateKey
	rsa2    *rsa.PrivateKey
	ec      *ecdsa.PrivateKey
}

func newIssuer(t *testing.T) *issuer {
	is := &issuer{}
	is.rsa1, _ = rsa.GenerateKey(rand.Reader, 2048)
	is.rsa2, _ = rsa.GenerateKey(rand.Reader, 2048)
	is.ec, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	is.publish(t, map[string]any{"k1": &is.rsa1.PublicKey, "e1": &is.ec.PublicKey})
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"issuer":"` + is.srv.URL + `","jwks_uri":"` + is.srv.URL + `/keys"}`))
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		is.fetches.Add(1)
		is.mu.Lock()
		defer is.mu.Unlock()
		_, _ = w.Write(is.jwks)
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *issuer) publish(t *testing.T, keys map[string]any) {
	set := jwk.NewSet()
	for kid, pub := range keys {
		k, err := jwk.Import(pub)
		if err != nil {
			t.Fatal(err)
		}
		_ = k.Set(jwk.KeyIDKey, kid)
		_ = set.AddKey(k)
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	is.mu.Lock()
	is.jwks = b
	is.mu.Unlock()
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// token signs claims with alg ("RS256", "ES256", "HS256", "none") and kid.
func (is *issuer) token(t *testing.T, alg, kid string, key any, claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": alg, "kid": kid, "typ": "JWT"})
	p, _ := json.Marshal(claims)
	in := b64(h) + "." + b64(p)
	sum := sha256.Sum256([]byte(in))
	var sig []byte
	switch alg {
	case "RS256":
		sig, _ = rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, sum[:])
	case "ES256":
		r, s, err := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), sum[:])
		if err != nil {
			t.Fatal(err)
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

// TestJWTAuthorizerEndToEnd covers a JWT authorizer on an HTTP API against an
// issuer served by the test: good RSA and ECDSA tokens, expired, wrong audience,
// wrong issuer, none and HMAC tokens, missing scope, and an unknown kid before
// and after the keys rotate.
func TestJWTAuthorizerEndToEnd(t *testing.T) {
	is := newIssuer(t)
	var stage *auth.Stage
	env := apptest.Start(t, apptest.Options{Populate: []any{&stage}})
	var offset atomic.Int64
	stage.SetClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
	c := env.Client()
	createFunction(t, c, "echo", 5)
	scheme := map[string]any{"type": "oauth2", "x-amazon-apigateway-authorizer": map[string]any{
		"type": "jwt", "identitySource": "$request.header.Authorization",
		"jwtConfiguration": map[string]any{"issuer": is.srv.URL, "audience": []string{"api1"}}}}
	route := func(path string, scopes []string) map[string]any {
		return map[string]any{"method": "GET", "path": path, "security": []any{map[string]any{"jwt": scopes}},
			"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:echo", "payloadFormatVersion": "2.0"}}
	}
	id := createAPI(t, c, map[string]any{"name": "j", "protocol": "HTTP", "authorizers": map[string]any{"jwt": scheme},
		"routes": []any{route("/read", []string{"read"}), route("/admin", []string{"admin"})}})
	u := env.GatewayURL + "/" + id + "/dev"
	now := time.Now()
	claims := func(mod func(map[string]any)) map[string]any {
		m := map[string]any{"iss": is.srv.URL, "aud": "api1", "sub": "u1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "scope": "read write"}
		if mod != nil {
			mod(m)
		}
		return m
	}
	good := is.token(t, "RS256", "k1", is.rsa1, claims(nil))

	a := call(t, u+"/read", "Authorization", "Bearer "+good)
	var ev struct {
		RequestContext struct {
			Authorizer struct {
				JWT struct {
					Claims map[string]string `json:"claims"`
					Scopes []string          `json:"scopes"`
				} `json:"jwt"`
			} `json:"authorizer"`
		} `json:"requestContext"`
	}
	if a.status != 200 || json.Unmarshal([]byte(a.body), &ev) != nil || ev.RequestContext.Authorizer.JWT.Claims["sub"] != "u1" ||
		strings.Join(ev.RequestContext.Authorizer.JWT.Scopes, " ") != "read write" {
		t.Fatalf("good RSA token: %d %s", a.status, a.body)
	}
	if a := call(t, u+"/read", "Authorization", is.token(t, "ES256", "e1", is.ec, claims(func(m map[string]any) {
		delete(m, "aud")
		m["client_id"] = "api1"
	}))); a.status != 200 {
		t.Fatalf("good ECDSA token with client_id: %d %s", a.status, a.body)
	}
	if a := call(t, u+"/admin", "Authorization", good); a.status != 403 || a.body != `{"message":"Forbidden"}` {
		t.Fatalf("missing scope: %d %s", a.status, a.body)
	}
	refused := map[string]struct{ token, why string }{
		"missing":        {"", "missing"},
		"expired":        {is.token(t, "RS256", "k1", is.rsa1, claims(func(m map[string]any) { m["exp"] = now.Add(-time.Minute).Unix() })), "expired"},
		"wrong audience": {is.token(t, "RS256", "k1", is.rsa1, claims(func(m map[string]any) { m["aud"] = "other" })), "audience"},
		"wrong issuer":   {is.token(t, "RS256", "k1", is.rsa1, claims(func(m map[string]any) { m["iss"] = "https://evil.example" })), "issuer"},
		"not yet valid":  {is.token(t, "RS256", "k1", is.rsa1, claims(func(m map[string]any) { m["nbf"] = now.Add(time.Hour).Unix() })), "not valid yet"},
		"none":           {is.token(t, "none", "k1", nil, claims(nil)), "invalid"},
		"HMAC":           {is.token(t, "HS256", "k1", []byte("secret"), claims(nil)), "invalid"},
		"malformed":      {"not.a.jwt", "malformed"},
		"garbage":        {"%%%", "malformed"},
	}
	for name, c := range refused {
		var hdr []string
		if c.token != "" {
			hdr = []string{"Authorization", "Bearer " + c.token}
		}
		a := call(t, u+"/read", hdr...)
		if a.status != 401 || !strings.Contains(a.header.Get("www-authenticate"), c.why) {
			t.Errorf("%s: %d www-authenticate %q %s", name, a.status, a.header.Get("www-authenticate"), a.body)
		}
	}

	// An unknown kid: refused; after the issuer rotates its keys, refused until
	// a minute has passed since the last fetch (no refetch storm), then accepted.
	rotated := is.token(t, "RS256", "k2", is.rsa2, claims(nil))
	if a := call(t, u+"/read", "Authorization", rotated); a.status != 401 {
		t.Fatalf("unknown kid: %d %s", a.status, a.body)
	}
	is.publish(t, map[string]any{"k2": &is.rsa2.PublicKey})
	before := is.fetches.Load()
	if a := call(t, u+"/read", "Authorization", rotated); a.status != 401 || is.fetches.Load() != before {
		t.Fatalf("within the minute: %d, fetches %d -> %d", a.status, before, is.fetches.Load())
	}
	offset.Store(int64(61 * time.Second))
	if a := call(t, u+"/read", "Authorization", rotated); a.status != 200 {
		t.Fatalf("after rotation: %d %s", a.status, a.body)
	}
}
