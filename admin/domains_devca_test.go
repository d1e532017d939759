package admin_test

import (
	"context"
	"crypto/tls"
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

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/edge"
)

// TestDevCAMadeWhileServing: a custom domain name without a certificate of
// its own, created before `portico tls init`, is refused (there is no CA to
// sign it); once the CA is made, the running server signs it, no restart
// needed (the failed load was kept: it was refused until a restart).
func TestDevCAMadeWhileServing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The gateway's own certificate comes from --tls-cert, so TLS is on
	// without the development CA.
	own, err := edge.NewDevCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := own.Issue([]string{"localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	files := t.TempDir()
	certFile, keyFile := filepath.Join(files, "cert.pem"), filepath.Join(files, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	env := apptest.Start(t, apptest.Options{DataDir: dir, Settings: func(s *app.Settings) {
		s.TLSListen, s.TLSCert, s.TLSKey = "127.0.0.1:0", certFile, keyFile
	}})
	v2 := apigatewayv2.New(apigatewayv2.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("portico", "secret", ""), RetryMaxAttempts: 1})
	ctx := context.Background()
	in := &apigatewayv2.CreateDomainNameInput{DomainName: aws.String("late.example.com")}
	_, err = v2.CreateDomainName(ctx, in)
	badRequest(t, "before tls init", err, "portico tls init")

	pool := apptest.DevCA(t, dir) // portico tls init, the server running
	if _, err := v2.CreateDomainName(ctx, in); err != nil {
		t.Fatalf("after tls init: %v", err)
	}
	conn, err := tls.Dial("tcp", strings.TrimPrefix(env.TLSURL, "https://"), &tls.Config{ServerName: "late.example.com", RootCAs: pool})
	if err != nil {
		t.Fatalf("handshake for late.example.com: %v", err)
	}
	_ = conn.Close()
}

// TestDomainReadsNotServedOverHTTPSWhileTLSIsOff: a server that started
// without a certificate, its TLS listener off, accepts a domain once `portico
// tls init` made the CA, but serves it over HTTPS only after a restart: the
// domain reads back with a domainNameStatusMessage saying so and what to do
// (v1 and v2), rather than a bare AVAILABLE. Once the listener serves, there is
// no message.
func TestDomainReadsNotServedOverHTTPSWhileTLSIsOff(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := apptest.Start(t, apptest.Options{DataDir: dir, Settings: func(s *app.Settings) { s.TLSListen = "127.0.0.1:0" }})
	creds := credentials.NewStaticCredentialsProvider("portico", "secret", "")
	v1 := apigateway.New(apigateway.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", Credentials: creds, RetryMaxAttempts: 1})
	v2 := apigatewayv2.New(apigatewayv2.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", Credentials: creds, RetryMaxAttempts: 1})
	ctx := context.Background()
	apptest.DevCA(t, dir) // portico tls init, the server running without a certificate
	created, err := v2.CreateDomainName(ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String("d3.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if msg := aws.ToString(created.DomainNameConfigurations[0].DomainNameStatusMessage); !strings.Contains(msg, "not served over HTTPS") || !strings.Contains(msg, "restart") {
		t.Errorf("create-domain-name with the TLS listener off: message %q, want it saying HTTPS is off until a restart", msg)
	}
	d1, err := v1.GetDomainName(ctx, &apigateway.GetDomainNameInput{DomainName: aws.String("d3.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if msg := aws.ToString(d1.DomainNameStatusMessage); !strings.Contains(msg, "not served over HTTPS") || !strings.Contains(msg, "restart") {
		t.Errorf("get-domain-name (v1) with the TLS listener off: %s %q, want a message saying HTTPS is off until a restart", d1.DomainNameStatus, msg)
	}
	// A mutual TLS domain is not reachable at all meanwhile (the plain
	// listener refuses it): the message says so first (r-tls26 #3).
	clientCA, err := edge.NewDevCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	truststore := filepath.Join(dir, "clients-ca.pem")
	if err := os.WriteFile(truststore, clientCA.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	m1, err := v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("m3.example.com"),
		EndpointConfiguration:   &v1types.EndpointConfiguration{Types: []v1types.EndpointType{v1types.EndpointTypeRegional}},
		MutualTlsAuthentication: &v1types.MutualTlsAuthenticationInput{TruststoreUri: aws.String("file://" + truststore)}})
	if err != nil {
		t.Fatal(err)
	}
	if msg := aws.ToString(m1.DomainNameStatusMessage); !strings.HasPrefix(msg, "not reachable at all until the TLS listener is on") || !strings.Contains(msg, "restart") {
		t.Errorf("create-domain-name (v1) with mutual TLS and the TLS listener off: message %q, want it saying first that nothing reaches it", msg)
	}
	m2, err := v2.GetDomainName(ctx, &apigatewayv2.GetDomainNameInput{DomainName: aws.String("m3.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if msg := aws.ToString(m2.DomainNameConfigurations[0].DomainNameStatusMessage); !strings.HasPrefix(msg, "not reachable at all") || strings.Contains(msg, "serves it by Host") {
		t.Errorf("get-domain-name (v2) with mutual TLS and the TLS listener off: message %q", msg)
	}
	env.Restart()
	d2, err := v2.GetDomainName(ctx, &apigatewayv2.GetDomainNameInput{DomainName: aws.String("d3.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if c := d2.DomainNameConfigurations[0]; c.DomainNameStatus != "AVAILABLE" || aws.ToString(c.DomainNameStatusMessage) != "" {
		t.Errorf("after a restart with the certificate: %s %q, want AVAILABLE without a message", c.DomainNameStatus, aws.ToString(c.DomainNameStatusMessage))
	}
}
