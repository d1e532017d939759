package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/auth"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/errdefs"
)

// TestHTTPAPIParameterMappingJWTClaims: an HTTP_PROXY integration's mapping
// from $context.authorizer.claims.NAME (braced or not, and the
// authorizer.jwt.claims form) sends the verified token's claim, never the
// client's own header of that name; a claim the token lacks removes the
// client's header rather than letting it through as if mapped.
func TestHTTPAPIParameterMappingJWTClaims(t *testing.T) {
	backend, seen := newSeenBackend(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	is := gwtest.NewIssuer(t)
	e := newEnv(t)
	az := auth.New(e.res, e.inv, nil)
	az.SetJWKSTransport(is.Transport())
	e.gw.Use(az)
	a := &apis.API{Name: "claims", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{
		Authorizers: map[string]json.RawMessage{"jwt": json.RawMessage(`{"type":"oauth2","x-amazon-apigateway-authorizer":{"type":"jwt",
			"identitySource":"$request.header.Authorization","jwtConfiguration":{"issuer":"` + is.Srv.URL + `","audience":["api1"]}}}`)},
		Routes: []apis.Route{{
			Method: "GET", Path: "/me", Security: []map[string][]string{{"jwt": {}}},
			Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend.URL + "/me",
				RequestParameters: map[string]string{
					"overwrite:header.x-sub":     "$context.authorizer.claims.sub",
					"overwrite:header.x-sub2":    "${context.authorizer.claims.sub}",
					"overwrite:header.x-sub3":    "$context.authorizer.jwt.claims.sub",
					"overwrite:header.x-groups":  "$context.authorizer.claims.groups",
					"overwrite:header.x-email":   "$context.authorizer.claims.email",
					"overwrite:querystring.user": "$context.authorizer.claims.email",
					"overwrite:header.x-pid":     "$context.authorizer.principalId",
				},
			},
		}},
	}}
	id := e.deploy(a, "dev", nil)
	token := is.Token(t, "RS256", "k1", is.RSA1, map[string]any{"iss": is.Srv.URL, "aud": "api1", "sub": "u1",
		"groups": []any{"a", "b"}, "exp": time.Now().Add(time.Hour).Unix()})
	r := e.do("GET", "/"+id+"/dev/me?user=forged", nil, "Authorization", "Bearer "+token,
		"x-sub", "admin", "x-sub2", "admin", "x-sub3", "admin", "x-email", "forged@example.com", "x-pid", "admin")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	got := seen()
	for name, want := range map[string]string{"x-sub": "u1", "x-sub2": "u1", "x-sub3": "u1", "x-groups": "[a b]", "x-email": "", "x-pid": "u1"} {
		if g := strings.Join(got.header.Values(name), ","); g != want {
			t.Errorf("backend header %s = %q, want %q", name, g, want)
		}
	}
	if got.query != "" {
		t.Errorf("backend query %q, want none (the token has no email claim)", got.query)
	}
}

// TestHTTPAPIParameterMappingUnknownContext: a mapping that names a $context
// variable Portico cannot resolve is refused when saved, never skipped when
// a request comes.
func TestHTTPAPIParameterMappingUnknownContext(t *testing.T) {
	svc := newEnv(t).svc
	for _, value := range []string{"$context.nosuch", "${context.authorizer.claims.address.city}", "$context.integration.latency",
		"$context.authorizer.claims.", "$context.identity.nosuch", "x=${context.authorizer.jwt.scopes}"} {
		in := apis.Integration{Type: apis.IntegrationHTTPProxy, URI: "http://b.example", RequestParameters: map[string]string{"overwrite:header.X": value}}
		_, err := svc.Create(context.Background(), &apis.API{Name: "x", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{
			Routes: []apis.Route{{Method: "GET", Path: "/x", Integration: &in}}}})
		if !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("value %q: err = %v, want ErrInvalid", value, err)
		}
	}
	for _, value := range []string{"$context.requestId", "$context.identity.sourceIp", "$context.authorizer.principalId",
		"$context.authorizer.tenant", "$context.authorizer.claims.sub", "$context.identity.clientCert.subjectDN", "$context.routeKey"} {
		in := apis.Integration{Type: apis.IntegrationHTTPProxy, URI: "http://b.example", RequestParameters: map[string]string{"overwrite:header.X": value}}
		if _, err := svc.Create(context.Background(), &apis.API{Name: "x", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{
			Routes: []apis.Route{{Method: "GET", Path: "/x", Integration: &in}}}}); err != nil {
			t.Errorf("value %q: %v", value, err)
		}
	}
}

