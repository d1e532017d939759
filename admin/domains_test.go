package admin_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
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
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
)

func mockAPI(protocol, body string) *apis.API {
	return &apis.API{Name: "m", Protocol: protocol, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/{proxy+}", Integration: &apis.Integration{Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses:        map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": body}}}}},
	}}}
}

// TestDomainNamesThroughTheAWSSDK drives custom domain names with the AWS SDK's
// apigateway (v1) and apigatewayv2 clients, then calls the mapped stages over
// HTTPS.
func TestDomainNamesThroughTheAWSSDK(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := edge.InitDevCA(edge.DevCADir(dir), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	var svc *apis.Service
	var gw *gateway.Server
	env := apptest.Start(t, apptest.Options{DataDir: dir, Populate: []any{&svc, &gw},
		Settings: func(s *app.Settings) { s.TLSListen = "127.0.0.1:0" }})
	ctx := context.Background()
	deploy := func(a *apis.API) string {
		created, err := svc.Create(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.Deploy(ctx, created.ID, apis.DeployInput{StageName: "prod"}); err != nil {
			t.Fatal(err)
		}
		return created.ID
	}
	restID := deploy(mockAPI(apis.ProtocolREST, `{"api":"rest"}`))
	httpID := deploy(mockAPI(apis.ProtocolHTTP, `{"api":"http"}`))

	creds := credentials.NewStaticCredentialsProvider("portico", "secret", "")
	v1 := apigateway.New(apigateway.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", Credentials: creds, RetryMaxAttempts: 1})
	v2 := apigatewayv2.New(apigatewayv2.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", Credentials: creds, RetryMaxAttempts: 1})

	// v1: a domain with its certificate inline, and a base path mapping.
	ca, err := edge.LoadDevCA(edge.DevCADir(dir), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue([]string{"api.example.com"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	d1, err := v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{
		DomainName: aws.String("api.example.com"), CertificateBody: aws.String(string(certPEM)), CertificatePrivateKey: aws.String(string(keyPEM)),
	})
	if err != nil {
		t.Fatal(err)
	}
	// regionalDomainName is what DNS should point at: the gateway's TLS
	// listener's host, not the domain itself.
	if aws.ToString(d1.DomainName) != "api.example.com" || aws.ToString(d1.RegionalDomainName) != "127.0.0.1" {
		t.Errorf("create-domain-name answered %+v, want regionalDomainName 127.0.0.1", d1)
	}
	if _, err := v1.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String("api.example.com"), BasePath: aws.String("v1"), RestApiId: aws.String(restID), Stage: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	bps, err := v1.GetBasePathMappings(ctx, &apigateway.GetBasePathMappingsInput{DomainName: aws.String("api.example.com")})
	if err != nil || len(bps.Items) != 1 || aws.ToString(bps.Items[0].BasePath) != "v1" || aws.ToString(bps.Items[0].RestApiId) != restID {
		t.Fatalf("get-base-path-mappings: %+v %v", bps, err)
	}
	// Bad input comes back as API Gateway's exceptions.
	expectCode := func(err error, code string) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != code {
			t.Errorf("error %v, want %s", err, code)
		}
	}
	_, err = v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("api.example.com")})
	expectCode(err, "ConflictException")
	_, err = v1.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String("api.example.com"), BasePath: aws.String("v1"), RestApiId: aws.String(restID), Stage: aws.String("prod")})
	expectCode(err, "ConflictException")
	_, err = v1.GetDomainName(ctx, &apigateway.GetDomainNameInput{DomainName: aws.String("nope.example.com")})
	expectCode(err, "NotFoundException")
	_, err = v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("x.example.com"), CertificateBody: aws.String("garbage"), CertificatePrivateKey: aws.String("garbage")})
	expectCode(err, "BadRequestException")

	// v2: a domain signed by the development CA and a multi-level API mapping.
	d2, err := v2.CreateDomainName(ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String("shop.example.com"),
		DomainNameConfigurations: []v2types.DomainNameConfiguration{{EndpointType: v2types.EndpointTypeRegional, SecurityPolicy: v2types.SecurityPolicyTls12}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d2.DomainNameConfigurations) != 1 || aws.ToString(d2.DomainNameConfigurations[0].ApiGatewayDomainName) != "127.0.0.1" {
		t.Errorf("create-domain-name (v2) answered %+v, want apiGatewayDomainName 127.0.0.1 (the TLS listener's host)", d2.DomainNameConfigurations)
	}
	m, err := v2.CreateApiMapping(ctx, &apigatewayv2.CreateApiMappingInput{DomainName: aws.String("shop.example.com"), ApiId: aws.String(httpID), ApiMappingKey: aws.String("orders/v2"), Stage: aws.String("prod")})
	if err != nil || aws.ToString(m.ApiMappingId) == "" || aws.ToString(m.ApiMappingKey) != "orders/v2" {
		t.Fatalf("create-api-mapping: %+v %v", m, err)
	}
	ms, err := v2.GetApiMappings(ctx, &apigatewayv2.GetApiMappingsInput{DomainName: aws.String("shop.example.com")})
	if err != nil || len(ms.Items) != 1 {
		t.Fatalf("get-api-mappings: %+v %v", ms, err)
	}
	ds, err := v2.GetDomainNames(ctx, &apigatewayv2.GetDomainNamesInput{})
	if err != nil || len(ds.Items) != 2 {
		t.Fatalf("get-domain-names: %+v %v", ds, err)
	}

	// Both answer over HTTPS at their domain names.
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	addr := gw.TLSAddr()
	c := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
	for u, want := range map[string]string{
		"https://api.example.com/v1/pets":         `{"api":"rest"}`,
		"https://shop.example.com/orders/v2/list": `{"api":"http"}`,
	} {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != want || resp.ProtoMajor != 2 {
			t.Errorf("%s: %d HTTP/%d %s", u, resp.StatusCode, resp.ProtoMajor, b)
		}
	}

	// Mappings and domains survive a restart, and delete.
	env.Restart()
	if _, err := v2.DeleteApiMapping(ctx, &apigatewayv2.DeleteApiMappingInput{DomainName: aws.String("shop.example.com"), ApiMappingId: m.ApiMappingId}); err != nil {
		t.Fatal(err)
	}
	if _, err := v1.DeleteBasePathMapping(ctx, &apigateway.DeleteBasePathMappingInput{DomainName: aws.String("api.example.com"), BasePath: aws.String("v1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := v1.DeleteDomainName(ctx, &apigateway.DeleteDomainNameInput{DomainName: aws.String("api.example.com")}); err != nil {
		t.Fatal(err)
	}
	if _, err := v2.GetDomainName(ctx, &apigatewayv2.GetDomainNameInput{DomainName: aws.String("api.example.com")}); err == nil {
		t.Error("the deleted domain is still there")
	}
}

// TestDomainNameRefusals: what API Gateway refuses, or what Portico could not
// enforce, comes back as BadRequestException and creates nothing: mutual TLS
// declared without a truststore, a truststore version (files have none), mutual
// TLS on an EDGE domain name.
func TestDomainNameRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := edge.InitDevCA(edge.DevCADir(dir), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	var svc *apis.Service
	env := apptest.Start(t, apptest.Options{DataDir: dir, Populate: []any{&svc},
		Settings: func(s *app.Settings) { s.TLSListen = "127.0.0.1:0" }})
	ctx := context.Background()
	creds := credentials.NewStaticCredentialsProvider("portico", "secret", "")
	v1 := apigateway.New(apigateway.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", Credentials: creds, RetryMaxAttempts: 1})
	v2 := apigatewayv2.New(apigatewayv2.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", Credentials: creds, RetryMaxAttempts: 1})
	expectBadRequest := func(what string, err error, contains string) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" || !strings.Contains(ae.ErrorMessage(), contains) {
			t.Errorf("%s: %v, want BadRequestException saying %q", what, err, contains)
		}
	}
	clientCA, err := edge.NewDevCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	truststore := filepath.Join(dir, "clients-ca.pem")
	if err := os.WriteFile(truststore, clientCA.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	uri := "file://" + truststore

	_, err = v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("a.example.com"),
		MutualTlsAuthentication: &v1types.MutualTlsAuthenticationInput{TruststoreUri: aws.String("")}})
	expectBadRequest("v1 mutual TLS without a truststore", err, "truststoreUri")
	_, err = v2.CreateDomainName(ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String("a.example.com"),
		MutualTlsAuthentication: &v2types.MutualTlsAuthenticationInput{}})
	expectBadRequest("v2 mutual TLS without a truststore", err, "truststoreUri")
	_, err = v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("a.example.com"),
		MutualTlsAuthentication: &v1types.MutualTlsAuthenticationInput{TruststoreUri: aws.String(uri), TruststoreVersion: aws.String("3")}})
	expectBadRequest("a truststore version", err, "truststoreVersion")
	_, err = v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("a.example.com"),
		EndpointConfiguration:   &v1types.EndpointConfiguration{Types: []v1types.EndpointType{v1types.EndpointTypeEdge}},
		MutualTlsAuthentication: &v1types.MutualTlsAuthenticationInput{TruststoreUri: aws.String(uri)}})
	expectBadRequest("v1 mutual TLS on an EDGE domain", err, "REGIONAL")
	_, err = v2.CreateDomainName(ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String("a.example.com"),
		DomainNameConfigurations: []v2types.DomainNameConfiguration{{EndpointType: v2types.EndpointTypeEdge}},
		MutualTlsAuthentication:  &v2types.MutualTlsAuthenticationInput{TruststoreUri: aws.String(uri)}})
	expectBadRequest("v2 mutual TLS on an EDGE domain", err, "REGIONAL")
	// Files that are not PEM files of a sane size are refused, not read
	// without end: a device, a bundle over 1 MB.
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, append(append([]byte{}, clientCA.CertPEM...), strings.Repeat("padding\n", 1<<17)...), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"file:///dev/zero", "file://" + big} {
		_, err = v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("a.example.com"),
			MutualTlsAuthentication: &v1types.MutualTlsAuthenticationInput{TruststoreUri: aws.String(bad)}})
		expectBadRequest("truststore "+bad, err, "truststore")
	}
	_, err = v2.CreateDomainName(ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String("a.example.com"),
		DomainNameConfigurations: []v2types.DomainNameConfiguration{{CertificateArn: aws.String("file:///dev/zero?key=/dev/zero")}}})
	expectBadRequest("certificate file:///dev/zero", err, "not a regular file")
	if _, err := v1.GetDomainName(ctx, &apigateway.GetDomainNameInput{DomainName: aws.String("a.example.com")}); err == nil {
		t.Error("a refused create-domain-name left a domain")
	}
	d, err := v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("a.example.com"),
		MutualTlsAuthentication: &v1types.MutualTlsAuthenticationInput{TruststoreUri: aws.String(uri)}})
	if err != nil || d.MutualTlsAuthentication == nil || aws.ToString(d.MutualTlsAuthentication.TruststoreUri) != uri {
		t.Fatalf("a mutual TLS domain: %+v %v", d, err)
	}

	// Updates Portico cannot make are refused in API Gateway's shape, not
	// with a bare 405, and change nothing: not even the operations before
	// the refused one.
	_, err = v1.UpdateDomainName(ctx, &apigateway.UpdateDomainNameInput{DomainName: aws.String("a.example.com"),
		PatchOperations: []v1types.PatchOperation{
			{Op: v1types.OpReplace, Path: aws.String("/mutualTlsAuthentication/truststoreUri"), Value: aws.String("")},
			{Op: v1types.OpReplace, Path: aws.String("/ownershipVerificationCertificateArn"), Value: aws.String("arn:aws:acm:us-east-1:1:certificate/x")}}})
	expectBadRequest("update-domain-name", err, "not supported")
	_, err = v1.UpdateDomainName(ctx, &apigateway.UpdateDomainNameInput{DomainName: aws.String("a.example.com"),
		PatchOperations: []v1types.PatchOperation{{Op: v1types.OpReplace, Path: aws.String("/mutualTlsAuthentication/truststoreUri"), Value: aws.String("file:///nonexistent.pem")}}})
	expectBadRequest("update-domain-name to a missing truststore", err, "truststore")
	_, err = v1.UpdateBasePathMapping(ctx, &apigateway.UpdateBasePathMappingInput{DomainName: aws.String("a.example.com"), BasePath: aws.String("(none)"),
		PatchOperations: []v1types.PatchOperation{{Op: v1types.OpReplace, Path: aws.String("/stage"), Value: aws.String("prod")}}})
	expectBadRequest("update-base-path-mapping", err, "not supported")
	_, err = v2.UpdateDomainName(ctx, &apigatewayv2.UpdateDomainNameInput{DomainName: aws.String("a.example.com"),
		MutualTlsAuthentication:  &v2types.MutualTlsAuthenticationInput{TruststoreUri: aws.String("")},
		DomainNameConfigurations: []v2types.DomainNameConfiguration{{SecurityPolicy: v2types.SecurityPolicyTls10}}})
	expectBadRequest("v2 update-domain-name", err, "TLS_1_2")
	_, err = v2.UpdateDomainName(ctx, &apigatewayv2.UpdateDomainNameInput{DomainName: aws.String("a.example.com"),
		DomainNameConfigurations: []v2types.DomainNameConfiguration{{EndpointType: v2types.EndpointTypeEdge}}})
	expectBadRequest("v2 update-domain-name to EDGE with mutual TLS", err, "REGIONAL")
	_, err = v2.UpdateApiMapping(ctx, &apigatewayv2.UpdateApiMappingInput{DomainName: aws.String("a.example.com"), ApiMappingId: aws.String("abc"), ApiId: aws.String("abcdefghij")})
	expectBadRequest("update-api-mapping", err, "not supported")
	if got, err := v1.GetDomainName(ctx, &apigateway.GetDomainNameInput{DomainName: aws.String("a.example.com")}); err != nil || got.MutualTlsAuthentication == nil {
		t.Errorf("after a refused update the domain keeps mutual TLS: %+v %v", got, err)
	}
}

