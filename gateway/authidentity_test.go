package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/auth"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/invoker"
)

// authEnv is an env with the authorize stage, whose function "authz" allows
// a request whose x-auth identity is "allow" (HTTP API simple responses),
// recording the identity sources of each authorizer event; other functions
// answer 200 with their event's headers.x-auth and queryStringParameters.q.
type authEnv struct {
	*env
	mu         sync.Mutex
	identities [][]string
}

func newAuthEnv(t *testing.T) *authEnv {
	e := &authEnv{env: newEnv(t)}
	e.gw.Use(auth.New(e.res, e.inv, nil))
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		var ev struct {
			Type           string            `json:"type"`
			IdentitySource []string          `json:"identitySource"`
			Headers        map[string]string `json:"headers"`
			Query          map[string]string `json:"queryStringParameters"`
		}
		_ = json.Unmarshal(req.Payload, &ev)
		if ev.Type == "REQUEST" {
			e.mu.Lock()
			e.identities = append(e.identities, ev.IdentitySource)
			e.mu.Unlock()
			return &invoker.Result{Payload: []byte(`{"isAuthorized": ` + boolText(ev.Headers["x-auth"] == "allow") + `}`)}, nil
		}
		body, _ := json.Marshal(map[string]string{"x-auth": ev.Headers["x-auth"], "q": ev.Query["q"]})
		return &invoker.Result{Payload: []byte(`{"statusCode": 200, "body": ` + string(mustJSON(string(body))) + `}`)}, nil
	}
	return e
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// calls returns the authorizer events' identity sources so far and forgets them.
func (e *authEnv) calls() [][]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.identities
	e.identities = nil
	return out
}

// lambdaAPI is an HTTP API whose GET /s/{n} route has a Lambda authorizer
// with the identity sources src and result TTL ttl.
func lambdaAPI(src string, ttl int) *apis.API {
	return &apis.API{Name: "az", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{
		Authorizers: map[string]json.RawMessage{"lam": json.RawMessage(`{"type":"apiKey","name":"x-auth","in":"header",
			"x-amazon-apigateway-authtype":"custom","x-amazon-apigateway-authorizer":{"type":"request","authorizerUri":"function:authz",
			"identitySource":` + string(mustJSON(src)) + `,"authorizerPayloadFormatVersion":"2.0","enableSimpleResponses":true,
			"authorizerResultTtlInSeconds":` + itoa(ttl) + `}}`)},
		Routes: []apis.Route{{Method: "GET", Path: "/s/{n}", Security: []map[string][]string{{"lam": {}}},
			Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:echo", PayloadFormatVersion: "2.0"}}},
	}}
}

// TestAuthorizerContextIdentitySource: an identity source naming a $context
// variable the gateway cannot resolve for authorizers is refused when the API
// is saved, where before it was accepted and then refused every request 401
// without calling the authorizer; $context.routeKey is one it resolves.
func TestAuthorizerContextIdentitySource(t *testing.T) {
	e := newAuthEnv(t)
	for _, src := range []string{"$request.header.x-auth, $context.nosuch", "$context.identity.nosuch", "$context.authorizer.x"} {
		if _, err := e.svc.Create(context.Background(), lambdaAPI(src, 0)); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("identity source %q saved: %v; want ErrInvalid", src, err)
		} else if !strings.Contains(err.Error(), "$context.") {
			t.Errorf("identity source %q: %v; want the error to name it", src, err)
		}
	}
	rest := &apis.API{Name: "r", Protocol: apis.ProtocolREST, Definition: apis.Definition{
		Authorizers: map[string]json.RawMessage{"req": json.RawMessage(`{"type":"apiKey","name":"x-auth","in":"header",
			"x-amazon-apigateway-authtype":"custom","x-amazon-apigateway-authorizer":{"type":"request","authorizerUri":"function:authz",
			"identitySource":"method.request.header.x-auth, context.nosuch"}}`)},
		Routes: []apis.Route{{Method: "GET", Path: "/x", Security: []map[string][]string{{"req": {}}},
			Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, HTTPMethod: "POST", URI: "function:echo"}}}}}
	if _, err := e.svc.Create(context.Background(), rest); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("REST identity source context.nosuch saved: %v; want ErrInvalid", err)
	}
	id := e.deploy(lambdaAPI("$request.header.x-auth, $context.routeKey", 0), "dev", nil)
	if r := e.do("GET", "/"+id+"/dev/s/1", nil, "x-auth", "allow"); r.status != 200 {
		t.Fatalf("with $context.routeKey: %d %s", r.status, r.body)
	}
	if got := e.calls(); len(got) != 1 || strings.Join(got[0], "|") != "allow|GET /s/{n}" {
		t.Errorf("authorizer identity sources %q; want [allow GET /s/{n}]", got)
	}
}

