package admin_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	v1types "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
)

// domainClients starts a server with a development CA and returns the
// apigateway and apigatewayv2 clients of its admin API, the CA and the API
// service.
func domainClients(t *testing.T) (*apigateway.Client, *apigatewayv2.Client, *edge.DevCA, *apis.Service, string) {
	t.Helper()
	dir := t.TempDir()
	if _, err := edge.InitDevCA(edge.DevCADir(dir), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	ca, err := edge.LoadDevCA(edge.DevCADir(dir), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var svc *apis.Service
	env := apptest.Start(t, apptest.Options{DataDir: dir, Populate: []any{&svc},
		Settings: func(s *app.Settings) { s.TLSListen = "127.0.0.1:0" }})
	creds := credentials.NewStaticCredentialsProvider("portico", "secret", "")
	v1 := apigateway.New(apigateway.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", Credentials: creds, RetryMaxAttempts: 1})
	v2 := apigatewayv2.New(apigatewayv2.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", Credentials: creds, RetryMaxAttempts: 1})
	return v1, v2, ca, svc, dir
}

// badRequest fails the test unless err is a BadRequestException whose
// message says contains, and does not end in Go's ": invalid parameter".
func badRequest(t *testing.T, what string, err error, contains string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" || !strings.Contains(ae.ErrorMessage(), contains) {
		t.Errorf("%s: %v, want BadRequestException saying %q", what, err, contains)
		return
	}
	if strings.Contains(ae.ErrorMessage(), "invalid parameter") {
		t.Errorf("%s: the message ends in Go's error kind: %q", what, ae.ErrorMessage())
	}
}

// TestDomainNamesThatShadowTheGatewayAreRefused: IP literals and names under
// the gateway's own domain ({apiId}.execute-api.localhost) would take the
// gateway's path-style and execute-api requests; both control planes refuse
// them, saying why.
func TestDomainNamesThatShadowTheGatewayAreRefused(t *testing.T) {
	t.Parallel()
	v1, v2, _, _, _ := domainClients(t)
	ctx := context.Background()
	for name, says := range map[string]string{
		"127.0.0.1":                        "IP address",
		"10.0.0.300":                       "IP address",
		"*.execute-api.localhost":          "execute-api",
		"abcdefghij.execute-api.localhost": "execute-api",
		"execute-api.localhost":            "execute-api",
		"x.y.execute-api.localhost.":       "execute-api",
	} {
		_, err := v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String(name)})
		badRequest(t, "v1 "+name, err, says)
		_, err = v2.CreateDomainName(ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String(name)})
		badRequest(t, "v2 "+name, err, says)
	}
	if ds, err := v2.GetDomainNames(ctx, &apigatewayv2.GetDomainNamesInput{}); err != nil || len(ds.Items) != 0 {
		t.Errorf("refused names were stored: %+v %v", ds, err)
	}
	if _, err := v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("api.execute-api.example.com")}); err != nil {
		t.Errorf("a name outside the gateway's domain: %v", err)
	}
}

// TestCertificateChainIsChecked: a certificateChain that is not PEM
// certificates, or whose certificates do not chain to the leaf, is refused
// rather than dropped or served.
func TestCertificateChainIsChecked(t *testing.T) {
	t.Parallel()
	v1, v2, ca, _, dir := domainClients(t)
	ctx := context.Background()
	leafPEM, keyPEM, err := ca.Issue([]string{"chain.example.com"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := pem.Decode(leafPEM)
	leafOnly := string(pem.EncodeToMemory(leaf))
	other, err := edge.NewDevCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for what, chain := range map[string]string{
		"garbage":                   "garbage",
		"a private key":             string(keyPEM),
		"an unrelated CA":           string(other.CertPEM),
		"the right CA then garbage": string(ca.CertPEM) + "garbage\n",
	} {
		_, err := v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("chain.example.com"),
			CertificateBody: aws.String(leafOnly), CertificatePrivateKey: aws.String(string(keyPEM)), CertificateChain: aws.String(chain)})
		badRequest(t, what, err, "certificate")
	}
	// A certificate file whose chain is not the leaf's.
	certFile, keyFile := filepath.Join(dir, "chain.pem"), filepath.Join(dir, "chain-key.pem")
	if err := os.WriteFile(certFile, []byte(leafOnly+string(other.CertPEM)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = v2.CreateDomainName(ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String("chain.example.com"),
		DomainNameConfigurations: []v2types.DomainNameConfiguration{{CertificateArn: aws.String("file://" + certFile + "?key=" + keyFile)}}})
	badRequest(t, "v2 file chain", err, "not signed by")

	_, err = v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("chain.example.com"),
		CertificateChain: aws.String(string(ca.CertPEM))})
	badRequest(t, "a chain without its leaf", err, "certificateBody")

	// The right chain is taken and served.
	if _, err := v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("chain.example.com"),
		CertificateBody: aws.String(leafOnly), CertificatePrivateKey: aws.String(string(keyPEM)), CertificateChain: aws.String(string(ca.CertPEM))}); err != nil {
		t.Fatalf("the leaf's own chain: %v", err)
	}
}

