package main

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/upgradetest"
)

// The features a build may lack, each made only where the build takes it
// (its refusal recorded as skipped): an IAM user whose key signs requests to
// a REST API with AWS_IAM authorization, an HTTP API with a JWT authorizer,
// a WebSocket API with a $connect authorizer, a custom domain served over
// HTTPS with a certificate of the development CA, and provisioned
// concurrency.

const (
	secureDomain = "secure.upgrade.test"
	// fixtureImage is the Image function's image, built for the fixture
	// and removed after: the store keeps its reference and id only.
	fixtureImage = "portico-upgrade-fixture/img:1"
)

// imageFunction makes Image function img (version 1 published) with the old
// build on the docker runtime, where Docker answers and the build has that
// runtime, then stops it: the process runtime that serves the rest cannot
// make one, and reads it back from the store without Docker.
func (m *maker) imageFunction(ctx context.Context, tmp, bin, data, tlsListen string) error {
	if _, err := output(ctx, tmp, "docker", "info"); err != nil {
		m.skip(fmt.Errorf("an Image function: no Docker daemon: %w", err))
		return nil
	}
	dir := filepath.Join(tmp, "image")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), bootstrap, 0o755); err != nil { //nolint:gosec // G306: the image's entrypoint
		return err
	}
	df := "FROM scratch\nCOPY bootstrap /var/task/bootstrap\nENTRYPOINT [\"/var/task/bootstrap\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o600); err != nil {
		return err
	}
	if _, err := output(ctx, dir, "docker", "build", "-q", "-t", fixtureImage, "."); err != nil {
		m.skip(fmt.Errorf("an Image function: %w", err))
		return nil
	}
	defer func() { _, _ = output(context.Background(), dir, "docker", "rmi", "-f", fixtureImage) }()
	srv, err := start(ctx, bin, data, filepath.Join(tmp, "serve-docker.log"), tlsListen, "docker")
	if err != nil {
		m.skip(fmt.Errorf("an Image function: the build on the docker runtime: %w", err))
		return nil
	}
	ok := m.optional("POST", "/2015-03-31/functions", map[string]any{"FunctionName": "img", "PackageType": "Image",
		"Role": role, "Code": map[string]any{"ImageUri": fixtureImage}, "Description": "upgrade fixture image", "Timeout": 5,
		"Environment": map[string]any{"Variables": map[string]string{"GREETING": "from an image"}}}, nil) &&
		m.optional("POST", "/2015-03-31/functions/img/versions", map[string]any{"Description": "first"}, nil)
	if err := stop(srv); err != nil {
		return fmt.Errorf("the build on the docker runtime: %w", err)
	}
	m.imageFn = ok
	return nil
}

