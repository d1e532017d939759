package admin_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
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

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/edge"
)

// tlsDomainEnv is a server with a development CA and its TLS listener, and
// the clients a custom domain test needs.
type tlsDomainEnv struct {
	env   *apptest.Env
	v1    *apigateway.Client
	v2    *apigatewayv2.Client
	ca    *edge.DevCA
	files string // a directory for the test's PEM files
}

func startTLSDomains(t *testing.T, populate ...any) *tlsDomainEnv {
	t.Helper()
	dir := t.TempDir()
	if _, err := edge.InitDevCA(edge.DevCADir(dir), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	ca, err := edge.LoadDevCA(edge.DevCADir(dir), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	env := apptest.Start(t, apptest.Options{DataDir: dir, Populate: populate,
		Settings: func(s *app.Settings) { s.TLSListen = "127.0.0.1:0" }})
	creds := credentials.NewStaticCredentialsProvider("portico", "secret", "")
	return &tlsDomainEnv{
		env:   env,
		v1:    apigateway.New(apigateway.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", Credentials: creds, RetryMaxAttempts: 1}),
		v2:    apigatewayv2.New(apigatewayv2.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", Credentials: creds, RetryMaxAttempts: 1}),
		ca:    ca,
		files: t.TempDir(),
	}
}

// write writes a file of the test's and returns its path.
func (e *tlsDomainEnv) write(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(e.files, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// handshake makes a TLS handshake with the TLS listener for server name sni,
// presenting certs; it answers the server's leaf, or the handshake's error.
func (e *tlsDomainEnv) handshake(t *testing.T, sni string, certs ...tls.Certificate) (*x509.Certificate, error) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(e.ca.Cert)
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second},
		Config: &tls.Config{ServerName: sni, RootCAs: pool, Certificates: certs, InsecureSkipVerify: true}} //nolint:gosec // the test reads what is served, expired or not
	conn, err := d.DialContext(t.Context(), "tcp", e.env.TLSURL[len("https://"):])
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	tc := conn.(*tls.Conn)
	// TLS 1.3: the server checks the client's certificate after the client's
	// handshake ends; a read sees its refusal.
	_ = tc.SetReadDeadline(time.Now().Add(2 * time.Second))
	var b [1]byte
	if _, err := tc.Read(b[:]); err != nil {
		if ne := net.Error(nil); !errors.As(err, &ne) || !ne.Timeout() {
			return nil, err
		}
	}
	return tc.ConnectionState().PeerCertificates[0], nil
}

// clientCert issues a client certificate of ca.
func clientCert(t *testing.T, ca *edge.DevCA) tls.Certificate {
	t.Helper()
	c, k, err := ca.IssueClient("alice", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// TestEmptyTruststoreIsRefused: an empty truststore file is refused at
// creation (both control planes) and at an update (a truststoreVersion read
// of a file emptied since, or a new truststoreUri), saying it holds no
// certificate; mutual TLS stays on, and is on after a restart. It was taken
// as "no truststore", which turned mutual TLS off.
func TestEmptyTruststoreIsRefused(t *testing.T) {
	e := startTLSDomains(t)
	ctx := context.Background()
	empty := e.write(t, "empty.pem", nil)
	_, err := e.v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("t6.example.test"),
		MutualTlsAuthentication: &v1types.MutualTlsAuthenticationInput{TruststoreUri: aws.String("file://" + empty)}})
	badRequest(t, "v1 create, an empty truststore", err, "no PEM certificate")
	_, err = e.v2.CreateDomainName(ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String("t6.example.test"),
		MutualTlsAuthentication: &v2types.MutualTlsAuthenticationInput{TruststoreUri: aws.String("file://" + empty)}})
	badRequest(t, "v2 create, an empty truststore", err, "no PEM certificate")
	if _, err := e.v1.GetDomainName(ctx, &apigateway.GetDomainNameInput{DomainName: aws.String("t6.example.test")}); err == nil {
		t.Error("a refused domain was stored")
	}

	const name = "mtls.example.test"
	clients, err := edge.NewDevCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ts := e.write(t, "ts.pem", clients.CertPEM)
	if _, err := e.v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String(name),
		MutualTlsAuthentication: &v1types.MutualTlsAuthenticationInput{TruststoreUri: aws.String("file://" + ts)}}); err != nil {
		t.Fatal(err)
	}
	mtlsOn := func(what string) {
		t.Helper()
		if _, err := e.handshake(t, name); err == nil {
			t.Errorf("%s: a client without a certificate was let in", what)
		}
		if _, err := e.handshake(t, name, clientCert(t, clients)); err != nil {
			t.Errorf("%s: the truststore's client: %v", what, err)
		}
		d, err := e.v1.GetDomainName(ctx, &apigateway.GetDomainNameInput{DomainName: aws.String(name)})
		if err != nil || d.MutualTlsAuthentication == nil {
			t.Errorf("%s: get-domain-name has no mutualTlsAuthentication: %+v %v", what, d, err)
		}
	}
	mtlsOn("created")

	e.write(t, "ts.pem", nil)
	_, err = e.v1.UpdateDomainName(ctx, &apigateway.UpdateDomainNameInput{DomainName: aws.String(name),
		PatchOperations: []v1types.PatchOperation{{Op: v1types.OpReplace, Path: aws.String("/mutualTlsAuthentication/truststoreVersion"), Value: aws.String("2")}}})
	badRequest(t, "v1 truststoreVersion of an emptied file", err, "no PEM certificate")
	_, err = e.v1.UpdateDomainName(ctx, &apigateway.UpdateDomainNameInput{DomainName: aws.String(name),
		PatchOperations: []v1types.PatchOperation{{Op: v1types.OpReplace, Path: aws.String("/mutualTlsAuthentication/truststoreUri"), Value: aws.String("file://" + empty)}}})
	badRequest(t, "v1 truststoreUri of an empty file", err, "no PEM certificate")
	_, err = e.v2.UpdateDomainName(ctx, &apigatewayv2.UpdateDomainNameInput{DomainName: aws.String(name),
		MutualTlsAuthentication: &v2types.MutualTlsAuthenticationInput{TruststoreVersion: aws.String("3")}})
	badRequest(t, "v2 TruststoreVersion of an emptied file", err, "no PEM certificate")
	_, err = e.v2.UpdateDomainName(ctx, &apigatewayv2.UpdateDomainNameInput{DomainName: aws.String(name),
		MutualTlsAuthentication: &v2types.MutualTlsAuthenticationInput{TruststoreUri: aws.String("file://" + empty)}})
	badRequest(t, "v2 TruststoreUri of an empty file", err, "no PEM certificate")
	mtlsOn("after refused updates")
	e.env.Restart()
	mtlsOn("after a restart")
}

