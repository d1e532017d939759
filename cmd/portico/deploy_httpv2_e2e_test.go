package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/upgradetest"
)

// httpV2Template is an HTTP API of raw AWS::ApiGatewayV2 resources, as
// templates ported from CloudFormation write it: a JWT authorizer (ISSUER,
// audience pets) guards GET /pets/{id} with scope read and GET /admin with
// scope admin, a Lambda REQUEST authorizer (payload 1.0, the query string's
// token) guards GET /guarded, the API answers CORS preflights for
// https://example.com, GET /proxied reaches an HTTP backend (BACKEND) with a
// header mapped in and one mapped onto its answer, and a $default stage
// serves it.
const httpV2Template = `Transform: AWS::Serverless-2016-10-31
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello
      Runtime: provided.al2023
      Handler: bootstrap
  WsAuth:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: wsauthz
      Runtime: provided.al2023
      Handler: bootstrap
  Http:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: pets
      ProtocolType: HTTP
      Tags: {team: pets}
      CorsConfiguration:
        AllowOrigins: [https://example.com]
        AllowMethods: [GET]
        AllowHeaders: [authorization]
  Jwt:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Http
      Name: jwt
      AuthorizerType: JWT
      IdentitySource: [$request.header.Authorization]
      JwtConfiguration:
        Issuer: ISSUER
        Audience: [pets]
  Tokens:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Http
      Name: tokens
      AuthorizerType: REQUEST
      AuthorizerUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${WsAuth.Arn}/invocations
      AuthorizerPayloadFormatVersion: '1.0'
      IdentitySource: [$request.querystring.token]
  Fn:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Http
      IntegrationType: AWS_PROXY
      IntegrationUri: !GetAtt Hello.Arn
      PayloadFormatVersion: '2.0'
  GetPet:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Http
      RouteKey: GET /pets/{id}
      AuthorizationType: JWT
      AuthorizerId: !Ref Jwt
      AuthorizationScopes: [read]
      Target: !Sub integrations/${Fn}
  Admin:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Http
      RouteKey: GET /admin
      AuthorizationType: JWT
      AuthorizerId: !Ref Jwt
      AuthorizationScopes: [admin]
      Target: !Sub integrations/${Fn}
  Guarded:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Http
      RouteKey: GET /guarded
      AuthorizationType: CUSTOM
      AuthorizerId: !GetAtt Tokens.AuthorizerId
      Target: !Sub integrations/${Fn}
  Proxy:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Http
      IntegrationType: HTTP_PROXY
      IntegrationMethod: GET
      IntegrationUri: BACKEND/echo
      TimeoutInMillis: 5000
      RequestParameters:
        append:header.X-From: $request.header.X-Caller
      ResponseParameters:
        "200":
          ResponseParameters:
            - Destination: overwrite:header.X-Served
              Source: portico
  Proxied:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Http
      RouteKey: GET /proxied
      Target: !Sub integrations/${Proxy}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Http
      StageName: $default
      AutoDeploy: true
  Deployment:
    Type: AWS::ApiGatewayV2::Deployment
    Properties:
      ApiId: !Ref Http
`

