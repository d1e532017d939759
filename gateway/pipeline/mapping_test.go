package pipeline

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/mapping"
)

func mappingTestContext() *Context {
	return &Context{RequestID: "r-1", ExtendedRequestID: "x-1", RequestTime: time.Date(2026, 11, 30, 23, 5, 9, 0, time.UTC),
		APIID: "a1", Stage: "prod", Protocol: "REST", DeploymentID: "d1", DomainName: "a1.example", DomainPrefix: "a1",
		HTTPMethod: "POST", Path: "/pets/7", StagePrefix: "/prod", RouteKey: "POST /pets/{id}", ResourcePath: "/pets/{id}",
		Identity:   Identity{SourceIP: "1.2.3.4", UserAgent: "curl/8", APIKey: "k", APIKeyID: "kid", AccountID: "123"},
		Authorizer: Authorizer{PrincipalID: "u1", Context: map[string]any{"z": "last", "a": int64(1), "m": true, "claims": map[string]any{"sub": "u1"}}},
		Error:      Error0(),
	}
}

// Error0 is an error being answered, with characters JSON escapes.
func Error0() ErrorInfo {
	return ErrorInfo{Message: `bad "thing"`, ResponseType: "BAD_REQUEST_BODY", ValidationErrorString: "v"}
}

// $context holds the request's values, in AWS's key order, with the override
// maps first; the authorizer's context keys are sorted.
func TestMappingContext(t *testing.T) {
	tm, err := mapping.Parse("t", `$context.keySet()
$context.identity.keySet() $context.identity.sourceIp $context.identity.userAgent $context.identity.apiKeyId $context.identity.caller|
$context.authorizer $context.authorizer.claims.sub $context.authorizer.a
$context.error.message $context.error.messageString $context.error.responseType $context.error.validationErrorString
$context.requestTime $context.requestTimeEpoch $context.path $context.isCanaryRequest $context.httpMethod $context.routeKey`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tm.RenderString(context.Background(), &mapping.Vars{Context: mappingTestContext().MappingContext()})
	if err != nil {
		t.Fatal(err)
	}
	want := `[requestOverride, responseOverride, accountId, apiId, deploymentId, domainName, domainPrefix, extendedRequestId, httpMethod, path, protocol, requestId, requestTime, requestTimeEpoch, resourcePath, routeKey, stage, identity, error]
[sourceIp, userAgent, apiKey, apiKeyId, accessKey, caller, user, userArn, accountId, cognitoAuthenticationProvider, cognitoAuthenticationType, cognitoIdentityId, cognitoIdentityPoolId, principalOrgId, vpcId, vpceId] 1.2.3.4 curl/8 kid |
{principalId=u1, a=1, claims={sub=u1}, m=true, z=last} u1 1
bad "thing" "bad \"thing\"" BAD_REQUEST_BODY v
30/Nov/2026:23:05:09 +0000 1796079909000 /prod/pets/7 false POST POST /pets/{id}`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestMappingContextUnsetKeys: every documented $context.identity key, and
// $context.authorizer.principalId without an authorizer, renders as "" (as
// the console's "Method Request passthrough" template shows them on API
// Gateway); the Cognito and VPC keys used to render as their own text.
func TestMappingContextUnsetKeys(t *testing.T) {
	keys := []string{"identity.accountId", "identity.apiKey", "identity.apiKeyId", "identity.caller",
		"identity.cognitoAuthenticationProvider", "identity.cognitoAuthenticationType", "identity.cognitoIdentityId",
		"identity.cognitoIdentityPoolId", "identity.principalOrgId", "identity.sourceIp", "identity.user",
		"identity.userAgent", "identity.userArn", "identity.vpcId", "identity.vpceId", "identity.accessKey",
		"authorizer.principalId",
		// Without mutual TLS and without an authorizer's claims: "" too,
		// not the reference's text.
		"identity.clientCert", "identity.clientCert.subjectDN", "identity.clientCert.issuerDN",
		"identity.clientCert.serialNumber", "identity.clientCert.clientCertPem",
		"identity.clientCert.validity.notBefore", "identity.clientCert.validity.notAfter",
		"authorizer.claims", "authorizer.claims.sub", "authorizer.claims.email", "authorizer.someContextKey"}
	var src, want string
	for _, k := range keys {
		src += `"` + k + `": "$context.` + k + `",`
		want += `"` + k + `": "",`
	}
	tm, err := mapping.Parse("t", src)
	if err != nil {
		t.Fatal(err)
	}
	c := &Context{RequestTime: time.Date(2026, 11, 30, 23, 5, 9, 0, time.UTC)}
	got, err := tm.RenderString(context.Background(), &mapping.Vars{Context: c.MappingContext()})
	if err != nil || got != want {
		t.Errorf("got\n%s, %v\nwant\n%s", got, err, want)
	}
}

func BenchmarkMappingContext(b *testing.B) {
	c := mappingTestContext()
	b.ReportAllocs()
	for b.Loop() {
		c.MappingContext()
	}
}

// clientCertState is the state of a mutual TLS connection whose client
// certificate (serial 1, CN=My Client) was verified against a CA.
func clientCertState(t *testing.T) *tls.ConnectionState {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{Organization: []string{"Example"}, CommonName: "My CA"},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		NotBefore: time.Date(2020, 8, 5, 9, 36, 4, 0, time.UTC), NotAfter: time.Date(2120, 8, 5, 9, 36, 4, 0, time.UTC)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{Organization: []string{"Example"}, CommonName: "My Client"},
		NotBefore: time.Date(2021, 8, 5, 9, 36, 4, 0, time.UTC), NotAfter: time.Date(2121, 8, 5, 9, 36, 4, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}, VerifiedChains: [][]*x509.Certificate{{leaf, ca}}}
}

// $context.identity.clientCert describes a mutual TLS connection's client
// certificate, as API Gateway's mapping templates see it; without one it is
// not there.
func TestMappingContextClientCert(t *testing.T) {
	tm, err := mapping.Parse("t", `$context.identity.clientCert.subjectDN|$context.identity.clientCert.issuerDN|$context.identity.clientCert.serialNumber|$context.identity.clientCert.validity.notBefore|$context.identity.clientCert.validity.notAfter|$context.identity.clientCert.clientCertPem.startsWith("-----BEGIN CERTIFICATE-----")|$context.identity.clientCert.keySet()`)
	if err != nil {
		t.Fatal(err)
	}
	c := mappingTestContext()
	c.Identity.TLS = clientCertState(t)
	got, err := tm.RenderString(context.Background(), &mapping.Vars{Context: c.MappingContext()})
	if err != nil {
		t.Fatal(err)
	}
	want := `O=Example,CN=My Client|O=Example,CN=My CA|1|Aug  5 09:36:04 2021 GMT|Aug  5 09:36:04 2121 GMT|true|[clientCertPem, subjectDN, issuerDN, serialNumber, validity]`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	c = mappingTestContext()
	c.Identity.TLS = &tls.ConnectionState{} // TLS without a client certificate
	ctx := c.MappingContext()
	if v, ok := ctx.GetPath("identity.clientCert"); ok {
		t.Errorf("identity.clientCert without a client certificate: %v", v)
	}
}