// TestTruncatedPEMBlockIsRefused: a PEM block cut short (at the end of a
// file, or between good ones) in a truststore, a certificateBody or a
// certificate file is refused, saying so; it was dropped silently, leaving a
// truststore without one of its CAs and a certificate without its chain.
func TestTruncatedPEMBlockIsRefused(t *testing.T) {
	e := startTLSDomains(t)
	ctx := context.Background()
	ca1, _ := edge.NewDevCA(time.Now())
	ca2, _ := edge.NewDevCA(time.Now())
	ca3, _ := edge.NewDevCA(time.Now())
	for what, bundle := range map[string][]byte{
		"cut short at the end": append(append([]byte{}, ca1.CertPEM...), ca2.CertPEM[:300]...),
		"cut short between":    append(append(append([]byte{}, ca1.CertPEM...), ca2.CertPEM[:300]...), ca3.CertPEM...),
	} {
		ts := e.write(t, "ts.pem", bundle)
		_, err := e.v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("cut.example.test"),
			MutualTlsAuthentication: &v1types.MutualTlsAuthenticationInput{TruststoreUri: aws.String("file://" + ts)}})
		badRequest(t, "truststore "+what, err, "does not parse")
	}

	const name = "chain.example.test"
	chain, key, err := e.ca.Issue([]string{name}, time.Now()) // the leaf, then the development CA
	if err != nil {
		t.Fatal(err)
	}
	leafEnd := strings.Index(string(chain), "-----END CERTIFICATE-----\n") + len("-----END CERTIFICATE-----\n")
	cut := string(chain[:leafEnd]) + string(e.ca.CertPEM[:400])
	_, err = e.v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String(name),
		CertificateBody: aws.String(cut), CertificatePrivateKey: aws.String(string(key))})
	badRequest(t, "certificateBody with its chain cut short", err, "does not parse")
	certPath, keyPath := e.write(t, "c.pem", []byte(cut)), e.write(t, "k.pem", key)
	_, err = e.v2.CreateDomainName(ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String(name),
		DomainNameConfigurations: []v2types.DomainNameConfiguration{{CertificateArn: aws.String("file://" + certPath + "?key=" + keyPath)}}})
	badRequest(t, "a certificate file with its chain cut short", err, "does not parse")
	if _, err := e.v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String(name),
		CertificateBody: aws.String(string(chain)), CertificatePrivateKey: aws.String(string(key))}); err != nil {
		t.Errorf("the whole chain: %v", err)
	}
}