// iamCall sends one IAM query-protocol action to the admin API and returns
// its XML answer; an answer other than 200 is an error.
func (m *maker) iamCall(action string, params ...string) (string, error) {
	f := url.Values{"Action": {action}, "Version": {"2010-05-08"}}
	for i := 0; i+1 < len(params); i += 2 {
		f.Set(params[i], params[i+1])
	}
	req, err := http.NewRequestWithContext(m.ctx, http.MethodPost, m.admin+"/", strings.NewReader(f.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	resp, err := m.c.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("IAM %s: %d %s", action, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	return string(raw), nil
}

func (m *maker) skip(err error) {
	m.g.Skipped = append(m.g.Skipped, err.Error())
	fmt.Fprintln(os.Stderr, "skipped:", err)
}

// iam makes user fixture with an access key allowed to invoke everything,
// and a REST API whose GET /who needs a SigV4 signature.
func (m *maker) iam() {
	if _, err := m.iamCall("CreateUser", "UserName", "fixture"); err != nil {
		m.skip(err)
		return
	}
	raw, err := m.iamCall("CreateAccessKey", "UserName", "fixture")
	if err != nil {
		m.skip(err)
		return
	}
	var key struct {
		ID     string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
		Secret string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
	}
	if err := xml.Unmarshal([]byte(raw), &key); err != nil || key.ID == "" {
		m.skip(fmt.Errorf("CreateAccessKey answered %s: %w", raw, err))
		return
	}
	if _, err := m.iamCall("PutUserPolicy", "UserName", "fixture", "PolicyName", "invoke", "PolicyDocument",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`); err != nil {
		m.skip(err)
		return
	}
	var api struct {
		ID string `json:"id"`
	}
	if !m.optional("POST", "/portico/v1/apis", map[string]any{"name": "signed", "protocol": "REST",
		"authorizers": map[string]any{"sigv4": map[string]any{"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"}},
		"routes": []any{map[string]any{"method": "GET", "path": "/who", "security": []any{map[string]any{"sigv4": []any{}}},
			"integration": map[string]any{"type": "MOCK", "requestTemplates": map[string]any{"application/json": `{"statusCode": 200}`},
				"responses": map[string]any{"default": map[string]any{"statusCode": "200",
					"responseTemplates": map[string]any{"application/json": `{"user":"$context.identity.user","arn":"$context.identity.userArn"}`}}}}}},
	}, &api) {
		return
	}
	if !m.optional("POST", "/portico/v1/apis/"+api.ID+"/deployments", map[string]any{"stageName": "prod"}, nil) {
		return
	}
	m.iamAPI = api.ID
	m.g.IAM = &upgradetest.IAMUser{User: "fixture", AccessKeyID: key.ID, SecretAccessKey: key.Secret}
}

// jwt makes an HTTP API whose GET /read needs a token of m.issuer with
// scope read.
func (m *maker) jwt() {
	var api struct {
		ID string `json:"id"`
	}
	if !m.optional("POST", "/portico/v1/apis", map[string]any{"name": "tokens", "protocol": "HTTP",
		"authorizers": map[string]any{"jwt": map[string]any{"type": "oauth2", "x-amazon-apigateway-authorizer": map[string]any{
			"type": "jwt", "identitySource": "$request.header.Authorization",
			"jwtConfiguration": map[string]any{"issuer": m.issuer.URL(), "audience": []string{m.issuer.Audience}}}}},
		"routes": []any{map[string]any{"method": "GET", "path": "/read", "security": []any{map[string]any{"jwt": []any{"read"}}},
			"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:hello:live", "payloadFormatVersion": "2.0"}}},
	}, &api) {
		return
	}
	if !m.optional("POST", "/portico/v1/apis/"+api.ID+"/deployments", map[string]any{"stageName": "prod"}, nil) {
		return
	}
	m.jwtAPI, m.g.JWT = api.ID, m.issuer
}

// guardedWebSocket makes a WebSocket API whose $connect asks the authz
// function about ?token=.
func (m *maker) guardedWebSocket() {
	integ := map[string]any{"type": "AWS_PROXY", "uri": "function:wsfn", "httpMethod": "POST"}
	var api struct {
		ID string `json:"id"`
	}
	if !m.optional("POST", "/portico/v1/apis", map[string]any{"name": "guarded", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action",
		"authorizers": map[string]any{"conn": map[string]any{"type": "apiKey", "name": "Authorization", "in": "header",
			"x-amazon-apigateway-authtype": "custom", "x-amazon-apigateway-authorizer": map[string]any{
				"type": "request", "authorizerUri": "function:authz:live", "identitySource": "route.request.querystring.token"}}},
		"routes": []any{
			map[string]any{"routeKey": "$connect", "security": []any{map[string]any{"conn": []any{}}}, "integration": integ},
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": integ},
		}}, &api) {
		return
	}
	if m.optional("POST", "/portico/v1/apis/"+api.ID+"/deployments", map[string]any{"stageName": "prod"}, nil) {
		m.guardedWS = api.ID
	}
}

// secureDomainName maps a custom domain with no certificate of its own (the
// development CA issues one) to the REST API, on the TLS listener.
func (m *maker) secureDomainName(rest string) {
	if m.g.TLSURL == "" {
		return
	}
	if m.optional("POST", "/domainnames", map[string]any{"domainName": secureDomain}, nil) &&
		m.optional("POST", "/domainnames/"+secureDomain+"/basepathmappings", map[string]any{"restApiId": rest, "stage": "prod", "basePath": "shop"}, nil) {
		m.secureDomain = true
	}
}

// provisionedConcurrency keeps one sandbox of hello:live warm, and waits
// until it is READY.
func (m *maker) provisionedConcurrency() {
	const path = "/2019-09-30/functions/hello/provisioned-concurrency?Qualifier=live"
	if !m.optional("PUT", path, map[string]any{"ProvisionedConcurrentExecutions": 1}, nil) {
		return
	}
	for range 300 {
		var st struct{ Status string }
		if err := m.call("GET", path, nil, &st); err != nil {
			m.skip(err)
			return
		}
		if st.Status == "READY" {
			m.provisioned = true
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	m.skip(fmt.Errorf("provisioned concurrency of hello:live not READY within 30 s"))
}

func (m *maker) optionalRequests() []upgradetest.Exchange {
	var list []upgradetest.Exchange
	if m.iamAPI != "" {
		p := "/" + m.iamAPI + "/prod/who"
		list = append(list,
			upgradetest.Exchange{Name: "iam signed by the fixture user", Method: "GET", Path: p, Auth: "sigv4"},
			upgradetest.Exchange{Name: "iam unsigned", Method: "GET", Path: p})
	}
	if m.jwtAPI != "" {
		p := "/" + m.jwtAPI + "/prod/read"
		list = append(list,
			upgradetest.Exchange{Name: "jwt with a token of the issuer", Method: "GET", Path: p, Auth: "jwt"},
			upgradetest.Exchange{Name: "jwt without a token", Method: "GET", Path: p})
	}
	if m.guardedWS != "" {
		p := "/" + m.guardedWS + "/prod"
		list = append(list,
			upgradetest.Exchange{Name: "websocket $connect authorizer allows", Path: p + "?token=allow", WebSocket: []string{`{"action":"ping"}`}},
			upgradetest.Exchange{Name: "websocket $connect authorizer denies", Path: p + "?token=deny", WebSocket: []string{`{"action":"ping"}`}})
	}
	if m.secureDomain {
		list = append(list, upgradetest.Exchange{Name: "https custom domain (development CA)", Method: "GET", Path: "/shop/mock", Host: secureDomain, TLS: true})
	}
	return list
}

func (m *maker) optionalReadbacks() {
	if m.imageFn {
		m.readback("get-function img", "/2015-03-31/functions/img")
		m.readback("get-function img:1", "/2015-03-31/functions/img?Qualifier=1")
		m.readback("list-versions img", "/2015-03-31/functions/img/versions")
	}
	if m.provisioned {
		m.readback("get-provisioned-concurrency hello:live", "/2019-09-30/functions/hello/provisioned-concurrency?Qualifier=live")
	}
	if m.iamAPI != "" {
		m.readback("api signed", "/portico/v1/apis/"+m.iamAPI)
	}
	for _, a := range []string{m.jwtAPI, m.guardedWS} {
		if a != "" {
			m.readback("v2 get-api "+a, "/v2/apis/"+a)
			m.readback("v2 get-authorizers "+a, "/v2/apis/"+a+"/authorizers")
			m.readback("v2 get-routes "+a, "/v2/apis/"+a+"/routes")
		}
	}
	if m.secureDomain {
		m.readback("get-domain-name "+secureDomain, "/domainnames/"+secureDomain)
		m.readback("get-base-path-mappings "+secureDomain, "/domainnames/"+secureDomain+"/basepathmappings")
	}
}