// TestDeletingAMappedAPIIsRefused: an API that a domain maps cannot be deleted
// until the mapping is, with API Gateway's answers (400 BadRequestException,
// "Deleting RestApi ... failed. Please remove all base path mappings ...").
func TestDeletingAMappedAPIIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := edge.InitDevCA(edge.DevCADir(dir), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	var svc *apis.Service
	env := apptest.Start(t, apptest.Options{DataDir: dir, Populate: []any{&svc},
		Settings: func(s *app.Settings) { s.TLSListen = "127.0.0.1:0" }})
	ctx := context.Background()
	creds := credentials.NewStaticCredentialsProvider("portico", "secret", "")
	v1 := apigateway.New(apigateway.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", Credentials: creds, RetryMaxAttempts: 1})
	v2 := apigatewayv2.New(apigatewayv2.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", Credentials: creds, RetryMaxAttempts: 1})
	expectBadRequest := func(what string, err error, contains string) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" || !strings.Contains(ae.ErrorMessage(), contains) {
			t.Errorf("%s: %v, want BadRequestException saying %q", what, err, contains)
		}
	}
	if _, err := v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("a.example.com")}); err != nil {
		t.Fatal(err)
	}
	deploy := func(a *apis.API) string {
		created, err := svc.Create(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.Deploy(ctx, created.ID, apis.DeployInput{StageName: "prod"}); err != nil {
			t.Fatal(err)
		}
		return created.ID
	}
	restID := deploy(mockAPI(apis.ProtocolREST, `{}`))
	httpID := deploy(mockAPI(apis.ProtocolHTTP, `{}`))
	if _, err := v1.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String("a.example.com"), BasePath: aws.String("r"), RestApiId: aws.String(restID), Stage: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	m, err := v2.CreateApiMapping(ctx, &apigatewayv2.CreateApiMappingInput{DomainName: aws.String("a.example.com"), ApiId: aws.String(httpID), ApiMappingKey: aws.String("h"), Stage: aws.String("prod")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v1.DeleteRestApi(ctx, &apigateway.DeleteRestApiInput{RestApiId: aws.String(restID)})
	expectBadRequest("delete-rest-api of a mapped API", err, "Deleting RestApi "+restID+" failed. Please remove all base path mappings related to the RestApi in your domains: a.example.com")
	_, err = v2.DeleteApi(ctx, &apigatewayv2.DeleteApiInput{ApiId: aws.String(httpID)})
	expectBadRequest("delete-api of a mapped API", err, "Deleting API "+httpID+" failed. Please remove all API mappings for the API from your custom domain names.")
	if _, err := svc.Get(ctx, restID); err != nil {
		t.Errorf("the refused delete removed the REST API: %v", err)
	}
	if _, err := v1.DeleteBasePathMapping(ctx, &apigateway.DeleteBasePathMappingInput{DomainName: aws.String("a.example.com"), BasePath: aws.String("r")}); err != nil {
		t.Fatal(err)
	}
	if _, err := v2.DeleteApiMapping(ctx, &apigatewayv2.DeleteApiMappingInput{DomainName: aws.String("a.example.com"), ApiMappingId: m.ApiMappingId}); err != nil {
		t.Fatal(err)
	}
	if _, err := v1.DeleteRestApi(ctx, &apigateway.DeleteRestApiInput{RestApiId: aws.String(restID)}); err != nil {
		t.Errorf("delete-rest-api once unmapped: %v", err)
	}
	if _, err := v2.DeleteApi(ctx, &apigatewayv2.DeleteApiInput{ApiId: aws.String(httpID)}); err != nil {
		t.Errorf("delete-api once unmapped: %v", err)
	}
}
