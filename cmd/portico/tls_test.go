package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
)

// run runs the portico command line with args and returns its output.
func run(t *testing.T, args ...string) string {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		t.Fatalf("portico %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// TestTLSInitThenHTTPSAndDomains: `portico tls init` makes the development CA and
// certificate, the server serves HTTPS with it for the names given, and `portico
// domain` creates and maps a domain signed by the same CA. `portico domain
// map` prints the URL with the TLS listener's port when it is not 443 (it
// printed https://NAME/... with no port, a URL nothing answers).
func TestTLSInitThenHTTPSAndDomains(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := run(t, "tls", "init", "--data-dir", dir, "dev.test")
	if !strings.Contains(out, "made a development CA") || !strings.Contains(out, "update-ca-certificates") {
		t.Errorf("tls init printed:\n%s", out)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "tls", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if out := run(t, "tls", "init", "--data-dir", dir); !strings.Contains(out, "reused the development CA") {
		t.Errorf("a second tls init printed:\n%s", out)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "tls", "ca.pem")); !bytes.Equal(again, caPEM) {
		t.Error("a second tls init replaced the CA")
	}
	if fi, err := os.Stat(filepath.Join(dir, "tls", "ca-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("ca-key.pem: %v %v", fi.Mode(), err)
	}

	var svc *apis.Service
	var gw *gateway.Server
	env := apptest.Start(t, apptest.Options{DataDir: dir, Populate: []any{&svc, &gw}, Settings: func(s *app.Settings) { s.TLSListen = "127.0.0.1:0" }})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	for _, name := range []string{"localhost", "dev.test"} {
		c, err := tls.Dial("tcp", gw.TLSAddr(), &tls.Config{ServerName: name, RootCAs: pool, NextProtos: []string{"h2"}})
		if err != nil {
			t.Fatalf("TLS to %s: %v", name, err)
		}
		if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
			t.Errorf("%s: ALPN %q, want h2", name, p)
		}
		_ = c.Close()
	}

	a, err := svc.Create(t.Context(), &apis.API{Name: "m", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/x", Integration: &apis.Integration{Type: apis.IntegrationMock}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Deploy(t.Context(), a.ID, apis.DeployInput{StageName: "prod"}); err != nil {
		t.Fatal(err)
	}
	ep := "--endpoint=" + env.AdminURL
	_, port, _ := net.SplitHostPort(gw.TLSAddr())
	run(t, "domain", "create", "shop.dev.test", ep)
	if out := run(t, "domain", "map", "shop.dev.test", a.ID, "prod", "--path", "orders/v2", ep); !strings.Contains(out, "https://shop.dev.test:"+port+"/orders/v2 -> api "+a.ID) {
		t.Errorf("domain map printed %q", out)
	}
	if out := run(t, "domain", "list", ep); !strings.Contains(out, "shop.dev.test") || !strings.Contains(out, "AVAILABLE") {
		t.Errorf("domain list printed %q", out)
	}
	// Tables by default; JSON (no blank line after it) with -o json.
	if out := run(t, "domain", "mappings", "shop.dev.test", ep); !regexp.MustCompile(`(?m)^BASE PATH +API +STAGE +MAPPING ID\norders/v2 +` + a.ID + ` +prod +\S+\n$`).MatchString(out) {
		t.Errorf("domain mappings printed %q", out)
	}
	if out := run(t, "-o", "json", "domain", "mappings", "shop.dev.test", ep); !strings.Contains(out, `"apiMappingKey": "orders/v2"`) || strings.HasSuffix(out, "\n\n") {
		t.Errorf("domain mappings -o json printed %q", out)
	}
	if out := run(t, "domain", "get", "shop.dev.test", ep); !regexp.MustCompile(`^DOMAIN +STATUS +CERTIFICATE +MUTUAL TLS\nshop.dev.test +AVAILABLE +\S+ +-\n$`).MatchString(out) {
		t.Errorf("domain get printed %q", out)
	}
	if out := run(t, "-o", "json", "domain", "get", "shop.dev.test", ep); !strings.Contains(out, `"domainName": "shop.dev.test"`) || strings.HasSuffix(out, "\n\n") {
		t.Errorf("domain get -o json printed %q", out)
	}
	c, err := tls.Dial("tcp", gw.TLSAddr(), &tls.Config{ServerName: "shop.dev.test", RootCAs: pool})
	if err != nil {
		t.Fatalf("TLS to the new domain: %v", err)
	}
	_ = c.Close()
	if out := run(t, "domain", "map", "shop.dev.test.", a.ID, "prod", "--path", "/v3", ep); !strings.Contains(out, "https://shop.dev.test:"+port+"/v3 -> api "+a.ID) {
		t.Errorf("domain map --path /v3 printed:\n%s", out)
	}
	for _, bad := range []string{"127.0.0.1", "*.execute-api.localhost", "x.execute-api.localhost"} {
		if out, err := runErr("domain", "create", bad, ep); err == nil || !strings.Contains(err.Error()+out, "execute-api") && !strings.Contains(err.Error()+out, "IP address") {
			t.Errorf("domain create %s: %v\n%s", bad, err, out)
		}
	}
	run(t, "domain", "unmap", "shop.dev.test.", "v3", ep)
	run(t, "domain", "unmap", "shop.dev.test", "orders/v2", ep)
	if out := run(t, "domain", "mappings", "shop.dev.test", ep); strings.Contains(out, "orders/v2") {
		t.Errorf("after unmap: %q", out)
	}
	run(t, "domain", "delete", "shop.dev.test", ep)

	// A WebSocket API's mapping: its clients connect with wss://.
	ws, err := svc.Create(t.Context(), &apis.API{Name: "w", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{RouteSelectionExpression: "$request.body.action",
		Routes: []apis.Route{{RouteKey: "$default", Integration: &apis.Integration{Type: apis.IntegrationMock}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Deploy(t.Context(), ws.ID, apis.DeployInput{StageName: "prod"}); err != nil {
		t.Fatal(err)
	}
	run(t, "domain", "create", "chat.dev.test", ep)
	if out := run(t, "domain", "map", "chat.dev.test", ws.ID, "prod", "--path", "room", ep); !strings.Contains(out, "wss://chat.dev.test:"+port+"/room -> api "+ws.ID) {
		t.Errorf("domain map of a WebSocket API printed %q", out)
	}
}

// TestTLSInitNamesTheServersPort: the instructions of `portico tls init` name
// the HTTPS port the server is configured with (--tls-listen, or
// PORTICO_TLS_LISTEN as make run passes it on), and under make run
// (--starting) they say the server about to start serves it, not to restart.
func TestTLSInitNamesTheServersPort(t *testing.T) {
	dir := t.TempDir()
	out := run(t, "tls", "init", "--data-dir", dir, "--tls-listen", "127.0.0.1:24092", "--starting")
	if !strings.Contains(out, "https://localhost:24092/") || strings.Contains(out, ":8443") || strings.Contains(out, "Restart") {
		t.Errorf("tls init --tls-listen 127.0.0.1:24092 --starting printed:\n%s", out)
	}
	// A certificate replaced is reloaded by a running server (its files are
	// watched): nothing to restart.
	t.Setenv("PORTICO_TLS_LISTEN", "127.0.0.1:24192")
	out = run(t, "tls", "init", "--data-dir", dir)
	if !strings.Contains(out, "https://localhost:24192/") || !strings.Contains(out, "picks it up") || !strings.Contains(out, "127.0.0.1:24192") ||
		strings.Contains(out, "Restart 'portico serve'") {
		t.Errorf("tls init with PORTICO_TLS_LISTEN=127.0.0.1:24192 printed:\n%s", out)
	}
	// The first certificate: a server running already started with its TLS
	// listener off, and must be restarted.
	out = run(t, "tls", "init", "--data-dir", t.TempDir())
	if !strings.Contains(out, "Restart 'portico serve'") {
		t.Errorf("tls init of a first certificate printed:\n%s", out)
	}
}

// TestTLSInitSaysTLSCertIsKept: a server run with --tls-cert had its TLS
// listener on and keeps serving that certificate after a restart, so the
// instructions of `portico tls init` (a first certificate or a new one) say
// so, and that the CA signs custom domains without a certificate of their own.
func TestTLSInitSaysTLSCertIsKept(t *testing.T) {
	dir := t.TempDir()
	for _, what := range []string{"a first certificate", "a new one"} {
		out := run(t, "tls", "init", "--data-dir", dir, "--tls-listen", "127.0.0.1:24093")
		if !strings.Contains(out, "without --tls-cert") || !strings.Contains(out, "run with --tls-cert keeps serving that certificate") ||
			!strings.Contains(out, "custom domains that have no certificate of their own") {
			t.Errorf("tls init of %s does not say what a server run with --tls-cert does:\n%s", what, out)
		}
	}
}

// runErr runs the portico command line with args and returns its output and
// error.
func runErr(args ...string) (string, error) {
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// certNames returns the names of the development certificate in dir.
func certNames(t *testing.T, dir string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(raw)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	names := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}

// TestTLSInitNames: names that are no host name, wildcard or IP address are
// refused and nothing is written; --reset drops the names earlier runs added;
// --if-needed leaves a good certificate alone and renews an expired one.
func TestTLSInitNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, bad := range []string{"bad name", "*.*.x", "a..b", "*", "http://x.test", "x.test:8443", "a.*.test", "-a.test"} {
		if out, err := runErr("tls", "init", "--data-dir", dir, bad); err == nil {
			t.Errorf("tls init %q succeeded:\n%s", bad, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "tls", "cert.pem")); err == nil {
		t.Fatal("a refused tls init wrote a certificate")
	}
	run(t, "tls", "init", "--data-dir", dir, "one.test", "*.two.test", "10.1.2.3", "Three.TEST.")
	got := strings.Join(certNames(t, dir), " ")
	for _, want := range []string{"localhost", "one.test", "*.two.test", "10.1.2.3", "three.test"} {
		if !strings.Contains(got, want) {
			t.Errorf("certificate names %s, want %s among them", got, want)
		}
	}
	run(t, "tls", "init", "--data-dir", dir, "four.test")
	if got := strings.Join(certNames(t, dir), " "); !strings.Contains(got, "one.test") || !strings.Contains(got, "four.test") {
		t.Errorf("a second run keeps and adds names: %s", got)
	}
	out := run(t, "tls", "init", "--data-dir", dir, "--reset", "five.test")
	if got := strings.Join(certNames(t, dir), " "); strings.Contains(got, "one.test") || !strings.Contains(got, "five.test") || !strings.Contains(got, "localhost") {
		t.Errorf("--reset: %s", got)
	}
	if !strings.Contains(out, "dropped") {
		t.Errorf("--reset says what it dropped:\n%s", out)
	}

	before, _ := os.ReadFile(filepath.Join(dir, "tls", "cert.pem"))
	if out := run(t, "tls", "init", "--data-dir", dir, "--if-needed"); !strings.Contains(out, "nothing to do") {
		t.Errorf("--if-needed on a good certificate:\n%s", out)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "tls", "cert.pem")); !bytes.Equal(before, after) {
		t.Error("--if-needed replaced a good certificate")
	}
	// An expired certificate is renewed, keeping its names.
	ca, err := edge.LoadDevCA(edge.DevCADir(dir), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue([]string{"localhost", "five.test"}, time.Now().Add(-400*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls", "cert.pem"), certPEM, 0o644); err != nil { //nolint:gosec // a test's certificate
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls", "key.pem"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, "tls", "init", "--data-dir", dir, "--if-needed")
	if _, err := edge.LoadKeyPair(filepath.Join(dir, "tls", "cert.pem"), filepath.Join(dir, "tls", "key.pem"), time.Now()); err != nil {
		t.Errorf("--if-needed left an expired certificate: %v", err)
	}
	if got := strings.Join(certNames(t, dir), " "); !strings.Contains(got, "five.test") {
		t.Errorf("the renewed certificate lost its names: %s", got)
	}
}

// TestDomainCreatePrintsTheStoredName: `portico domain create` prints the
// name as it is stored (lower case, without the trailing dot), and its
// --truststore reaches the server as a file URI whatever the file's name
// holds (a space, a %).
func TestDomainCreatePrintsTheStoredName(t *testing.T) {
	dir := t.TempDir()
	run(t, "tls", "init", "--data-dir", dir)
	env := apptest.Start(t, apptest.Options{DataDir: dir})
	ep := "--endpoint=" + env.AdminURL
	if out := run(t, "domain", "create", "S.W.Test.", ep); out != "created domain name s.w.test\n" {
		t.Errorf("domain create printed %q, want the stored name s.w.test", out)
	}
	clients, err := edge.NewDevCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ts := filepath.Join(t.TempDir(), "trust 50%.pem")
	if err := os.WriteFile(ts, clients.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, "domain", "create", "m.w.test", "--truststore", ts, ep)
	if out := run(t, "-o", "json", "domain", "get", "m.w.test", ep); !strings.Contains(out, `"mutualTlsAuthentication"`) {
		t.Errorf("domain get printed %s, want mutual TLS on", out)
	}
}
