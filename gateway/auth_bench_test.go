package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/auth"
	"github.com/portico-dev/portico/gateway/iam"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/sigv4/sigv4test"
	"github.com/portico-dev/portico/invoker"
)

// headerTransport adds headers to every request.
type headerTransport struct {
	rt     http.RoundTripper
	header http.Header
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.header {
		r.Header[k] = v
	}
	return h.rt.RoundTrip(r)
}

func clientWith(name, value string) *http.Client {
	c := BenchClient()
	if name != "" {
		c.Transport = headerTransport{c.Transport, http.Header{http.CanonicalHeaderKey(name): {value}}}
	}
	return c
}

// benchAuthGateway serves a on a loopback listener with the authorize stage
// (its IAM principals from pr when not nil).
func benchAuthGateway(b *testing.B, a *apis.API, inv *fakeInvoker, pr auth.Principals) string {
	b.Helper()
	svc, stagePath := benchCreate(b, a, nil)
	res := &fakeResolver{}
	gw := New(Config{}, svc, res, inv, nil)
	st := auth.New(res, inv, nil)
	st.SetJWKSTransport(gwtest.TLSTransport())
	if pr != nil {
		st.SetPrincipals(pr)
	}
	gw.Use(st)
	srv := httptest.NewServer(gw)
	b.Cleanup(srv.Close)
	return srv.URL + stagePath
}

// benchPrincipal creates an IAM user allowed execute-api:Invoke everywhere, in
// a store of its own, and returns the principals and its credentials.
func benchPrincipal(b *testing.B) (*iam.Service, aws.Credentials) {
	b.Helper()
	st := gwtest.Store(b, "")
	sealer, err := iam.NewSealer(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	svc, err := iam.New(ctx, st, sealer, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, "bench", ""); err != nil {
		b.Fatal(err)
	}
	k, secret, err := svc.CreateAccessKey(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.PutUserPolicy(ctx, "bench", "invoke", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/GET/*"}]}`); err != nil {
		b.Fatal(err)
	}
	return svc, aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: secret}
}

// signedClient replays one SigV4 signature of GET u (valid for the skew API
// Gateway allows), so that the client's signing does not load the machine the
// gateway is measured on.
func signedClient(b *testing.B, cr aws.Credentials, u string) *http.Client {
	b.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	sigv4test.SignNow(b, req, cr, nil, "execute-api")
	c := BenchClient()
	c.Transport = headerTransport{c.Transport, http.Header{"Authorization": req.Header.Values("Authorization"), "X-Amz-Date": req.Header.Values("X-Amz-Date")}}
	return c
}

// BenchmarkAuth measures gateway throughput through a real listener with a
// cached Lambda authorizer and with IAM (SigV4) auth (REST, MOCK integration),
// and with a JWT authorizer
// whose keys are cached (HTTP API, function proxy to a fake invoker), each beside
// the same route without auth.
func BenchmarkAuth(b *testing.B) {
	allow, _ := json.Marshal(map[string]any{"principalId": "p", "policyDocument": map[string]any{
		"Statement": []any{map[string]any{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}}}})
	authInv := &fakeInvoker{handle: func(invoker.Request) (*invoker.Result, error) { return &invoker.Result{Payload: allow}, nil }}
	lambdaScheme := json.RawMessage(`{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authtype":"custom",
		"x-amazon-apigateway-authorizer":{"type":"token","authorizerUri":"function:authz","authorizerResultTtlInSeconds":300}}`)
	rest := func(secured bool) *apis.API {
		a := mockAPI()
		if secured {
			a.Authorizers = map[string]json.RawMessage{"tok": lambdaScheme}
			a.Routes[0].Security = []map[string][]string{{"tok": {}}}
		}
		return a
	}
	b.Run("rest-noauth", func(b *testing.B) {
		Load(b, clientWith("", ""), benchAuthGateway(b, rest(false), authInv, nil)+"/mock", benchConcurrency, "")
	})
	b.Run("rest-lambda-cached", func(b *testing.B) {
		Load(b, clientWith("Authorization", "tok"), benchAuthGateway(b, rest(true), authInv, nil)+"/mock", benchConcurrency, "")
	})
	b.Run("rest-iam", func(b *testing.B) {
		a := mockAPI()
		a.Authorizers = map[string]json.RawMessage{"sigv4": json.RawMessage(`{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authtype":"awsSigv4"}`)}
		a.Routes[0].Security = []map[string][]string{{"sigv4": {}}}
		pr, cr := benchPrincipal(b)
		u := benchAuthGateway(b, a, authInv, pr) + "/mock"
		Load(b, signedClient(b, cr, u), u, benchConcurrency, "")
	})

	is := gwtest.NewIssuer(b)
	issuer := is.Srv
	token := is.Token(b, "RS256", "k1", is.RSA1, map[string]any{"iss": issuer.URL, "aud": "api1", "sub": "u", "exp": time.Now().Add(time.Hour).Unix(), "scope": "read"})

	fnInv := &fakeInvoker{}
	httpAPI := func(secured bool) *apis.API {
		a := &apis.API{Name: "bench", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
			{Method: "GET", Path: "/fn", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello", PayloadFormatVersion: "2.0"}},
		}}}
		if secured {
			a.Authorizers = map[string]json.RawMessage{"jwt": json.RawMessage(`{"type":"oauth2","x-amazon-apigateway-authorizer":{"type":"jwt",
				"jwtConfiguration":{"issuer":"` + issuer.URL + `","audience":["api1"]}}}`)}
			a.Routes[0].Security = []map[string][]string{{"jwt": {"read"}}}
		}
		return a
	}
	b.Run("http-noauth", func(b *testing.B) {
		Load(b, clientWith("", ""), benchAuthGateway(b, httpAPI(false), fnInv, nil)+"/fn", benchConcurrency, "")
	})
	b.Run("http-jwt", func(b *testing.B) {
		Load(b, clientWith("Authorization", "Bearer "+token), benchAuthGateway(b, httpAPI(true), fnInv, nil)+"/fn", benchConcurrency, "")
	})
}