// TestDomainListsArePaged: domain names, base path mappings and API mappings
// page as /restapis and /v2/apis do.
func TestDomainListsArePaged(t *testing.T) {
	t.Parallel()
	v1, v2, _, svc, _ := domainClients(t)
	ctx := context.Background()
	for _, n := range []string{"a.example.com", "b.example.com", "c.example.com"} {
		if _, err := v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	var pos *string
	for range 3 {
		page, err := v1.GetDomainNames(ctx, &apigateway.GetDomainNamesInput{Limit: aws.Int32(2), Position: pos})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) > 2 {
			t.Fatalf("limit 2 gave %d", len(page.Items))
		}
		for _, d := range page.Items {
			names = append(names, aws.ToString(d.DomainName))
		}
		if pos = page.Position; pos == nil {
			break
		}
	}
	if strings.Join(names, " ") != "a.example.com b.example.com c.example.com" {
		t.Errorf("v1 pages: %v", names)
	}
	names = nil
	var tok *string
	for range 3 {
		page, err := v2.GetDomainNames(ctx, &apigatewayv2.GetDomainNamesInput{MaxResults: aws.String("2"), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) > 2 {
			t.Fatalf("maxResults 2 gave %d", len(page.Items))
		}
		for _, d := range page.Items {
			names = append(names, aws.ToString(d.DomainName))
		}
		if tok = page.NextToken; tok == nil {
			break
		}
	}
	if strings.Join(names, " ") != "a.example.com b.example.com c.example.com" {
		t.Errorf("v2 pages: %v", names)
	}

	a, err := svc.Create(ctx, mockAPI(apis.ProtocolREST, `{}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Deploy(ctx, a.ID, apis.DeployInput{StageName: "prod"}); err != nil {
		t.Fatal(err)
	}
	for _, bp := range []string{"v1", "v2", "v3"} {
		if _, err := v1.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String("a.example.com"), BasePath: aws.String(bp), RestApiId: aws.String(a.ID), Stage: aws.String("prod")}); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	pos = nil
	for range 4 {
		page, err := v1.GetBasePathMappings(ctx, &apigateway.GetBasePathMappingsInput{DomainName: aws.String("a.example.com"), Limit: aws.Int32(1), Position: pos})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Items {
			keys = append(keys, aws.ToString(m.BasePath))
		}
		if pos = page.Position; pos == nil {
			break
		}
	}
	if strings.Join(keys, " ") != "v1 v2 v3" {
		t.Errorf("base path mapping pages: %v", keys)
	}
	keys, tok = nil, nil
	for range 4 {
		page, err := v2.GetApiMappings(ctx, &apigatewayv2.GetApiMappingsInput{DomainName: aws.String("a.example.com"), MaxResults: aws.String("1"), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Items {
			keys = append(keys, aws.ToString(m.ApiMappingKey))
		}
		if tok = page.NextToken; tok == nil {
			break
		}
	}
	if strings.Join(keys, " ") != "v1 v2 v3" {
		t.Errorf("API mapping pages: %v", keys)
	}
	_, err = v2.GetDomainNames(ctx, &apigatewayv2.GetDomainNamesInput{NextToken: aws.String("bogus")})
	badRequest(t, "a bogus nextToken", err, "nextToken")
}

// TestDomainNameTrailingDotAndBasePaths: a fully qualified name with its
// trailing dot is the same domain everywhere; "." and ".." are no base paths.
func TestDomainNameTrailingDotAndBasePaths(t *testing.T) {
	t.Parallel()
	v1, v2, _, svc, _ := domainClients(t)
	ctx := context.Background()
	d, err := v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("trail.example.com.")})
	if err != nil || aws.ToString(d.DomainName) != "trail.example.com" {
		t.Fatalf("create: %+v %v", d, err)
	}
	if _, err := v1.GetDomainName(ctx, &apigateway.GetDomainNameInput{DomainName: aws.String("trail.example.com.")}); err != nil {
		t.Errorf("v1 get with the dot: %v", err)
	}
	if _, err := v2.GetDomainName(ctx, &apigatewayv2.GetDomainNameInput{DomainName: aws.String("TRAIL.example.com.")}); err != nil {
		t.Errorf("v2 get with the dot: %v", err)
	}
	a, err := svc.Create(ctx, mockAPI(apis.ProtocolREST, `{}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Deploy(ctx, a.ID, apis.DeployInput{StageName: "prod"}); err != nil {
		t.Fatal(err)
	}
	for _, bp := range []string{".", "..", "v1/..", "./v1"} {
		_, err := v1.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String("trail.example.com."), BasePath: aws.String(bp), RestApiId: aws.String(a.ID), Stage: aws.String("prod")})
		badRequest(t, "base path "+bp, err, "segment")
	}
	m, err := v2.CreateApiMapping(ctx, &apigatewayv2.CreateApiMappingInput{DomainName: aws.String("trail.example.com."), ApiId: aws.String(a.ID), ApiMappingKey: aws.String("/v3"), Stage: aws.String("prod")})
	if err != nil || aws.ToString(m.ApiMappingKey) != "v3" {
		t.Fatalf("mapping /v3: %+v %v", m, err)
	}
	if ms, err := v2.GetApiMappings(ctx, &apigatewayv2.GetApiMappingsInput{DomainName: aws.String("trail.example.com.")}); err != nil || len(ms.Items) != 1 {
		t.Errorf("mappings with the dot: %+v %v", ms, err)
	}
	if _, err := v1.DeleteBasePathMapping(ctx, &apigateway.DeleteBasePathMappingInput{DomainName: aws.String("trail.example.com."), BasePath: aws.String("v3")}); err != nil {
		t.Errorf("unmap with the dot: %v", err)
	}
	if _, err := v1.DeleteDomainName(ctx, &apigateway.DeleteDomainNameInput{DomainName: aws.String("trail.example.com.")}); err != nil {
		t.Errorf("delete with the dot: %v", err)
	}
}

// TestDomainCertificateMessages: what is wrong with a certificate, key or
// truststore is said plainly.
func TestDomainCertificateMessages(t *testing.T) {
	t.Parallel()
	v1, v2, ca, _, _ := domainClients(t)
	ctx := context.Background()
	certPEM, _, err := ca.Issue([]string{"msg.example.com"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// What `openssl pkcs8 -topk8` writes with a passphrase: the block's
	// type is what matters here.
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der})
	_, err = v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("msg.example.com"),
		CertificateBody: aws.String(string(certPEM)), CertificatePrivateKey: aws.String(string(encrypted))})
	badRequest(t, "an encrypted key", err, "openssl pkey")
	_, err = v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("msg.example.com"),
		CertificateBody: aws.String(string(certPEM)), CertificatePrivateKey: aws.String("nothing")})
	badRequest(t, "no key", err, "the private key of msg.example.com: no PEM private key")
	_, err = v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("msg.example.com"),
		MutualTlsAuthentication: &v1types.MutualTlsAuthenticationInput{TruststoreUri: aws.String("https://example.com/ca.pem")}})
	badRequest(t, "an https truststore", err, "file://")
	_, err = v2.CreateDomainName(ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String("a b.example.com")})
	badRequest(t, "a bad name", err, "DNS label")
}
