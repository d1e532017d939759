package admin_test

import (
	"context"
	"errors"
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
	certPEM, keyPEM, err := ca.Issue([]string{"pem.example.com"}, time.Now())
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
}
