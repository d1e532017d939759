package admin_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestUpdateDomainNameWithAWSCLI drives `aws apigateway update-domain-name`
// and `aws apigatewayv2 update-domain-name` against the server: a new
// certificate and a truststore (turned on, read again at a new version,
// replaced, turned off) take effect on the TLS listener at once, without a
// restart, and survive one; what Portico cannot do is refused as
// BadRequestException, changing nothing.
func TestUpdateDomainNameWithAWSCLI(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: the AWS CLI takes seconds per call")
	}
	awsPath := testkit.AWSCLI(t)
	dir := t.TempDir()
	if _, err := edge.InitDevCA(edge.DevCADir(dir), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	var svc *apis.Service
	var gw *gateway.Server
	env := apptest.Start(t, apptest.Options{DataDir: dir, Populate: []any{&svc, &gw},
		Settings: func(s *app.Settings) { s.TLSListen = "127.0.0.1:0" }})
	ctx := context.Background()
	created, err := svc.Create(ctx, mockAPI(apis.ProtocolREST, `{"api":"rest"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Deploy(ctx, created.ID, apis.DeployInput{StageName: "prod"}); err != nil {
		t.Fatal(err)
	}
	const name = "api.example.com"
	ca, err := edge.LoadDevCA(edge.DevCADir(dir), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	files := t.TempDir()
	write := func(file string, b []byte) string {
		t.Helper()
		p := filepath.Join(files, file)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	certARN := func(n string) (arn, serial string) {
		t.Helper()
		c, k, err := ca.Issue([]string{name}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		pair, err := tls.X509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(pair.Certificate[0])
		return "file://" + write("cert"+n+".pem", c) + "?key=" + write("key"+n+".pem", k), leaf.SerialNumber.String()
	}
	clientCA1, _ := edge.NewDevCA(time.Now())
	clientCA2, _ := edge.NewDevCA(time.Now())
	clientCert := func(ca *edge.DevCA) tls.Certificate {
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
	truststore := write("truststore.pem", clientCA1.CertPEM)

	// aws runs the CLI against the admin port and answers its JSON output,
	// or its error output when it fails.
	aws := func(args ...string) (map[string]any, string) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), awsPath, append([]string{"--endpoint-url", env.AdminURL, "--output", "json"}, args...)...)
		var envv []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "AWS_") {
				envv = append(envv, kv)
			}
		}
		cmd.Env = append(envv, "AWS_ACCESS_KEY_ID=portico", "AWS_SECRET_ACCESS_KEY=secret", "AWS_DEFAULT_REGION=us-east-1",
			"AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, stderr.String()
		}
		var m map[string]any
		if len(strings.TrimSpace(string(out))) > 0 {
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("aws %v: %v\n%s", args, err, out)
			}
		}
		return m, ""
	}
	mustAWS := func(args ...string) map[string]any {
		t.Helper()
		m, errOut := aws(args...)
		if errOut != "" {
			t.Fatalf("aws %v: %s", args, errOut)
		}
		return m
	}
	refused := func(want string, args ...string) {
		t.Helper()
		if _, errOut := aws(args...); !strings.Contains(errOut, "BadRequestException") || !strings.Contains(errOut, want) {
			t.Errorf("aws %v: %q, want BadRequestException saying %q", args, errOut, want)
		}
	}

	// get calls the domain over a new HTTPS connection with certs; it answers
	// the status and the serial of the server's certificate, or the error.
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	client := func(certs ...tls.Certificate) *http.Client {
		tr := &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs, NextProtos: []string{"http/1.1"}},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, gw.TLSAddr())
			},
		}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	}
	get := func(c *http.Client) (int, string, error) {
		resp, err := c.Get("https://" + name + "/anything")
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.TLS.PeerCertificates[0].SerialNumber.String(), nil
	}
	expect := func(what string, c *http.Client, status int, serial string) {
		t.Helper()
		st, got, err := get(c)
		if err != nil || st != status || (serial != "" && got != serial) {
			t.Errorf("%s: %d serial %s %v, want %d serial %s", what, st, got, err, status, serial)
		}
	}
	expectHandshakeFails := func(what string, c *http.Client) {
		t.Helper()
		if st, _, err := get(c); err == nil {
			t.Errorf("%s: served %d, want a failed handshake", what, st)
		}
	}

	arn1, serial1 := certARN("1")
	arn2, serial2 := certARN("2")
	// The CLI reads a parameter that starts with file:// as a file: a file://
	// ARN goes in --cli-input-json (or shorthand, as in the updates below).
	input, _ := json.Marshal(map[string]any{"domainName": name, "regionalCertificateArn": arn1})
	mustAWS("apigateway", "create-domain-name", "--cli-input-json", string(input))
	mustAWS("apigateway", "create-base-path-mapping", "--domain-name", name, "--rest-api-id", created.ID, "--stage", "prod")
	expect("created", client(), 200, serial1)

	// v1: a new certificate, and mutual TLS turned on.
	d := mustAWS("apigateway", "update-domain-name", "--domain-name", name, "--patch-operations",
		"op=replace,path=/regionalCertificateArn,value="+arn2,
		"op=replace,path=/mutualTlsAuthentication/truststoreUri,value=file://"+truststore,
		"op=replace,path=/securityPolicy,value=TLS_1_2")
	if d["regionalCertificateArn"] != arn2 || d["mutualTlsAuthentication"] == nil {
		t.Errorf("update-domain-name answered %v", d)
	}
	expectHandshakeFails("mutual TLS on, no client certificate", client())
	alice1 := client(clientCert(clientCA1))
	expect("mutual TLS on, the new certificate", alice1, 200, serial2)

	// The truststore file rewritten and read again at a new version: the
	// keep-alive connection verified against the old CA is refused.
	write("truststore.pem", clientCA2.CertPEM)
	d = mustAWS("apigateway", "update-domain-name", "--domain-name", name, "--patch-operations",
		"op=replace,path=/mutualTlsAuthentication/truststoreVersion,value=2")
	if m, _ := d["mutualTlsAuthentication"].(map[string]any); m == nil || m["truststoreVersion"] != "2" {
		t.Errorf("truststoreVersion: %v", d)
	}
	expect("a connection verified against the old truststore", alice1, 403, "")
	expectHandshakeFails("the old CA's certificate", client(clientCert(clientCA1)))
	expect("the new CA's certificate", client(clientCert(clientCA2)), 200, serial2)

	// Refused, changing nothing.
	refused("TLS_1_2", "apigateway", "update-domain-name", "--domain-name", name, "--patch-operations", "op=replace,path=/securityPolicy,value=TLS_1_0")
	refused("ownershipVerificationCertificateArn", "apigateway", "update-domain-name", "--domain-name", name, "--patch-operations",
		"op=replace,path=/ownershipVerificationCertificateArn,value=arn:aws:acm:us-east-1:1:certificate/x")
	refused("/domainNameStatus", "apigateway", "update-domain-name", "--domain-name", name, "--patch-operations", "op=replace,path=/domainNameStatus,value=PENDING")
	refused("replace operations only", "apigateway", "update-domain-name", "--domain-name", name, "--patch-operations", "op=add,path=/certificateArn,value="+arn1)
	refused("REGIONAL", "apigateway", "update-domain-name", "--domain-name", name, "--patch-operations", "op=replace,path=/endpointConfiguration/types/0,value=EDGE")
	refused("certificate file", "apigateway", "update-domain-name", "--domain-name", name, "--patch-operations",
		"op=replace,path=/certificateArn,value=file:///nonexistent.pem?key=/nonexistent-key.pem",
		"op=replace,path=/mutualTlsAuthentication/truststoreUri,value=")
	refused("one domain name configuration", "apigatewayv2", "update-domain-name", "--domain-name", name,
		"--domain-name-configurations", "CertificateArn="+arn1, "CertificateArn="+arn2)
	if _, errOut := aws("apigateway", "update-domain-name", "--domain-name", "nope.example.com", "--patch-operations", "op=replace,path=/securityPolicy,value=TLS_1_2"); !strings.Contains(errOut, "NotFoundException") {
		t.Errorf("an unknown domain: %q", errOut)
	}
	expect("after refused updates", client(clientCert(clientCA2)), 200, serial2)

	// v2: the first certificate back, and the first CA's truststore.
	truststore1 := write("truststore1.pem", clientCA1.CertPEM)
	d = mustAWS("apigatewayv2", "update-domain-name", "--domain-name", name,
		"--domain-name-configurations", "CertificateArn="+arn1+",EndpointType=REGIONAL,SecurityPolicy=TLS_1_2",
		"--mutual-tls-authentication", "TruststoreUri=file://"+truststore1)
	if cfgs, _ := d["DomainNameConfigurations"].([]any); len(cfgs) != 1 || cfgs[0].(map[string]any)["CertificateArn"] != arn1 {
		t.Errorf("apigatewayv2 update-domain-name answered %v", d)
	}
	expect("v2 update", client(clientCert(clientCA1)), 200, serial1)
	expectHandshakeFails("v2 update, the second CA", client(clientCert(clientCA2)))

	// It survives a restart.
	env.Restart()
	expect("after a restart", client(clientCert(clientCA1)), 200, serial1)
	expectHandshakeFails("after a restart, the second CA", client(clientCert(clientCA2)))

	// Mutual TLS turned off (v2, an empty truststoreUri).
	mustAWS("apigatewayv2", "update-domain-name", "--domain-name", name, "--mutual-tls-authentication", "TruststoreUri=")
	expect("mutual TLS off", client(), 200, serial1)
	if d := mustAWS("apigateway", "get-domain-name", "--domain-name", name); d["mutualTlsAuthentication"] != nil {
		t.Errorf("mutual TLS off: get-domain-name %v", d)
	}
}
