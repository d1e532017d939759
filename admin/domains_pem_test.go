package admin_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	v1types "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/smithy-go"
)

// TestPEMInAnARNFieldIsNotEchoed: a private key (or a certificate) pasted
// into a certificate ARN or a truststoreUri, on create (v1 and v2) and on
// update, is refused saying what it looks like and what to give instead,
// without repeating the key in the answer.
func TestPEMInAnARNFieldIsNotEchoed(t *testing.T) {
	t.Parallel()
	v1, v2, ca, _, _ := domainClients(t)
	ctx := context.Background()
	certPEM, keyPEM, err := ca.Issue([]string{"pem.example.com", "file.pem.example.com"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, cert := string(keyPEM), string(certPEM)
	if _, err := v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("pem.example.com"),
		CertificateBody: aws.String(cert), CertificatePrivateKey: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
	refused := func(what string, err error, secret, says string) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" {
			t.Fatalf("%s: %v, want BadRequestException", what, err)
		}
		msg := ae.ErrorMessage()
		if strings.Contains(msg, "BEGIN") || strings.Contains(msg, strings.Split(secret, "\n")[1]) {
			t.Errorf("%s: the answer repeats the PEM: %q", what, msg)
		}
		if !strings.Contains(msg, says) || !strings.Contains(msg, "file:///") {
			t.Errorf("%s: %q, want it to say %q and what to give instead", what, msg, says)
		}
	}
	_, err = v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("k1.example.com"), RegionalCertificateArn: aws.String(key)})
	refused("v1 create, regionalCertificateArn", err, key, "regionalCertificateArn holds what looks like a PEM private key")
	_, err = v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("k1.example.com"), CertificateArn: aws.String(cert)})
	refused("v1 create, certificateArn", err, cert, "certificateArn holds a PEM block")
	_, err = v2.CreateDomainName(ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String("k2.example.com"),
		DomainNameConfigurations: []v2types.DomainNameConfiguration{{CertificateArn: aws.String(key)}}})
	refused("v2 create, certificateArn", err, key, "certificateArn holds what looks like a PEM private key")
	_, err = v1.UpdateDomainName(ctx, &apigateway.UpdateDomainNameInput{DomainName: aws.String("pem.example.com"),
		PatchOperations: []v1types.PatchOperation{{Op: v1types.OpReplace, Path: aws.String("/regionalCertificateArn"), Value: aws.String(key)}}})
	refused("v1 update, regionalCertificateArn", err, key, "regionalCertificateArn holds what looks like a PEM private key")
	_, err = v2.UpdateDomainName(ctx, &apigatewayv2.UpdateDomainNameInput{DomainName: aws.String("pem.example.com"),
		DomainNameConfigurations: []v2types.DomainNameConfiguration{{CertificateArn: aws.String(key)}}})
	refused("v2 update, certificateArn", err, key, "certificateArn holds what looks like a PEM private key")
	_, err = v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("k3.example.com"),
		MutualTlsAuthentication: &v1types.MutualTlsAuthenticationInput{TruststoreUri: aws.String(cert)}})
	refused("v1 create, truststoreUri", err, cert, "truststoreUri holds a PEM block")
	_, err = v2.UpdateDomainName(ctx, &apigatewayv2.UpdateDomainNameInput{DomainName: aws.String("pem.example.com"),
		MutualTlsAuthentication: &v2types.MutualTlsAuthenticationInput{TruststoreUri: aws.String(key)}})
	refused("v2 update, truststoreUri", err, key, "truststoreUri holds what looks like a PEM private key")

	// A private key, or a block of another kind, beside the certificate in
	// certificateBody is refused (not dropped, and the key never stored as
	// part of the certificate). A certificate file may hold its own key, as
	// combined PEM files do, but no other kind of block.
	refusedBlock := func(what string, err error, secret, says string) {
		t.Helper()
		badRequest(t, what, err, says)
		if err != nil && (strings.Contains(err.Error(), "BEGIN") || strings.Contains(err.Error(), strings.Split(secret, "\n")[1])) {
			t.Errorf("%s: the answer repeats the key: %v", what, err)
		}
	}

	// Nor is a key pasted into any other field repeated.
	const withheld = "(what looks like a PEM private key, not repeated here)"
	_, err = v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String(key)})
	refusedBlock("v1 create, domainName", err, key, "domain name "+withheld)
	_, err = v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("k4.example.com"),
		SecurityPolicy: v1types.SecurityPolicy(key)})
	refusedBlock("v1 create, securityPolicy", err, key, "securityPolicy "+withheld)
	_, err = v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("k4.example.com"),
		EndpointConfiguration: &v1types.EndpointConfiguration{Types: []v1types.EndpointType{v1types.EndpointType(key)}}})
	refusedBlock("v1 create, endpoint type", err, key, "endpoint type "+withheld)
	_, err = v1.UpdateDomainName(ctx, &apigateway.UpdateDomainNameInput{DomainName: aws.String("pem.example.com"),
		PatchOperations: []v1types.PatchOperation{{Op: v1types.OpReplace, Path: aws.String(key), Value: aws.String("x")}}})
	refusedBlock("v1 update, patch path", err, key, "Invalid patch path '"+withheld+"'")
	_, err = v1.UpdateDomainName(ctx, &apigateway.UpdateDomainNameInput{DomainName: aws.String("pem.example.com"),
		PatchOperations: []v1types.PatchOperation{{Op: v1types.Op(key), Path: aws.String("/securityPolicy"), Value: aws.String("x")}}})
	refusedBlock("v1 update, patch op", err, key, "Invalid patch operation '"+withheld+"'")
	foo := "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n"
	for _, body := range []string{cert + key, key + cert} {
		_, err = v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("pem.example.com"),
			CertificateBody: aws.String(body), CertificatePrivateKey: aws.String(key)})
		refusedBlock("v1 create, key in certificateBody", err, key, "is a PRIVATE KEY, not a CERTIFICATE: give the certificate, then its chain (the private key goes in its own field)")
	}
	_, err = v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("pem.example.com"),
		CertificateBody: aws.String(cert + foo), CertificatePrivateKey: aws.String(key)})
	refusedBlock("v1 create, FOO in certificateBody", err, key, "certificateBody: block 3 is a FOO, not a CERTIFICATE")
	dir := t.TempDir()
	combined, withFoo := filepath.Join(dir, "combined.pem"), filepath.Join(dir, "foo.pem")
	if err := os.WriteFile(combined, []byte(cert+key), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(withFoo, []byte(cert+foo), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = v2.CreateDomainName(ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String("pem.example.com"),
		DomainNameConfigurations: []v2types.DomainNameConfiguration{{CertificateArn: aws.String("file://" + withFoo + "?key=" + combined)}}})
	refusedBlock("v2 create, FOO in the certificate file", err, key, "block 3 is a FOO, not a CERTIFICATE: give the certificate, then its chain (and its private key, if you like)")
	if _, err := v2.CreateDomainName(ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String("file.pem.example.com"),
		DomainNameConfigurations: []v2types.DomainNameConfiguration{{CertificateArn: aws.String("file://" + combined + "?key=" + combined)}}}); err != nil {
		t.Errorf("v2 create, certificate and key in one file: %v", err)
	}
}