// TestHTTPAPIRepeatedIdentity: on an HTTP API a header or query parameter
// identity source sent more than once is the comma-joined value its 2.0
// events carry, in the authorizer's identitySource as in the integration's
// headers and queryStringParameters, and the result cache keys on it: the
// authorizer read only the first value before ("allow" beside "evil" was
// allowed, and its cached answer then admitted "allow,evil").
func TestHTTPAPIRepeatedIdentity(t *testing.T) {
	e := newAuthEnv(t)
	id := e.deploy(lambdaAPI("$request.header.x-auth, $request.querystring.q", 300), "dev", nil)
	get := func(query string, auth ...string) response {
		req, err := http.NewRequest("GET", e.srv.URL+"/"+id+"/dev/s/2"+query, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range auth {
			req.Header.Add("x-auth", v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return response{resp.StatusCode, resp.Header, string(b)}
	}
	// "allow" first and "evil" after: the authorizer is asked about
	// "allow,evil", which it does not allow.
	if r := get("?q=x", "allow", "evil"); r.status != 403 {
		t.Errorf("x-auth allow, evil: %d %s; want 403", r.status, r.body)
	}
	if got := e.calls(); len(got) != 1 || strings.Join(got[0], "|") != "allow,evil|x" {
		t.Errorf("identity sources %q; want [allow,evil x]", got)
	}
	// The answer cached for one "allow" does not answer for the pair.
	if r := get("?q=x", "allow"); r.status != 200 {
		t.Fatalf("x-auth allow: %d %s", r.status, r.body)
	}
	if r := get("?q=x", "allow", "evil"); r.status != 403 {
		t.Errorf("x-auth allow, evil after allow was cached: %d %s; want 403", r.status, r.body)
	}
	e.calls()
	// A repeated query parameter: identitySource "x,y", as the integration's
	// queryStringParameters.q.
	r := get("?q=x&q=y", "allow")
	var body map[string]string
	_ = json.Unmarshal([]byte(r.body), &body)
	if got := e.calls(); r.status != 200 || len(got) != 1 || strings.Join(got[0], "|") != "allow|x,y" || body["q"] != "x,y" {
		t.Errorf("q=x&q=y: %d %s, identity sources %q; want 200, [allow x,y] and the event's q x,y", r.status, r.body, got)
	}
}

// TestJWTRepeatedAuthorization: a JWT authorizer's token is the identity
// source as the 2.0 event carries it: a valid token's Authorization header
// sent with a second one is not that token (401), where before the second
// was ignored and the request admitted.
func TestJWTRepeatedAuthorization(t *testing.T) {
	is := gwtest.NewIssuer(t)
	e := newEnv(t)
	az := auth.New(e.res, e.inv, nil)
	az.SetJWKSTransport(is.Transport())
	e.gw.Use(az)
	id := e.deploy(&apis.API{Name: "jwt", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{
		Authorizers: map[string]json.RawMessage{"jwt": json.RawMessage(`{"type":"oauth2","x-amazon-apigateway-authorizer":{"type":"jwt",
			"identitySource":"$request.header.Authorization","jwtConfiguration":{"issuer":"` + is.Srv.URL + `","audience":["api1"]}}}`)},
		Routes: []apis.Route{{Method: "GET", Path: "/me", Security: []map[string][]string{{"jwt": {}}},
			Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello", PayloadFormatVersion: "2.0"}}},
	}}, "dev", nil)
	token := is.Token(t, "RS256", "k1", is.RSA1, map[string]any{"iss": is.Srv.URL, "aud": "api1", "sub": "u1", "exp": time.Now().Add(time.Hour).Unix()})
	if r := e.do("GET", "/"+id+"/dev/me", nil, "Authorization", "Bearer "+token); r.status != 200 {
		t.Fatalf("one valid token: %d %s", r.status, r.body)
	}
	for _, second := range []string{"Bearer junk", "Bearer " + token} {
		if r := e.do("GET", "/"+id+"/dev/me", nil, "Authorization", "Bearer "+token, "Authorization", second); r.status != 401 {
			t.Errorf("a valid token and %.20q: %d %s; want 401", second, r.status, r.body)
		}
	}
}
