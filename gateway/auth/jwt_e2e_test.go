package auth_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/auth"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
)

// TestJWTAuthorizerEndToEnd covers a JWT authorizer on an HTTP API against an
// issuer served by the test: good RSA and ECDSA tokens, expired, wrong audience,
// wrong issuer, none and HMAC tokens, missing scope, and an unknown kid before
// and after the keys rotate.
func TestJWTAuthorizerEndToEnd(t *testing.T) {
	is := gwtest.NewIssuer(t)
	var stage *auth.Stage
	env := apptest.Start(t, apptest.Options{JWKSTransport: is.Transport(), Populate: []any{&stage}})
	var offset atomic.Int64
	stage.SetClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
	c := env.Client()
	createFunction(t, c, "echo", 5)
	scheme := map[string]any{"type": "oauth2", "x-amazon-apigateway-authorizer": map[string]any{
		"type": "jwt", "identitySource": "$request.header.Authorization",
		"jwtConfiguration": map[string]any{"issuer": is.Srv.URL, "audience": []string{"api1"}}}}
	route := func(path string, scopes []string, payload ...string) map[string]any {
		version := "2.0"
		if len(payload) > 0 {
			version = payload[0]
		}
		return map[string]any{"method": "GET", "path": path, "security": []any{map[string]any{"jwt": scopes}},
			"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:echo", "payloadFormatVersion": version}}
	}
	id := createAPI(t, c, map[string]any{"name": "j", "protocol": "HTTP", "authorizers": map[string]any{"jwt": scheme},
		"routes": []any{route("/read", []string{"read"}), route("/admin", []string{"admin"}),
			route("/v1", []string{"read"}, "1.0"), route("/v1any", []string{}, "1.0")}})
	u := env.GatewayURL + "/" + id + "/dev"
	now := time.Now()
	claims := func(mod func(map[string]any)) map[string]any {
		m := map[string]any{"iss": is.Srv.URL, "aud": "api1", "sub": "u1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "scope": "read write",
			"cognito:groups": []string{"admin", "editors"}, "email_verified": true}
		if mod != nil {
			mod(m)
		}
		return m
	}
	good := is.Token(t, "RS256", "k1", is.RSA1, claims(nil))

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
	// Claims are strings: an array between brackets, space-separated, as API
	// Gateway renders cognito:groups; other values as their JSON text.
	if c := ev.RequestContext.Authorizer.JWT.Claims; c["cognito:groups"] != "[admin editors]" || c["email_verified"] != "true" ||
		c["exp"] != strconv.FormatInt(now.Add(time.Hour).Unix(), 10) {
		t.Fatalf("claims: %v", c)
	}
	// Payload 1.0: requestContext.authorizer is {"claims": {...}, "scopes":
	// [...]}, as AWS's HTTP API 1.0 event has it, not a REST-style flat map
	// with a principalId; scopes are null when the token has none.
	var ev1 struct {
		RequestContext struct {
			Authorizer map[string]json.RawMessage `json:"authorizer"`
		} `json:"requestContext"`
	}
	a = call(t, u+"/v1", "Authorization", "Bearer "+good)
	if a.status != 200 || json.Unmarshal([]byte(a.body), &ev1) != nil {
		t.Fatalf("payload 1.0: %d %s", a.status, a.body)
	}
	var claims1 map[string]string
	if az := ev1.RequestContext.Authorizer; len(az) != 2 || json.Unmarshal(az["claims"], &claims1) != nil ||
		claims1["sub"] != "u1" || claims1["scope"] != "read write" || claims1["cognito:groups"] != "[admin editors]" ||
		string(az["scopes"]) != `["read","write"]` {
		t.Fatalf("payload 1.0 requestContext.authorizer: %s", a.body)
	}
	noScope := is.Token(t, "RS256", "k1", is.RSA1, claims(func(m map[string]any) { delete(m, "scope") }))
	a = call(t, u+"/v1any", "Authorization", noScope)
	ev1.RequestContext.Authorizer = nil
	if a.status != 200 || json.Unmarshal([]byte(a.body), &ev1) != nil || len(ev1.RequestContext.Authorizer) != 2 ||
		string(ev1.RequestContext.Authorizer["scopes"]) != "null" || !strings.Contains(string(ev1.RequestContext.Authorizer["claims"]), `"sub":"u1"`) {
		t.Fatalf("payload 1.0 without scopes: %d %s", a.status, a.body)
	}
	if a := call(t, u+"/read", "Authorization", is.Token(t, "ES256", "e1", is.EC, claims(func(m map[string]any) {
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
		"expired":        {is.Token(t, "RS256", "k1", is.RSA1, claims(func(m map[string]any) { m["exp"] = now.Add(-time.Minute).Unix() })), "expired"},
		"wrong audience": {is.Token(t, "RS256", "k1", is.RSA1, claims(func(m map[string]any) { m["aud"] = "other" })), "audience"},
		// With both aud and client_id, only aud counts: a matching client_id
		// does not make up for a wrong aud.
		"wrong aud, right client_id": {is.Token(t, "RS256", "k1", is.RSA1, claims(func(m map[string]any) {
			m["aud"] = "other"
			m["client_id"] = "api1"
		})), "audience"},
		"wrong client_id, no aud": {is.Token(t, "RS256", "k1", is.RSA1, claims(func(m map[string]any) {
			delete(m, "aud")
			m["client_id"] = "other"
		})), "audience"},
		"wrong issuer":  {is.Token(t, "RS256", "k1", is.RSA1, claims(func(m map[string]any) { m["iss"] = "https://evil.example" })), "issuer"},
		"not yet valid": {is.Token(t, "RS256", "k1", is.RSA1, claims(func(m map[string]any) { m["nbf"] = now.Add(time.Hour).Unix() })), "not valid yet"},
		"none":          {is.Token(t, "none", "k1", nil, claims(nil)), "invalid"},
		"HMAC":          {is.Token(t, "HS256", "k1", []byte("secret"), claims(nil)), "invalid"},
		// RFC 7519's NumericDate is a JSON number: a date given as a string
		// (a valid one, or one that has passed) is a malformed claim.
		"exp as a string": {is.Token(t, "RS256", "k1", is.RSA1, claims(func(m map[string]any) {
			m["exp"] = strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
		})), "invalid"},
		"nbf as a string": {is.Token(t, "RS256", "k1", is.RSA1, claims(func(m map[string]any) {
			m["nbf"] = strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)
		})), "invalid"},
		"iat as a string": {is.Token(t, "RS256", "k1", is.RSA1, claims(func(m map[string]any) {
			m["iat"] = strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)
		})), "invalid"},
		"malformed": {"not.a.jwt", "malformed"},
		"garbage":   {"%%%", "malformed"},
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
	rotated := is.Token(t, "RS256", "k2", is.RSA2, claims(nil))
	if a := call(t, u+"/read", "Authorization", rotated); a.status != 401 {
		t.Fatalf("unknown kid: %d %s", a.status, a.body)
	}
	is.Publish(t, map[string]any{"k2": &is.RSA2.PublicKey})
	before := is.Fetches.Load()
	if a := call(t, u+"/read", "Authorization", rotated); a.status != 401 || is.Fetches.Load() != before {
		t.Fatalf("within the minute: %d, fetches %d -> %d", a.status, before, is.Fetches.Load())
	}
	offset.Store(int64(61 * time.Second))
	if a := call(t, u+"/read", "Authorization", rotated); a.status != 200 {
		t.Fatalf("after rotation: %d %s", a.status, a.body)
	}
}