// TestJWTIssuerTrailingSlash: an issuer configured with a trailing slash
// (Auth0's style) accepts tokens whose iss is exactly that, and refuses one
// without the slash: iss must equal the issuer. Discovery is found either way.
func TestJWTIssuerTrailingSlash(t *testing.T) {
	is := gwtest.NewIssuer(t)
	e := newEnv(t)
	az := auth.New(e.res, e.inv, nil)
	az.SetJWKSTransport(is.Transport())
	e.gw.Use(az)
	for i, issuer := range []string{is.Srv.URL + "/", is.Srv.URL} {
		a := &apis.API{Name: "iss", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{
			Authorizers: map[string]json.RawMessage{"jwt": json.RawMessage(`{"type":"oauth2","x-amazon-apigateway-authorizer":{"type":"jwt",
			"identitySource":"$request.header.Authorization","jwtConfiguration":{"issuer":"` + issuer + `","audience":["api1"]}}}`)},
			Routes: []apis.Route{{Method: "GET", Path: "/me", Security: []map[string][]string{{"jwt": {}}},
				Integration: &apis.Integration{Type: apis.IntegrationMock}}},
		}}
		id := e.deploy(a, "dev", nil)
		other := is.Srv.URL
		if i == 1 {
			other = is.Srv.URL + "/"
		}
		for iss, want := range map[string]int{issuer: 200, other: 401} {
			token := is.Token(t, "RS256", "k1", is.RSA1, map[string]any{"iss": iss, "aud": "api1", "sub": "u1", "exp": time.Now().Add(time.Hour).Unix()})
			if r := e.do("GET", "/"+id+"/dev/me", nil, "Authorization", "Bearer "+token); r.status != want {
				t.Errorf("issuer %q, token iss %q: %d %s %v, want %d", issuer, iss, r.status, r.body, r.header.Get("www-authenticate"), want)
			}
		}
	}
}

// TestRequestAuthorizerCachingNeedsIdentitySource: a REQUEST authorizer
// without identity sources has nothing to key cached results by: an explicit
// authorizerResultTtlInSeconds above 0 is refused (as API Gateway requires an
// identity source when caching is on), while 0 or none (never cached) is
// accepted.
func TestRequestAuthorizerCachingNeedsIdentitySource(t *testing.T) {
	svc := newEnv(t).svc
	for _, c := range []struct {
		protocol, extra string
		ok              bool
	}{
		{apis.ProtocolHTTP, `,"authorizerResultTtlInSeconds":300`, false},
		{apis.ProtocolREST, `,"authorizerResultTtlInSeconds":60`, false},
		{apis.ProtocolHTTP, `,"authorizerResultTtlInSeconds":0`, true},
		{apis.ProtocolHTTP, ``, true},
		{apis.ProtocolREST, ``, true},
		{apis.ProtocolHTTP, `,"authorizerResultTtlInSeconds":300,"identitySource":"$request.header.x-token"`, true},
	} {
		a := &apis.API{Name: "a", Protocol: c.protocol, Definition: apis.Definition{
			Authorizers: map[string]json.RawMessage{"lam": json.RawMessage(`{"type":"apiKey","name":"Unused","in":"header","x-amazon-apigateway-authorizer":{"type":"request",
				"authorizerUri":"function:auth"` + c.extra + `}}`)},
			Routes: []apis.Route{{Method: "GET", Path: "/x", Security: []map[string][]string{{"lam": {}}}, Integration: &apis.Integration{Type: apis.IntegrationMock}}},
		}}
		_, err := svc.Create(context.Background(), a)
		if c.ok != (err == nil) || err != nil && (!errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "identity source")) {
			t.Errorf("%s %s: err = %v, want ok %v", c.protocol, c.extra, err, c.ok)
		}
	}
}

// TestHTTPAPIParameterMappingNoPrincipal guards r-httpapi29's finding 3: a
// request with no principal (no authorizer here; a Lambda authorizer's
// simple response has none either) maps $context.authorizer.principalId as
// absent: an overwrite removes the client's header and an append is
// skipped, as for a claim the token lacks, rather than sending it empty.
func TestHTTPAPIParameterMappingNoPrincipal(t *testing.T) {
	backend, seen := newSeenBackend(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	e := newEnv(t)
	a := &apis.API{Name: "nopid", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{
		Routes: []apis.Route{{
			Method: "GET", Path: "/me",
			Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend.URL + "/me",
				RequestParameters: map[string]string{
					"overwrite:header.x-pid":    "$context.authorizer.principalId",
					"append:header.x-pid2":      "$context.authorizer.principalId",
					"overwrite:querystring.pid": "$context.authorizer.principalId",
				},
			},
		}},
	}}
	id := e.deploy(a, "dev", nil)
	r := e.do("GET", "/"+id+"/dev/me?pid=forged", nil, "x-pid", "forged")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	got := seen()
	for _, name := range []string{"x-pid", "x-pid2"} {
		if vs, ok := got.header[http.CanonicalHeaderKey(name)]; ok {
			t.Errorf("backend header %s = %q, want none", name, vs)
		}
	}
	if got.query != "" {
		t.Errorf("backend query %q, want none", got.query)
	}
}