// TestDeployHTTPAPIOfV2Resources deploys an HTTP API of AWS::ApiGatewayV2
// resources with `portico deploy` (before, ProtocolType HTTP was refused)
// and calls it with a real HTTP client: the JWT route refuses a missing
// token and a token of another audience with 401 and a token without the
// route's scope with 403, and admits a good one; the Lambda REQUEST
// authorizer refuses a request without its identity source with 401 and
// admits the right token; a CORS preflight is answered; an HTTP_PROXY
// route's parameter mappings reach the backend's request and its answer. A redeploy that
// changes a route's scope and drops a route applies both, one the gateway
// would refuse changes nothing, and DisableExecuteApiEndpoint turns the
// default endpoint off.
func TestDeployHTTPAPIOfV2Resources(t *testing.T) {
	is, err := upgradetest.NewIssuer("127.0.0.1:0", "pets")
	if err != nil {
		t.Fatal(err)
	}
	stop, err := is.Serve()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	env := apptest.Start(t, apptest.Options{JWKSTransport: is.Transport()})
	dir := t.TempDir()
	writeBootstraps(t, dir, map[string]string{
		"hello":   apptest.Sample(t, "hello"),
		"wsauthz": apptest.Program(t, "./cmd/portico/testdata/wsauthz"),
	})
	backend := httpBackend(t)
	text := strings.ReplaceAll(strings.ReplaceAll(httpV2Template, "ISSUER", is.URL()), "BACKEND", backend)
	path := filepath.Join(dir, "template.yaml")
	writeFile(t, path, []byte(text), 0o600)
	cliCombined(t, env, "deploy", "--template", path, "--stack", "pets")
	api := stackRecord(t, env, "pets").Resources["Http"].PhysicalID
	base := env.GatewayURL + "/" + api

	good, err := is.Token(time.Now(), "u1") // scope read, audience pets
	if err != nil {
		t.Fatal(err)
	}
	other := *is
	other.Audience = "cats"
	wrongAudience, err := other.Token(time.Now(), "u1")
	if err != nil {
		t.Fatal(err)
	}
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	for _, c := range []struct {
		name, method, url string
		header            map[string]string
		want              int
	}{
		{"no token", http.MethodGet, base + "/pets/1", nil, http.StatusUnauthorized},
		{"wrong audience", http.MethodGet, base + "/pets/1", bearer(wrongAudience), http.StatusUnauthorized},
		{"good token", http.MethodGet, base + "/pets/1", bearer(good), http.StatusOK},
		{"scope missing", http.MethodGet, base + "/admin", bearer(good), http.StatusForbidden},
		{"lambda authorizer without its source", http.MethodGet, base + "/guarded", nil, http.StatusUnauthorized},
		{"lambda authorizer admits", http.MethodGet, base + "/guarded?token=letmein", nil, http.StatusOK},
	} {
		if status, body := gatewayCall(t, c.method, c.url, "", c.header); status != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, status, body, c.want)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/proxied", nil)
	req.Header.Set("X-Caller", "carol")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "GET /echo from carol" || resp.Header.Get("X-Served") != "portico" {
		t.Errorf("HTTP_PROXY route: %d %q, X-Served %q; want 200 %q and X-Served portico", resp.StatusCode, body, resp.Header.Get("X-Served"), "GET /echo from carol")
	}
	req, _ = http.NewRequest(http.MethodOptions, base+"/pets/1", nil)
	req.Header.Set("Origin", "https://example.com")
	req.Header.Set("Access-Control-Request-Method", "GET")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 || resp.Header.Get("Access-Control-Allow-Origin") != "https://example.com" {
		t.Errorf("CORS preflight: %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	var a apis.API
	adminJSON(t, env, "/portico/v1/apis/"+api, &a)
	if a.Protocol != apis.ProtocolHTTP || a.Name != "pets" || a.Tags["team"] != "pets" {
		t.Errorf("api %s %s tags %v", a.Protocol, a.Name, a.Tags)
	}

	// The scope of GET /pets/{id} becomes write and GET /admin goes; the
	// tags change.
	changed := strings.Replace(dropResources(text, "Admin"), "      AuthorizationScopes: [read]\n", "      AuthorizationScopes: [write]\n", 1)
	changed = strings.Replace(changed, "Tags: {team: pets}", "Tags: {owner: me}", 1)
	writeFile(t, path, []byte(changed), 0o600)
	cliCombined(t, env, "deploy", "--template", path, "--stack", "pets")
	if status, body := gatewayCall(t, http.MethodGet, base+"/pets/1", "", bearer(good)); status != http.StatusForbidden {
		t.Errorf("after the scope became write: %d %s, want 403", status, body)
	}
	if status, body := gatewayCall(t, http.MethodGet, base+"/admin", "", bearer(good)); status != http.StatusNotFound {
		t.Errorf("the dropped route: %d %s, want 404", status, body)
	}
	var retagged apis.API
	adminJSON(t, env, "/portico/v1/apis/"+api, &retagged)
	if len(retagged.Tags) != 1 || retagged.Tags["owner"] != "me" {
		t.Errorf("tags after the redeploy: %v, want owner=me only", retagged.Tags)
	}

	// A template the gateway refuses (a mapping it does not know) fails
	// the deploy, and the API is as it was.
	before, _ := json.Marshal(retagged)
	bad := strings.Replace(changed, "      PayloadFormatVersion: '2.0'\n",
		"      PayloadFormatVersion: '2.0'\n      RequestParameters: {frobnicate:header.x: $request.header.y}\n", 1)
	writeFile(t, path, []byte(bad), 0o600)
	if out, err := cliErr(env, "deploy", "--template", path, "--stack", "pets"); err == nil {
		t.Errorf("a refused mapping deployed:\n%s", out)
	}
	var after apis.API
	adminJSON(t, env, "/portico/v1/apis/"+api, &after)
	if now, _ := json.Marshal(after); string(now) != string(before) {
		t.Errorf("a refused deploy changed the API:\n%s\nwas\n%s", now, before)
	}

	// DisableExecuteApiEndpoint: the default endpoint refuses the API.
	if status, body := gatewayCall(t, http.MethodGet, base+"/proxied", "", nil); status != http.StatusOK {
		t.Fatalf("before DisableExecuteApiEndpoint: %d %s", status, body)
	}
	writeFile(t, path, []byte(strings.Replace(changed, "      ProtocolType: HTTP\n", "      ProtocolType: HTTP\n      DisableExecuteApiEndpoint: true\n", 1)), 0o600)
	cliCombined(t, env, "deploy", "--template", path, "--stack", "pets")
	if status, body := gatewayCall(t, http.MethodGet, base+"/proxied", "", nil); status != http.StatusForbidden {
		t.Errorf("with DisableExecuteApiEndpoint: %d %s, want 403", status, body)
	}
}

// httpBackend serves an HTTP backend on an ephemeral port that
// answers each request with its method, path and X-From header.
func httpBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Method+" "+r.URL.Path+" from "+r.Header.Get("X-From"))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}