// TestTruststoreFileURIs: a truststoreUri is read as a file URI (RFC 8089):
// file:///abs and file://localhost/abs name the same file, percent-escapes
// are decoded, and a host other than localhost is refused rather than read
// as a path relative to the server's directory.
func TestTruststoreFileURIs(t *testing.T) {
	e := startTLSDomains(t)
	ctx := context.Background()
	clients, _ := edge.NewDevCA(time.Now())
	ts := e.write(t, "trust store.pem", clients.CertPEM)
	for i, uri := range []string{"file://" + ts, "file://localhost" + ts, "file://" + strings.ReplaceAll(ts, " ", "%20"), "file://LOCALHOST" + ts} {
		name := fmt.Sprintf("u%d.example.test", i)
		d, err := e.v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String(name),
			MutualTlsAuthentication: &v1types.MutualTlsAuthenticationInput{TruststoreUri: aws.String(uri)}})
		if err != nil || d.MutualTlsAuthentication == nil || aws.ToString(d.MutualTlsAuthentication.TruststoreUri) != uri {
			t.Errorf("%s: %+v %v, want mutual TLS with the truststore of %s", uri, d, err, uri)
		}
	}
	for uri, says := range map[string]string{
		"file://c/cca1.pem":             "host",
		"file://example.com" + ts:       "host",
		"file:relative.pem":             "file:///",
		"file://" + ts + "?v=1":         "query",
		"file://" + ts + "%zz":          "escape",
		"file://localhost/nonexistent/": "nonexistent",
	} {
		_, err := e.v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("bad.example.test"),
			MutualTlsAuthentication: &v1types.MutualTlsAuthenticationInput{TruststoreUri: aws.String(uri)}})
		badRequest(t, uri, err, says)
	}
}

// TestCertificateFileARNs: a file:// certificate ARN is read as a file URI
// (RFC 8089), file:///abs/cert.pem?key=/abs/key.pem: file://localhost names
// the same files, percent-escapes are decoded (in the key's path too), and
// a relative one or one naming another host is refused, saying which field
// is wrong. It was split on the raw string: file://localhost/... read the
// file "localhost/...", an escape was read as it is, and file://c.pem read
// a file relative to the server's directory.
func TestCertificateFileARNs(t *testing.T) {
	e := startTLSDomains(t)
	ctx := context.Background()
	const name = "files.example.test"
	chain, key, err := e.ca.Issue([]string{name}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := e.write(t, "the cert.pem", chain), e.write(t, "the key%.pem", key)
	esc := func(p string) string { return strings.NewReplacer("%", "%25", " ", "%20").Replace(p) }
	for i, arn := range []string{
		"file://" + esc(certPath) + "?key=" + esc(keyPath),
		"file://localhost" + esc(certPath) + "?key=" + esc(keyPath),
		"file://LocalHost" + esc(certPath) + "?key=" + esc(keyPath),
	} {
		if _, err := e.v2.CreateDomainName(ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String(name),
			DomainNameConfigurations: []v2types.DomainNameConfiguration{{CertificateArn: aws.String(arn)}}}); err != nil {
			t.Errorf("%d: %s: %v", i, arn, err)
			continue
		}
		if leaf, err := e.handshake(t, name); err != nil || leaf.Subject.CommonName != name && (len(leaf.DNSNames) == 0 || leaf.DNSNames[0] != name) {
			t.Errorf("%d: %s: served %v %v, want the certificate of the files", i, arn, leaf, err)
		}
		if _, err := e.v2.DeleteDomainName(ctx, &apigatewayv2.DeleteDomainNameInput{DomainName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	for arn, says := range map[string]string{
		"file://the%20cert.pem?key=" + esc(keyPath):                   "the URI names the host \"the%20cert.pem\"",
		"file://example.com" + esc(certPath) + "?key=" + esc(keyPath): "host",
		"file://" + esc(certPath) + "?key=the%20key.pem":              "absolute",
		"file://" + esc(certPath) + "?key=" + esc(keyPath) + "%zz":    "escape",
		"file://" + esc(certPath) + "?key=" + esc(keyPath) + "#x":     "fragment",
		"file://" + esc(certPath):                                     "key=",
	} {
		_, err := e.v2.CreateDomainName(ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String(name),
			DomainNameConfigurations: []v2types.DomainNameConfiguration{{CertificateArn: aws.String(arn)}}})
		badRequest(t, arn, err, says)
		badRequest(t, arn, err, "certificateArn")
		_, err = e.v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String(name), RegionalCertificateArn: aws.String(arn)})
		badRequest(t, "v1 "+arn, err, "regionalCertificateArn")
		badRequest(t, "v1 "+arn, err, says)
	}
	_, err = e.v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String(name), RegionalCertificateArn: aws.String("file://c.pem?key=k.pem")})
	badRequest(t, "v1 relative", err, "regionalCertificateArn")
}

// TestTruststoreURIWithoutScheme: a truststoreUri that is a bare path (even
// a relative one) is refused, saying to give a file URI; it was read as a
// path, relative to the server's directory.
func TestTruststoreURIWithoutScheme(t *testing.T) {
	e := startTLSDomains(t)
	ctx := context.Background()
	clients, _ := edge.NewDevCA(time.Now())
	ts := e.write(t, "ts.pem", clients.CertPEM)
	for _, uri := range []string{ts, "ts.pem", "./ts.pem"} {
		_, err := e.v1.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("bare.example.test"),
			MutualTlsAuthentication: &v1types.MutualTlsAuthenticationInput{TruststoreUri: aws.String(uri)}})
		badRequest(t, "v1 "+uri, err, "file:///")
		_, err = e.v2.CreateDomainName(ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String("bare.example.test"),
			MutualTlsAuthentication: &v2types.MutualTlsAuthenticationInput{TruststoreUri: aws.String(uri)}})
		badRequest(t, "v2 "+uri, err, "truststoreUri")
	}
}
