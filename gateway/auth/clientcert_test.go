package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// TestRequestAuthorizerEventsCarryTheClientCert: over a mutual TLS connection,
// a REQUEST authorizer's event carries the client certificate (REST:
// requestContext.identity.clientCert; HTTP APIs' payload 2.0:
// requestContext.authentication.clientCert), as API Gateway forwards it to
// Lambda authorizers (aws-lambda-go's apigw-custom-auth-request-type-request.json
// and apigw-v2-custom-authorizer-v2-request.json).
func TestRequestAuthorizerEventsCarryTheClientCert(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	name := func(cn string) pkix.Name {
		return pkix.Name{Country: []string{"US"}, Organization: []string{"Amazon Web Services"}, CommonName: cn}
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: name("My Private CA"), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: name("My Client"), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		NotBefore: time.Date(2020, 8, 29, 0, 28, 21, 0, time.UTC), NotAfter: time.Date(2120, 8, 5, 0, 28, 21, 0, time.UTC)}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	events := make(chan []byte, 2)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &pipeline.Context{APIID: "abcdefghij", Stage: "dev", HTTPMethod: "GET", Path: "/pets", Protocol: apis.ProtocolREST}
		v1, _ := json.Marshal(requestEvent(r, c, "arn"))
		c.Protocol = apis.ProtocolHTTP
		v2, _ := json.Marshal(httpEvent(r, c, &apis.Authorizer{Type: apis.AuthorizerRequest, PayloadFormatVersion: "2.0"}, nil, "arn"))
		events <- v1
		events <- v2
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.StartTLS()
	defer srv.Close()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: key}}
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL + "/pets")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	tr.CloseIdleConnections()

	for _, at := range [][]string{{"identity", "clientCert"}, {"authentication", "clientCert"}} {
		var ev struct {
			RequestContext map[string]json.RawMessage `json:"requestContext"`
		}
		raw := <-events
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		var outer map[string]map[string]any
		_ = json.Unmarshal(ev.RequestContext[at[0]], &outer)
		cc := outer[at[1]]
		for f, want := range map[string]string{
			"subjectDN": "C=US,O=Amazon Web Services,CN=My Client", "issuerDN": "C=US,O=Amazon Web Services,CN=My Private CA", "serialNumber": "1",
		} {
			if cc[f] != want {
				t.Errorf("requestContext.%s.%s.%s = %v, want %q", at[0], at[1], f, cc[f], want)
			}
		}
		if v, _ := cc["validity"].(map[string]any); v["notAfter"] != "Aug  5 00:28:21 2120 GMT" {
			t.Errorf("requestContext.%s.%s.validity = %v", at[0], at[1], cc["validity"])
		}
		if pem, _ := cc["clientCertPem"].(string); len(pem) < 30 || pem[:27] != "-----BEGIN CERTIFICATE-----" {
			t.Errorf("requestContext.%s.%s.clientCertPem = %q", at[0], at[1], pem)
		}
	}
}
