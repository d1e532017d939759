package auth_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
)

// TestJWTMemberTwiceRefused: a signed token whose claims set or protected
// header names a member twice is malformed (401), where the claims used to be
// read keeping the last value, so {"aud": "other", "aud": "api1"} passed for
// audience api1 while its first aud said otherwise. Claim names stay
// case-sensitive: "Aud" is no aud.
func TestJWTMemberTwiceRefused(t *testing.T) {
	is := gwtest.NewIssuer(t)
	env := apptest.Start(t, apptest.Options{JWKSTransport: is.Transport()})
	c := env.Client()
	scheme := map[string]any{"type": "oauth2", "x-amazon-apigateway-authorizer": map[string]any{
		"type": "jwt", "identitySource": "$request.header.Authorization",
		"jwtConfiguration": map[string]any{"issuer": is.Srv.URL, "audience": []string{"api1"}}}}
	id := createAPI(t, c, map[string]any{"name": "j", "protocol": "HTTP", "authorizers": map[string]any{"jwt": scheme},
		"routes": []any{mockRoute("GET", "/read", "jwt")}})
	u := env.GatewayURL + "/" + id + "/dev/read"
	now := time.Now()
	rest := fmt.Sprintf(`"iss":%q,"sub":"u1","iat":%d,"exp":%d`, is.Srv.URL, now.Unix(), now.Add(time.Hour).Unix())
	header := `{"alg":"RS256","kid":"k1","typ":"JWT"}`
	if a := call(t, u, "Authorization", "Bearer "+is.Sign(t, "RS256", is.RSA1, header, `{"aud":"api1",`+rest+`}`)); a.status != 200 {
		t.Fatalf("a good token: %d %s", a.status, a.body)
	}
	for what, tok := range map[string]string{
		"aud twice":    is.Sign(t, "RS256", is.RSA1, header, `{"aud":"other","aud":"api1",`+rest+`}`),
		"sub twice":    is.Sign(t, "RS256", is.RSA1, header, `{"aud":"api1",`+rest+`,"sub":"admin"}`),
		"kid twice":    is.Sign(t, "RS256", is.RSA1, `{"alg":"RS256","kid":"nope","kid":"k1"}`, `{"aud":"api1",`+rest+`}`),
		"Aud for aud":  is.Sign(t, "RS256", is.RSA1, header, `{"Aud":"api1",`+rest+`}`),
		"exp then EXP": is.Sign(t, "RS256", is.RSA1, header, fmt.Sprintf(`{"aud":"api1","iss":%q,"exp":%d,"EXP":%d}`, is.Srv.URL, now.Add(-time.Hour).Unix(), now.Add(time.Hour).Unix())),
	} {
		a := call(t, u, "Authorization", "Bearer "+tok)
		if a.status != 401 || a.body != `{"message":"Unauthorized"}` {
			t.Errorf("%s: %d %s, want 401", what, a.status, a.body)
		}
	}
}
