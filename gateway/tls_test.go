package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/accesslog"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/invoker"
)

// tlsEnv is a gateway Server with its TLS listener, the edge (development CA in
// the data directory) and a fake invoker.
type tlsEnv struct {
	t    *testing.T
	dir  string
	svc  *apis.Service
	edge *edge.Edge
	gw   *Gateway
	srv  *Server
	inv  *fakeInvoker
	ca   *edge.DevCA
	pool *x509.CertPool
	// logs holds what the gateway and the edge logged at info and above.
	logs *syncBuilder
}

func newTLSEnv(t *testing.T, cfg Config, ecfg edge.Config) *tlsEnv {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	if _, err := edge.InitDevCA(edge.DevCADir(dir), nil, now); err != nil {
		t.Fatal(err)
	}
	ca, err := edge.LoadDevCA(edge.DevCADir(dir), now)
	if err != nil {
		t.Fatal(err)
	}
	st := gwtest.Store(t, dir)
	svc := apis.NewService(st, nil)
	ecfg.DataDir = dir
	logs := &syncBuilder{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	ed, err := edge.New(context.Background(), ecfg, st, svc, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	e := &tlsEnv{t: t, dir: dir, svc: svc, edge: ed, inv: &fakeInvoker{}, ca: ca, pool: x509.NewCertPool(), logs: logs}
	e.pool.AddCert(ca.Cert)
	if cfg.Listen != ListenOff {
		cfg.Listen = "127.0.0.1:0"
	}
	cfg.TLSListen = "127.0.0.1:0"
	res := &fakeResolver{aliases: map[string]string{}}
	e.gw = New(cfg, svc, res, e.inv, log)
	e.gw.SetDomains(ed)
	e.srv = NewServer(e.gw, log, listener.Limits{})
	e.srv.SetTLS(ed.TLSConfig())
	if err := e.srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.srv.Stop(ctx)
		_ = ed.Close()
	})
	return e
}

// client returns an HTTPS client that trusts the development CA and dials the
// TLS listener whatever the URL's host, so URLs can name custom domains. h2
// false keeps it to HTTP/1.1.
func (e *tlsEnv) client(h2 bool, certs ...tls.Certificate) *http.Client {
	addr := e.srv.TLSAddr()
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: e.pool, Certificates: certs},
		ForceAttemptHTTP2: h2,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	if !h2 {
		tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
	}
	c := &http.Client{Transport: tr}
	e.t.Cleanup(tr.CloseIdleConnections)
	return c
}

type tlsAnswer struct {
	status int
	proto  int
	body   string
	header http.Header
	serial string
}

func (e *tlsEnv) get(c *http.Client, u string) tlsAnswer {
	e.t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		e.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := tlsAnswer{status: resp.StatusCode, proto: resp.ProtoMajor, body: string(b), header: resp.Header}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		a.serial = resp.TLS.PeerCertificates[0].SerialNumber.String()
	}
	return a
}

// lastEvent decodes the last event the fake invoker received.
func (e *tlsEnv) lastEvent() map[string]any {
	e.t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(e.inv.last().Payload, &ev); err != nil {
		e.t.Fatal(err)
	}
	return ev
}

func (e *tlsEnv) deploy(a *apis.API, stage string) string {
	e.t.Helper()
	ctx := context.Background()
	created, err := e.svc.Create(ctx, a)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, _, err := e.svc.Deploy(ctx, created.ID, apis.DeployInput{StageName: stage}); err != nil {
		e.t.Fatal(err)
	}
	return created.ID
}

func proxyAPI(protocol string) *apis.API {
	return &apis.API{Name: "p", Protocol: protocol, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "ANY", Path: "/{proxy+}", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello:1", HTTPMethod: "POST", PayloadFormatVersion: "1.0"}},
	}}}
}

func httpAPI() *apis.API {
	return &apis.API{Name: "h", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "ANY", Path: "/{proxy+}", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello:1", HTTPMethod: "POST", PayloadFormatVersion: "2.0"}},
	}}}
}

func str2(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[p]
	}
	s, _ := cur.(string)
	return s
}

func TestHTTPSNegotiatesHTTP2ForRESTAndHTTPAPIs(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	rest := e.deploy(proxyAPI(apis.ProtocolREST), "prod")
	httpID := e.deploy(httpAPI(), "prod")
	c := e.client(true)

	a := e.get(c, "https://localhost/"+rest+"/prod/pets")
	if a.status != 200 || a.proto != 2 {
		t.Fatalf("REST over https: status %d, HTTP/%d: %s", a.status, a.proto, a.body)
	}
	ev := e.lastEvent()
	if got := str2(ev, "headers", "X-Forwarded-Proto"); got != "https" {
		t.Errorf("REST event X-Forwarded-Proto %q, want https", got)
	}
	if got := str2(ev, "requestContext", "protocol"); got != "HTTP/2.0" {
		t.Errorf("REST event protocol %q", got)
	}
	// HTTP/2 carries names in lower case: the client's spelling, in REST
	// events, but for the headers the gateway adds.
	if str2(ev, "headers", "user-agent") == "" || str2(ev, "headers", "User-Agent") != "" {
		t.Errorf("REST event over HTTP/2: headers %v, want user-agent in lower case", ev["headers"])
	}
	if got := str2(ev, "requestContext", "path"); got != "/prod/pets" {
		t.Errorf("REST event requestContext.path %q", got)
	}

	a = e.get(c, "https://"+httpID+".execute-api.localhost/prod/orders")
	if a.status != 200 || a.proto != 2 {
		t.Fatalf("HTTP API over https: status %d, HTTP/%d: %s", a.status, a.proto, a.body)
	}
	ev = e.lastEvent()
	if got := str2(ev, "headers", "x-forwarded-proto"); got != "https" {
		t.Errorf("HTTP API event x-forwarded-proto %q, want https", got)
	}
	if got := str2(ev, "requestContext", "domainName"); got != httpID+".execute-api.localhost" {
		t.Errorf("HTTP API event domainName %q", got)
	}

	// The plain listener still serves, and says http.
	resp, err := http.Get(e.srv.StageURL(rest, "prod") + "pets")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := str2(e.lastEvent(), "headers", "X-Forwarded-Proto"); got != "http" {
		t.Errorf("plain listener: X-Forwarded-Proto %q, want http", got)
	}
}

func TestPlainListenerOff(t *testing.T) {
	e := newTLSEnv(t, Config{Listen: ListenOff}, edge.Config{})
	id := e.deploy(proxyAPI(apis.ProtocolREST), "prod")
	if a := e.srv.Addr(); a != "" {
		t.Fatalf("the plain listener is bound at %s", a)
	}
	if u := e.srv.URL(); !strings.HasPrefix(u, "https://localhost:") {
		t.Errorf("URL %q, want the TLS listener's", u)
	}
	if a := e.get(e.client(true), e.srv.StageURL(id, "prod")+"pets"); a.status != 200 || a.proto != 2 {
		t.Fatalf("over https: %d HTTP/%d %s", a.status, a.proto, a.body)
	}

	// With TLS off too nothing would listen: Start says so.
	log := slog.New(slog.DiscardHandler)
	gw := New(Config{Listen: ListenOff, TLSListen: "127.0.0.1:0"}, e.svc, &fakeResolver{aliases: map[string]string{}}, e.inv, log)
	srv := NewServer(gw, log, listener.Limits{})
	err := srv.Start(context.Background())
	if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "--listen off") {
		_ = srv.Stop(context.Background())
		t.Fatalf("--listen off without a certificate: %v", err)
	}
	if strings.HasSuffix(err.Error(), "invalid parameter") {
		t.Errorf("the refusal ends in Go's error kind: %q", err)
	}
}

func TestHTTPSProxyTellsBackendHTTPS(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("X-Forwarded-Proto"))
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	defer backend.Close()
	e := newTLSEnv(t, Config{}, edge.Config{})
	id := e.deploy(&apis.API{Name: "px", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "ANY", Path: "/{proxy+}", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, URI: backend.URL + "/{proxy}", HTTPMethod: "ANY"}},
	}}}, "prod")
	for _, h2 := range []bool{true, false} {
		a := e.get(e.client(h2), "https://localhost/"+id+"/prod/x")
		if a.status != 200 || a.body != "ok" {
			t.Fatalf("h2=%v: %d %s", h2, a.status, a.body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != "https" || seen[1] != "https" {
		t.Fatalf("backend saw X-Forwarded-Proto %q, want https twice", seen)
	}
}

func TestPlainHTTPOnTheTLSPortGets400(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	resp, err := http.Get("http://" + e.srv.TLSAddr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "HTTPS server") {
		t.Fatalf("plain HTTP on the TLS port: %d %q", resp.StatusCode, b)
	}
}

func TestHandshakeThatNeverFinishesIsClosed(t *testing.T) {
	e := newTLSEnv(t, Config{TLSHandshakeTimeout: 50 * time.Millisecond}, edge.Config{})
	conn, err := net.Dial("tcp", e.srv.TLSAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The start of a ClientHello record that never comes in full.
	if _, err := conn.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01}); err != nil {
		t.Fatal(err)
	}
	// A guard against hanging the test, not a timing assertion: the server closes
	// the connection at its handshake deadline.
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err = io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a stalled handshake open")
	}
}

func TestSNINamingNoDomainIsRefused(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	_, err := tls.Dial("tcp", e.srv.TLSAddr(), &tls.Config{ServerName: "nowhere.example.org", RootCAs: e.pool, InsecureSkipVerify: true}) //nolint:gosec // the server must refuse whatever the client accepts
	if err == nil {
		t.Fatal("a handshake for a name that is no domain and not in the certificate succeeded")
	}
	for _, name := range []string{"localhost", "abc123defg.execute-api.localhost"} {
		c, err := tls.Dial("tcp", e.srv.TLSAddr(), &tls.Config{ServerName: name, RootCAs: e.pool})
		if err != nil {
			t.Fatalf("SNI %s: %v", name, err)
		}
		if v := c.ConnectionState().Version; v < tls.VersionTLS12 {
			t.Errorf("version %x", v)
		}
		_ = c.Close()
	}
	// TLS 1.1 is refused.
	if _, err := tls.Dial("tcp", e.srv.TLSAddr(), &tls.Config{ServerName: "localhost", RootCAs: e.pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}); err == nil { //nolint:gosec // testing that the server refuses it
		t.Error("TLS 1.1 handshake succeeded")
	}
}

// writePair writes a certificate and key as a rotation tool does: each to a
// temporary file renamed into place, the key first.
func writePair(t *testing.T, certPath, keyPath string, certPEM, keyPEM []byte) {
	t.Helper()
	for _, f := range []struct {
		path string
		data []byte
	}{{keyPath, keyPEM}, {certPath, certPEM}} {
		tmp := f.path + ".tmp"
		if err := os.WriteFile(tmp, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, f.path); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCertificateReplacedOnDiskReachesNewConnectionsOnly(t *testing.T) {
	certDir := t.TempDir()
	certPath, keyPath := filepath.Join(certDir, "gw.pem"), filepath.Join(certDir, "gw-key.pem")
	// The first certificate, from a CA of its own, written before the server starts.
	ca0, err := edge.NewDevCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c0, k0, err := ca0.Issue([]string{"localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	writePair(t, certPath, keyPath, c0, k0)
	e := newTLSEnv(t, Config{}, edge.Config{CertFile: certPath, KeyFile: keyPath})
	e.pool.AddCert(ca0.Cert)
	reloads, stop := make(chan error, 16), make(chan struct{})
	t.Cleanup(func() { close(stop) }) // runs before the edge closes: the watcher never blocks on us
	e.edge.Certificates().OnReload = func(err error) {
		select {
		case reloads <- err:
		case <-stop:
		}
	}
	if err := e.edge.Watch(); err != nil {
		t.Fatal(err)
	}
	waitReload := func(wantSerial string) {
		t.Helper()
		for {
			err := <-reloads
			if err == nil && e.edge.Certificates().Certificate().Leaf.SerialNumber.String() == wantSerial {
				return
			}
		}
	}

	old := e.client(true)
	first := e.get(old, "https://localhost/healthz")
	if first.status != 200 || first.serial == "" {
		t.Fatalf("first: %+v", first)
	}

	c1, k1, err := e.ca.Issue([]string{"localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	writePair(t, certPath, keyPath, c1, k1)
	leaf1, err := edge.ParseKeyPair(c1, k1, "c1", "k1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	newSerial := leaf1.Leaf.SerialNumber.String()
	waitReload(newSerial)

	if a := e.get(e.client(true), "https://localhost/healthz"); a.serial != newSerial {
		t.Fatalf("a new connection got certificate %s, want the new %s", a.serial, newSerial)
	}
	if a := e.get(old, "https://localhost/healthz"); a.status != 200 || a.serial != first.serial {
		t.Fatalf("the old connection: %d, certificate %s, want %s", a.status, a.serial, first.serial)
	}

	// Bad files are refused naming the file; the certificate in use stays.
	expiredCert, expiredKey, err := e.ca.Issue([]string{"localhost"}, time.Now().Add(-2*397*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for name, files := range map[string][2][]byte{
		"unparseable": {[]byte("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"), k1},
		"mismatched":  {c0, k1},
		"expired":     {expiredCert, expiredKey},
	} {
		writePair(t, certPath, keyPath, files[0], files[1])
		var err error
		for err == nil {
			err = <-reloads
		}
		if !strings.Contains(err.Error(), certPath) && !strings.Contains(err.Error(), keyPath) {
			t.Errorf("%s: error %q names neither file", name, err)
		}
		if got := e.edge.Certificates().Certificate().Leaf.SerialNumber.String(); got != newSerial {
			t.Errorf("%s: the certificate in use changed to %s", name, got)
		}
		if a := e.get(e.client(true), "https://localhost/healthz"); a.serial != newSerial {
			t.Errorf("%s: a new connection got %s", name, a.serial)
		}
	}
}

// TestCustomDomainCertificateFilesReloaded: a domain created from files
// (file://CERT?key=KEY) serves new connections the files' new certificate while
// an old connection keeps working; bad new files are refused naming the file,
// and the certificate in use stays.
func TestCustomDomainCertificateFilesReloaded(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	ctx := context.Background()
	const name = "files.example.com"
	certDir := t.TempDir()
	certPath, keyPath := filepath.Join(certDir, "domain.pem"), filepath.Join(certDir, "domain-key.pem")
	issue := func(at time.Time, names ...string) ([]byte, []byte, string) {
		t.Helper()
		c, k, err := e.ca.Issue(names, at)
		if err != nil {
			t.Fatal(err)
		}
		pair, err := edge.ParseKeyPair(c, k, "c", "k", at)
		if err != nil {
			t.Fatal(err)
		}
		return c, k, pair.Leaf.SerialNumber.String()
	}
	c0, k0, serial0 := issue(time.Now(), name)
	writePair(t, certPath, keyPath, c0, k0)
	id := e.deploy(proxyAPI(apis.ProtocolREST), "prod")
	if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: name, CertificatePEM: c0, KeyPEM: k0, CertificateSource: "file://" + certPath + "?key=" + keyPath}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: name, APIID: id, Stage: "prod"}); err != nil {
		t.Fatal(err)
	}
	reloads, stop := make(chan error, 16), make(chan struct{})
	t.Cleanup(func() { close(stop) }) // runs before the edge closes: the watcher never blocks on us
	e.edge.SetReloadHook(func(domain string, err error) {
		if domain != name {
			return
		}
		select {
		case reloads <- err:
		case <-stop:
		}
	})
	if err := e.edge.Watch(); err != nil {
		t.Fatal(err)
	}
	next := func() error {
		t.Helper()
		select {
		case err := <-reloads:
			return err
		case <-time.After(time.Minute): // a guard against hanging, not a timing assertion
			t.Fatal("the domain's certificate files were not reloaded")
			return nil
		}
	}
	url := "https://" + name + "/pets"
	old := e.client(true)
	if a := e.get(old, url); a.status != 200 || a.serial != serial0 {
		t.Fatalf("first: %d, certificate %s, want %s", a.status, a.serial, serial0)
	}

	c1, k1, serial1 := issue(time.Now(), name)
	writePair(t, certPath, keyPath, c1, k1)
	for err := next(); ; err = next() {
		if err == nil && e.get(e.client(true), url).serial == serial1 {
			break
		}
	}
	if a := e.get(old, url); a.status != 200 || a.serial != serial0 {
		t.Fatalf("the old connection: %d, certificate %s, want %s", a.status, a.serial, serial0)
	}

	expiredCert, expiredKey, _ := issue(time.Now().Add(-2*397*24*time.Hour), name)
	otherCert, otherKey, _ := issue(time.Now(), "other.example.com")
	for _, tc := range []struct {
		name       string
		cert, key  []byte
		file, says string
	}{
		{"unparseable", []byte("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"), k1, certPath, "certificate file " + certPath},
		{"mismatched", c0, k1, keyPath, "does not fit"},
		{"expired", expiredCert, expiredKey, certPath, "expired"},
		{"for another name", otherCert, otherKey, certPath, "does not cover " + name},
	} {
		writePair(t, certPath, keyPath, tc.cert, tc.key)
		// A reload may see the files mid-way (the new key beside the old
		// certificate, or the unchanged good pair): wait for the refusal the
		// final pair earns, then check the certificate in use.
		for {
			err := next()
			if err != nil && strings.Contains(err.Error(), tc.says) {
				if !strings.Contains(err.Error(), tc.file) {
					t.Errorf("%s: error %q does not name %s", tc.name, err, tc.file)
				}
				break
			}
		}
		if a := e.get(e.client(true), url); a.status != 200 || a.serial != serial1 {
			t.Errorf("%s: a new connection got %d, certificate %s, want %s", tc.name, a.status, a.serial, serial1)
		}
	}
}

func TestStartRefusesBadCertificateFiles(t *testing.T) {
	dir := t.TempDir()
	ca, err := edge.NewDevCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, k, _ := ca.Issue([]string{"localhost"}, time.Now())
	c2, _, _ := ca.Issue([]string{"localhost"}, time.Now())
	expired, expiredKey, _ := ca.Issue([]string{"localhost"}, time.Now().Add(-2*397*24*time.Hour))
	certPath, keyPath := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	st := gwtest.Store(t, dir)
	start := func() error {
		_, err := edge.New(context.Background(), edge.Config{CertFile: certPath, KeyFile: keyPath}, st, apis.NewService(st, nil), nil, nil)
		return err
	}
	for _, tc := range []struct {
		name      string
		cert, key []byte
		blame     string
	}{
		{"mismatched", c2, k, keyPath},
		{"unparseable", []byte("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"), k, certPath},
		{"no key", c, c, keyPath},
		{"expired", expired, expiredKey, certPath},
	} {
		writePair(t, certPath, keyPath, tc.cert, tc.key)
		if err := start(); !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), tc.blame) {
			t.Errorf("%s pair at start: %v, want ErrInvalid naming %s", tc.name, err, tc.blame)
		}
	}
	writePair(t, certPath, keyPath, c, k)
	if err := start(); err != nil {
		t.Fatalf("a good pair: %v", err)
	}
}

func TestCustomDomainsWithBasePathAndAPIMappings(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	ctx := context.Background()
	restA := e.deploy(proxyAPI(apis.ProtocolREST), "prod")
	restB := e.deploy(proxyAPI(apis.ProtocolREST), "prod")
	orders := e.deploy(httpAPI(), "live")
	ws := e.deploy(&apis.API{Name: "ws", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{RouteSelectionExpression: "$request.body.action",
		Routes: []apis.Route{{RouteKey: "$default", Integration: &apis.Integration{Type: apis.IntegrationMock}}}}}, "prod")

	for _, name := range []string{"api.example.com", "shop.example.com", "*.apps.example.com"} {
		if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: name}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	for _, m := range []edge.Mapping{
		{Domain: "api.example.com", Key: "(none)", APIID: restA, Stage: "prod"},
		{Domain: "api.example.com", Key: "v2", APIID: restB, Stage: "prod"},
		{Domain: "shop.example.com", Key: "orders/v2", APIID: orders, Stage: "live"},
		{Domain: "*.apps.example.com", Key: "", APIID: restA, Stage: "prod"},
	} {
		if _, err := e.edge.CreateMapping(ctx, m); err != nil {
			t.Fatalf("map %+v: %v", m, err)
		}
	}
	c := e.client(true)
	// A REST event's path, like requestContext.path, carries the base path
	// (API Gateway's own events do); the route (resource, pathParameters) is
	// matched on the path after it.
	cases := []struct {
		url, api, path, proxy, domain, prefix string
	}{
		{"https://api.example.com/pets/1", restA, "/pets/1", "pets/1", "api.example.com", "api"},
		{"https://api.example.com/v2/pets/1", restB, "/v2/pets/1", "pets/1", "api.example.com", "api"},
		{"https://api.example.com/v2/x", restB, "/v2/x", "x", "api.example.com", "api"},
		{"https://api.example.com/v20/pets", restA, "/v20/pets", "v20/pets", "api.example.com", "api"},
		{"https://tenant1.apps.example.com/pets", restA, "/pets", "pets", "tenant1.apps.example.com", "tenant1"},
	}
	for _, tc := range cases {
		a := e.get(c, tc.url)
		if a.status != 200 || a.proto != 2 {
			t.Fatalf("%s: %d HTTP/%d %s", tc.url, a.status, a.proto, a.body)
		}
		ev := e.lastEvent()
		if got := str2(ev, "requestContext", "apiId"); got != tc.api {
			t.Errorf("%s: api %s, want %s", tc.url, got, tc.api)
		}
		if got := str2(ev, "path"); got != tc.path {
			t.Errorf("%s: path %q, want %q", tc.url, got, tc.path)
		}
		if got := str2(ev, "requestContext", "path"); got != tc.path {
			t.Errorf("%s: requestContext.path %q, want %q", tc.url, got, tc.path)
		}
		if got := str2(ev, "pathParameters", "proxy"); got != tc.proxy {
			t.Errorf("%s: pathParameters.proxy %q, want %q", tc.url, got, tc.proxy)
		}
		if got := str2(ev, "requestContext", "domainName"); got != tc.domain {
			t.Errorf("%s: domainName %q", tc.url, got)
		}
		if got := str2(ev, "requestContext", "domainPrefix"); got != tc.prefix {
			t.Errorf("%s: domainPrefix %q", tc.url, got)
		}
	}
	// The HTTP API's multi-level key: the route sees the path after it.
	a := e.get(c, "https://shop.example.com/orders/v2/items/7")
	if a.status != 200 {
		t.Fatalf("orders/v2: %d %s", a.status, a.body)
	}
	ev := e.lastEvent()
	if got := str2(ev, "pathParameters", "proxy"); got != "items/7" {
		t.Errorf("orders/v2: proxy %q, want items/7", got)
	}
	if got := str2(ev, "rawPath"); got != "/orders/v2/items/7" {
		t.Errorf("orders/v2: rawPath %q", got)
	}
	// A path no mapping covers, and a name one level too deep for the wildcard.
	if a := e.get(c, "https://shop.example.com/orders/v1/items"); a.status != 403 || a.body != `{"message":"Forbidden"}` || a.header.Get("x-amzn-ErrorType") != "ForbiddenException" {
		t.Errorf("unmapped base path: %d %s %q", a.status, a.body, a.header.Get("x-amzn-ErrorType"))
	}
	if resp, err := c.Get("https://a.b.apps.example.com/pets"); err == nil {
		_ = resp.Body.Close()
		t.Error("a.b.apps.example.com was served: the wildcard covers one label")
	}

	// Bad input.
	if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: "api.example.com"}); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("the same domain twice: %v", err)
	}
	if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: "api.example.com", Key: "/v2", APIID: restA, Stage: "prod"}); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("base path v2 mapped twice: %v", err)
	}
	for _, key := range []string{"v2/", "a//b", "sp ace", "x?y"} {
		if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: "api.example.com", Key: key, APIID: restA, Stage: "prod"}); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("base path %q: %v", key, err)
		}
	}
	if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: "api.example.com", Key: "chat", APIID: ws, Stage: "prod"}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("a WebSocket API beside REST APIs: %v", err)
	}
	if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: "api.example.com", Key: "v3", APIID: restA, Stage: "nope"}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("unknown stage: %v", err)
	}
	if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: "nope.example.com", Key: "v3", APIID: restA, Stage: "prod"}); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("unknown domain: %v", err)
	}
	if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: "bad_name.example.com"}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("bad domain name: %v", err)
	}
	other, _ := edge.NewDevCA(time.Now())
	wrongCert, wrongKey, _ := other.Issue([]string{"other.example.com"}, time.Now())
	if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: "mine.example.com", CertificatePEM: wrongCert, KeyPEM: wrongKey}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("a certificate for another name: %v", err)
	}

	// Mappings survive a restart of the edge (they are in the store).
	if err := e.edge.DeleteMapping(ctx, "api.example.com", "v2", true); err != nil {
		t.Fatal(err)
	}
	if a := e.get(c, "https://api.example.com/v2/pets"); a.status != 200 || str2(e.lastEvent(), "requestContext", "apiId") != restA {
		t.Errorf("after deleting v2, /v2 goes to the (none) mapping: %d", a.status)
	}
}

func TestDisableExecuteAPIEndpoint(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	ctx := context.Background()
	a := proxyAPI(apis.ProtocolREST)
	a.Extensions = map[string]json.RawMessage{edge.EndpointConfigurationExtension: json.RawMessage(`{"disableExecuteApiEndpoint": true}`)}
	id := e.deploy(a, "prod")
	if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: "api.example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: "api.example.com", APIID: id, Stage: "prod"}); err != nil {
		t.Fatal(err)
	}
	c := e.client(true)
	for _, u := range []string{"https://localhost/" + id + "/prod/pets", "https://" + id + ".execute-api.localhost/prod/pets"} {
		a := e.get(c, u)
		if a.status != 403 || a.body != `{"message":"Forbidden"}` || a.header.Get("x-amzn-ErrorType") != "ForbiddenException" {
			t.Errorf("%s: %d %s %q", u, a.status, a.body, a.header.Get("x-amzn-ErrorType"))
		}
	}
	// The plain listener's path-style URL too.
	if a := e.get(http.DefaultClient, e.srv.StageURL(id, "prod")+"pets"); a.status != 403 || a.header.Get("x-amzn-ErrorType") != "ForbiddenException" {
		t.Errorf("plain path-style URL: %d %s", a.status, a.body)
	}
	if a := e.get(c, "https://api.example.com/pets"); a.status != 200 {
		t.Errorf("the custom domain: %d %s", a.status, a.body)
	}
}

func TestMutualTLSPerDomain(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	ctx := context.Background()
	clientCA, err := edge.NewDevCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rest := e.deploy(proxyAPI(apis.ProtocolREST), "prod")
	httpID := e.deploy(httpAPI(), "prod")
	for name, id := range map[string]string{"secure.example.com": rest, "secure2.example.com": httpID} {
		if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: name, TruststorePEM: clientCA.CertPEM, TruststoreURI: "file:///truststore.pem"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: name, APIID: id, Stage: "prod"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: "bad.example.com", TruststorePEM: []byte("not pem")}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("a truststore without certificates: %v", err)
	}
	good := clientPair(t, clientCA, "alice")
	a := e.get(e.client(true, good), "https://secure.example.com/pets")
	if a.status != 200 {
		t.Fatalf("a good client certificate: %d %s", a.status, a.body)
	}
	ev := e.lastEvent()
	if got := str2(ev, "requestContext", "identity", "clientCert", "subjectDN"); !strings.Contains(got, "CN=alice") {
		t.Errorf("clientCert.subjectDN %q", got)
	}
	if got := str2(ev, "requestContext", "identity", "clientCert", "issuerDN"); !strings.Contains(got, "Portico development CA") {
		t.Errorf("clientCert.issuerDN %q", got)
	}
	for _, f := range []string{"clientCertPem", "serialNumber"} {
		if str2(ev, "requestContext", "identity", "clientCert", f) == "" {
			t.Errorf("clientCert.%s is empty", f)
		}
	}
	if str2(ev, "requestContext", "identity", "clientCert", "validity", "notAfter") == "" {
		t.Error("clientCert.validity.notAfter is empty")
	}
	a = e.get(e.client(true, good), "https://secure2.example.com/pets")
	if a.status != 200 {
		t.Fatalf("HTTP API with a good client certificate: %d %s", a.status, a.body)
	}
	if got := str2(e.lastEvent(), "requestContext", "authentication", "clientCert", "subjectDN"); !strings.Contains(got, "CN=alice") {
		t.Errorf("HTTP API authentication.clientCert.subjectDN %q", got)
	}

	// No certificate, or one from another CA: the handshake fails, and
	// the server logs why (tls28: the client saw an alert, the operator
	// nothing at the default level).
	stranger, _ := edge.NewDevCA(time.Now())
	for name, c := range map[string]*http.Client{"none": e.client(true), "another CA": e.client(true, clientPair(t, stranger, "mallory"))} {
		resp, err := c.Get("https://secure.example.com/pets")
		if err == nil {
			_ = resp.Body.Close()
			t.Errorf("%s: served with %d", name, resp.StatusCode)
		}
	}
	// Logged as the connection closes: the client may see the close first.
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(time.Millisecond) {
		logs := e.logs.String()
		if strings.Count(logs, "mutual TLS handshake refused") >= 2 && strings.Contains(logs, "domain=secure.example.com") &&
			strings.Contains(logs, "didn't provide a certificate") && strings.Contains(logs, "unknown authority") {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the refused mutual TLS handshakes are not logged with their reasons:\n%s", logs)
		}
	}
	// A connection made for another name cannot reach the domain through Host.
	req, _ := http.NewRequest("GET", "https://localhost/pets", nil)
	req.Host = "secure.example.com"
	resp, err := e.client(false, good).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("Host of an mTLS domain over a localhost connection: %d, want 421", resp.StatusCode)
	}
	// Nor through the plain listener.
	req, _ = http.NewRequest("GET", "http://"+e.srv.Addr()+"/pets", nil)
	req.Host = "secure.example.com"
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("Host of an mTLS domain over plain HTTP: %d", resp.StatusCode)
	}
}

// TestMutualTLSRefusesSelfSignedClientCertificates: a self-signed client
// certificate fails the handshake even when the truststore holds it, as API
// Gateway refuses one ("Access denied. Reason: self signed certificate"); one
// issued by a CA of the same truststore is served. Self-signed both as a CA
// (what `openssl req -x509` makes) and as a plain leaf.
func TestMutualTLSRefusesSelfSignedClientCertificates(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	ctx := context.Background()
	clientCA, err := edge.NewDevCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	selfSigned := func(cn string, isCA bool) (tls.Certificate, []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			BasicConstraintsValid: true, IsCA: isCA}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	selfCA, selfCAPEM := selfSigned("selfie", true)
	selfLeaf, selfLeafPEM := selfSigned("selfie-leaf", false)
	truststore := append(append(append([]byte(nil), clientCA.CertPEM...), selfCAPEM...), selfLeafPEM...)
	if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: "secure.example.com", TruststorePEM: truststore, TruststoreURI: "file:///truststore.pem"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: "secure.example.com", APIID: e.deploy(proxyAPI(apis.ProtocolREST), "prod"), Stage: "prod"}); err != nil {
		t.Fatal(err)
	}
	if a := e.get(e.client(true, clientPair(t, clientCA, "alice")), "https://secure.example.com/pets"); a.status != 200 {
		t.Fatalf("a client certificate issued by the truststore's CA: %d %s", a.status, a.body)
	}
	for name, pair := range map[string]tls.Certificate{"self-signed CA": selfCA, "self-signed leaf": selfLeaf} {
		resp, err := e.client(true, pair).Get("https://secure.example.com/pets")
		if err == nil {
			_ = resp.Body.Close()
			t.Errorf("%s in the truststore: served with %d", name, resp.StatusCode)
		}
	}
}

// TestWSSConnectEventSaysHTTPSAndCallbackStaysPlain opens a wss connection: its
// $connect event says https and spells header names as the client did, its
// domainName is the plain listener's, where @connections reaches the client.
func TestWSSConnectEventSaysHTTPSAndCallbackStaysPlain(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	cfg := connections.DefaultConfig()
	cfg.AdminToken = "tok"
	m := connections.New(cfg, nil)
	e.gw.EnableWebSockets(m)
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	messages := make(chan map[string]any, 4)
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		var ev map[string]any
		if json.Unmarshal(req.Payload, &ev) == nil && str2(ev, "requestContext", "eventType") == "MESSAGE" {
			messages <- ev
		}
		return &invoker.Result{Payload: []byte(`{"statusCode":200}`), ExecutedVersion: "1"}, nil
	}
	id := e.deploy(&apis.API{Name: "ws", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{RouteSelectionExpression: "$request.body.action",
		Routes: []apis.Route{
			{RouteKey: "$connect", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello:1"}},
			{RouteKey: "$default", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello:1"}},
		}}}, "prod")
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: e.pool}}
	_, port, _ := net.SplitHostPort(e.srv.TLSAddr())
	c, resp, err := d.Dial("wss://localhost:"+port+"/"+id+"/prod", http.Header{"x-api-KEY": {"k"}}) // sent as spelled
	if err != nil {
		t.Fatalf("wss dial: %v", err)
	}
	_ = resp.Body.Close()
	defer c.Close()
	ev := e.lastEvent()
	if got := str2(ev, "headers", "X-Forwarded-Proto"); got != "https" {
		t.Errorf("$connect X-Forwarded-Proto %q, want https", got)
	}
	if got := str2(ev, "headers", "x-api-KEY"); got != "k" {
		t.Errorf("$connect headers %v: want x-api-KEY spelled as the client did", ev["headers"])
	}
	_, plainPort, _ := net.SplitHostPort(e.srv.Addr())
	dn := str2(ev, "requestContext", "domainName")
	if _, p, _ := net.SplitHostPort(dn); p != plainPort {
		t.Errorf("$connect domainName %q: want the plain listener's port %s, where functions call @connections", dn, plainPort)
	}
	// A message routes over wss, and @connections at http://{domainName}/{stage}
	// reaches the client.
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"action":"x"}`)); err != nil {
		t.Fatal(err)
	}
	msg := <-messages
	connID := str2(msg, "requestContext", "connectionId")
	req, _ := http.NewRequest(http.MethodPost, "http://"+dn+"/prod/@connections/"+connID, strings.NewReader("pushed"))
	req.Header.Set("Authorization", "Bearer tok")
	presp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = presp.Body.Close()
	if presp.StatusCode != 200 {
		t.Fatalf("@connections POST: %d", presp.StatusCode)
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second)) // a guard against hanging, not a timing assertion
	if _, b, err := c.ReadMessage(); err != nil || string(b) != "pushed" {
		t.Fatalf("the wss client read %q, %v", b, err)
	}
}

// TestMutualTLSClientCertSpelledAsAPIGateway checks requestContext's
// clientCert against API Gateway's own example (aws-lambda-go's
// apigw-custom-auth-request-type-request.json and apigw-request.json): names in
// the certificate's order, serial 1 as "1", a long serial as colon-separated
// hex, the day of a date padded with a space ("Aug  5").
func TestMutualTLSClientCertSpelledAsAPIGateway(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	ctx := context.Background()
	name := func(cn string) pkix.Name {
		return pkix.Name{Country: []string{"US"}, Province: []string{"Washington"}, Locality: []string{"Seattle"},
			Organization: []string{"Amazon Web Services"}, OrganizationalUnit: []string{"Security"}, CommonName: cn}
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: name("My Private CA"), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	issue := func(serial *big.Int) tls.Certificate {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: serial, Subject: name("My Client"), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			NotBefore: time.Date(2020, 8, 29, 0, 28, 21, 0, time.UTC), NotAfter: time.Date(2120, 8, 5, 0, 28, 21, 0, time.UTC)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	truststore := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	rest := e.deploy(proxyAPI(apis.ProtocolREST), "prod")
	httpID := e.deploy(httpAPI(), "prod")
	for name, id := range map[string]string{"rest.example.com": rest, "http.example.com": httpID} {
		if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: name, TruststorePEM: truststore, TruststoreURI: "file:///truststore.pem"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: name, APIID: id, Stage: "prod"}); err != nil {
			t.Fatal(err)
		}
	}
	long, _ := new(big.Int).SetString("a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", 16)
	for _, tc := range []struct {
		serial *big.Int
		want   string
	}{
		{big.NewInt(1), "1"},
		{long, "a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1"},
	} {
		cert := issue(tc.serial)
		for url, at := range map[string][]string{
			"https://rest.example.com/pets": {"requestContext", "identity", "clientCert"},
			"https://http.example.com/pets": {"requestContext", "authentication", "clientCert"},
		} {
			if a := e.get(e.client(true, cert), url); a.status != 200 {
				t.Fatalf("%s: %d %s", url, a.status, a.body)
			}
			ev := e.lastEvent()
			field := func(f ...string) string { return str2(ev, append(append([]string{}, at...), f...)...) }
			for _, c := range []struct{ got, want string }{
				{field("subjectDN"), "C=US,ST=Washington,L=Seattle,O=Amazon Web Services,OU=Security,CN=My Client"},
				{field("issuerDN"), "C=US,ST=Washington,L=Seattle,O=Amazon Web Services,OU=Security,CN=My Private CA"},
				{field("serialNumber"), tc.want},
				{field("validity", "notBefore"), "Aug 29 00:28:21 2020 GMT"},
				{field("validity", "notAfter"), "Aug  5 00:28:21 2120 GMT"},
			} {
				if c.got != c.want {
					t.Errorf("%s: %q, want %q", url, c.got, c.want)
				}
			}
			if !strings.HasPrefix(field("clientCertPem"), "-----BEGIN CERTIFICATE-----\n") {
				t.Errorf("%s: clientCertPem %q", url, field("clientCertPem"))
			}
		}
	}
}

// TestMutualTLSKeepAliveVerifiedUnderAnEarlierTruststore holds keep-alive
// connections (HTTP/1.1 and HTTP/2) to a mutual TLS domain, then deletes the
// domain and creates it again with another CA's truststore: the connections,
// verified against the old truststore, are refused (403) and closed (HTTP/2:
// GOAWAY), the old client certificate cannot make a new connection, and the
// new CA's can. A domain created again with the same truststore keeps its
// connections.
func TestMutualTLSKeepAliveVerifiedUnderAnEarlierTruststore(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	ctx := context.Background()
	const name = "secure.example.com"
	rest := e.deploy(proxyAPI(apis.ProtocolREST), "prod")
	newCA := func() *edge.DevCA {
		ca, err := edge.NewDevCA(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return ca
	}
	create := func(ca *edge.DevCA) {
		t.Helper()
		if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: name, TruststorePEM: ca.CertPEM, TruststoreURI: "file:///truststore.pem"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: name, APIID: rest, Stage: "prod"}); err != nil {
			t.Fatal(err)
		}
	}
	recreate := func(ca *edge.DevCA) {
		t.Helper()
		if err := e.edge.DeleteDomain(ctx, name); err != nil {
			t.Fatal(err)
		}
		create(ca)
	}
	// get answers the status of a GET on c and whether it reused a connection.
	get := func(c *http.Client) (status int, reused, closed bool, err error) {
		req, _ := http.NewRequest("GET", "https://"+name+"/pets", nil)
		req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
		}))
		resp, err := c.Do(req)
		if err != nil {
			return 0, reused, false, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, reused, resp.Close, nil
	}

	ca1, ca2 := newCA(), newCA()
	create(ca1)
	old := clientPair(t, ca1, "alice")
	for _, h2 := range []bool{false, true} {
		c := e.client(h2, old)
		if st, _, _, err := get(c); err != nil || st != 200 {
			t.Fatalf("h2 %v: first request: %d %v", h2, st, err)
		}
		// The same truststore again: the connection was verified against it.
		recreate(ca1)
		if st, reused, _, err := get(c); err != nil || st != 200 || !reused {
			t.Fatalf("h2 %v: recreated with the same truststore: %d reused %v %v", h2, st, reused, err)
		}
		recreate(ca2)
		st, reused, closed, err := get(c)
		if err != nil || !reused {
			t.Fatalf("h2 %v: the keep-alive connection after the truststore changed: reused %v %v", h2, reused, err)
		}
		if st != 403 {
			t.Errorf("h2 %v: a connection verified against the old truststore was served: %d", h2, st)
		}
		if !h2 && !closed {
			t.Errorf("HTTP/1.1: the stale connection was not closed")
		}
		// The stale connection is closed (HTTP/2: GOAWAY): the client's next
		// request needs a new handshake, which the old CA's certificate fails.
		// Over HTTP/2 the client may open its next stream before it reads the
		// GOAWAY that follows the 403; that stream gets a 403 again, never a
		// response from the API.
		if st, reused, _, err := get(c); err == nil && (!h2 || st != 403) {
			t.Errorf("h2 %v: the stale connection served again: %d reused %v", h2, st, reused)
		}
		if st, _, _, err := get(e.client(h2, old)); err == nil {
			t.Errorf("h2 %v: a new connection with the old CA's certificate was served: %d", h2, st)
		}
		if st, _, _, err := get(e.client(h2, clientPair(t, ca2, "bob"))); err != nil || st != 200 {
			t.Errorf("h2 %v: the new CA's certificate: %d %v", h2, st, err)
		}
		recreate(ca1)
	}
	// A deleted domain's keep-alive connections no longer reach its mappings.
	c := e.client(true, old)
	if st, _, _, err := get(c); err != nil || st != 200 {
		t.Fatalf("before the delete: %d %v", st, err)
	}
	if err := e.edge.DeleteDomain(ctx, name); err != nil {
		t.Fatal(err)
	}
	if st, reused, _, err := get(c); err != nil || !reused || st == 200 {
		t.Errorf("a deleted domain's keep-alive connection: %d reused %v %v", st, reused, err)
	}
}

// TestMutualTLSResumedSessionServed resumes a TLS session on a mutual TLS
// domain: the resumed connection's client certificate, restored from the
// session ticket, counts as verified against the domain's truststore.
func TestMutualTLSResumedSessionServed(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	ctx := context.Background()
	const name = "secure.example.com"
	rest := e.deploy(proxyAPI(apis.ProtocolREST), "prod")
	ca, err := edge.NewDevCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: name, TruststorePEM: ca.CertPEM, TruststoreURI: "file:///truststore.pem"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: name, APIID: rest, Stage: "prod"}); err != nil {
		t.Fatal(err)
	}
	pair := clientPair(t, ca, "alice")
	client := e.client(false, pair)
	tr := client.Transport.(*http.Transport)
	tr.TLSClientConfig.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	tr.DisableKeepAlives = true
	resumed := false
	for i := 0; i < 3; i++ {
		resp, err := client.Get("https://" + name + "/pets")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d (resumed %v): %d", i, resp.TLS.DidResume, resp.StatusCode)
		}
		resumed = resumed || resp.TLS.DidResume
	}
	if !resumed {
		t.Fatal("no session was resumed")
	}
}

// TestMutualTLSClientCertInMappingTemplates renders
// $context.identity.clientCert in a MOCK integration's response template over
// a real mutual TLS connection, and over one without a client certificate.
func TestMutualTLSClientCertInMappingTemplates(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	ctx := context.Background()
	tmpl := `$context.identity.clientCert.subjectDN|$context.identity.clientCert.serialNumber|$context.identity.clientCert.clientCertPem.startsWith("-----BEGIN CERTIFICATE-----")`
	id := e.deploy(&apis.API{Name: "m", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/who", Integration: &apis.Integration{Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200",
				ResponseTemplates: map[string]string{"application/json": tmpl}}}}},
	}}}, "prod")
	ca, err := edge.NewDevCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: "secure.example.com", TruststorePEM: ca.CertPEM, TruststoreURI: "file:///truststore.pem"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: "secure.example.com", APIID: id, Stage: "prod"}); err != nil {
		t.Fatal(err)
	}
	pair := clientPair(t, ca, "alice")
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	a := e.get(e.client(true, pair), "https://secure.example.com/who")
	cc := edge.ClientCertOf(&tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}, VerifiedChains: [][]*x509.Certificate{{leaf}}})
	if want := cc.SubjectDN + "|" + cc.SerialNumber + "|true"; a.status != 200 || a.body != want || !strings.Contains(a.body, "CN=alice") {
		t.Errorf("over mutual TLS: %d %q, want %q", a.status, a.body, want)
	}
	// The default endpoint over TLS, without a client certificate: nothing.
	a = e.get(e.client(false), "https://localhost/"+id+"/prod/who")
	if a.status != 200 || strings.Contains(a.body, "CN=") {
		t.Errorf("without a client certificate: %d %q", a.status, a.body)
	}
}

// TestMutualTLSWebSocketsClosedWhenTheTruststoreChanges holds wss connections
// to a mutual TLS domain, with client certificates of two CAs, then updates
// the domain's truststore to hold one of them: the other CA's connection gets
// a close frame (1008) at once, without sending anything, and $disconnect runs
// for it with that code; the connection the new truststore still admits stays
// open and routes its messages. Deleting the domain closes that one too.
func TestMutualTLSWebSocketsClosedWhenTheTruststoreChanges(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	ctx := context.Background()
	m := connections.New(connections.DefaultConfig(), nil)
	e.gw.EnableWebSockets(m)
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	evs := make(chan map[string]any, 16)
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		var ev map[string]any
		if err := json.Unmarshal(req.Payload, &ev); err == nil {
			evs <- ev
		}
		return &invoker.Result{Payload: []byte(`{"statusCode":200}`), ExecutedVersion: "1"}, nil
	}
	next := func(eventType string) map[string]any {
		t.Helper()
		for {
			select {
			case ev := <-evs:
				if str2(ev, "requestContext", "eventType") == eventType {
					return ev
				}
			case <-time.After(30 * time.Second): // a guard against hanging, not a timing assertion
				t.Fatalf("no %s event", eventType)
			}
		}
	}
	fn := &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello:1"}
	id := e.deploy(&apis.API{Name: "ws", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{RouteSelectionExpression: "$request.body.action",
		Routes: []apis.Route{{RouteKey: "$connect", Integration: fn}, {RouteKey: "$default", Integration: fn}, {RouteKey: "$disconnect", Integration: fn}}}}, "prod")
	ca1, err := edge.NewDevCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ca2, err := edge.NewDevCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	const name = "secure.example.com"
	both := append(append([]byte{}, ca1.CertPEM...), ca2.CertPEM...)
	if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: name, TruststorePEM: both, TruststoreURI: "file:///truststore.pem"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: name, APIID: id, Stage: "prod"}); err != nil {
		t.Fatal(err)
	}
	dial := func(ca *edge.DevCA, cn string) (*websocket.Conn, string) {
		t.Helper()
		pair := clientPair(t, ca, cn)
		d := websocket.Dialer{
			TLSClientConfig: &tls.Config{RootCAs: e.pool, Certificates: []tls.Certificate{pair}},
			NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var nd net.Dialer
				return nd.DialContext(ctx, network, e.srv.TLSAddr())
			},
		}
		ws, resp, err := d.Dial("wss://"+name+"/", nil)
		if err != nil {
			t.Fatalf("wss dial with %s's certificate: %v", cn, err)
		}
		_ = resp.Body.Close()
		t.Cleanup(func() { _ = ws.Close() })
		return ws, str2(next("CONNECT"), "requestContext", "connectionId")
	}
	alice, aliceID := dial(ca1, "alice")
	bob, bobID := dial(ca2, "bob")

	// The truststore now holds ca2 only: alice's connection is closed at once.
	if _, err := e.edge.UpdateDomain(ctx, name, func(d *edge.Domain) error {
		d.TruststorePEM = ca2.CertPEM
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	closedWith := func(ws *websocket.Conn, who string) {
		t.Helper()
		_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second)) // a guard against hanging, not a timing assertion
		_, b, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != closeUntrustedReason {
			t.Fatalf("%s's connection after the truststore change: read %q, %v; want a close frame 1008 %q", who, b, err, closeUntrustedReason)
		}
	}
	closedWith(alice, "alice")
	ev := next("DISCONNECT")
	if got := str2(ev, "requestContext", "connectionId"); got != aliceID {
		t.Errorf("$disconnect of %q, want alice's %q", got, aliceID)
	}
	rc, _ := ev["requestContext"].(map[string]any)
	if code, _ := rc["disconnectStatusCode"].(float64); code != 1008 {
		t.Errorf("$disconnect disconnectStatusCode %v, want 1008", rc["disconnectStatusCode"])
	}
	if got := str2(ev, "requestContext", "disconnectReason"); got != closeUntrustedReason {
		t.Errorf("$disconnect disconnectReason %q", got)
	}

	// Bob's certificate is still trusted: his connection routes messages.
	if err := bob.WriteMessage(websocket.TextMessage, []byte(`{"action":"hi"}`)); err != nil {
		t.Fatal(err)
	}
	if got := str2(next("MESSAGE"), "requestContext", "connectionId"); got != bobID {
		t.Errorf("a message from %q, want bob's %q", got, bobID)
	}
	if _, err := m.Get("", "", bobID); err != nil {
		t.Errorf("bob's connection after the truststore change: %v", err)
	}

	// A deleted domain's truststore admits no one.
	if err := e.edge.DeleteDomain(ctx, name); err != nil {
		t.Fatal(err)
	}
	closedWith(bob, "bob")
	if got := str2(next("DISCONNECT"), "requestContext", "connectionId"); got != bobID {
		t.Errorf("$disconnect of %q, want bob's %q", got, bobID)
	}
}

// TestMutualTLSClientCertPemInAccessLogsIsOneLine requests a mutual TLS domain
// over real TLS with a client certificate, its stage's access log in a JSON
// format and in a CLF-style one holding $context.identity.clientCert.clientCertPem:
// each request is one line, the JSON line is valid JSON whose clientCertPem is
// the certificate's PEM as the client sent it.
func TestMutualTLSClientCertPemInAccessLogsIsOneLine(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	ctx := context.Background()
	logs := &syncBuilder{}
	al, err := accesslog.New(accesslog.Options{Stdout: logs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.gw.Use(al)
	clientCA, err := edge.NewDevCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	formats := map[string]string{
		"json.example.com": `{"requestId":"$context.requestId","subject":"$context.identity.clientCert.subjectDN","pem":"$context.identity.clientCert.clientCertPem"}`,
		"clf.example.com":  `$context.identity.sourceIp [$context.requestTime] "$context.httpMethod $context.resourcePath" $context.status $context.identity.clientCert.clientCertPem $context.requestId`,
	}
	for name, format := range formats {
		id := e.deploy(proxyAPI(apis.ProtocolREST), "prod")
		if _, err := e.svc.SetAccessLogSettings(ctx, id, "prod", &apis.AccessLogSettings{Format: format, DestinationARN: "stdout"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: name, TruststorePEM: clientCA.CertPEM, TruststoreURI: "file:///truststore.pem"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: name, APIID: id, Stage: "prod"}); err != nil {
			t.Fatal(err)
		}
	}
	pair := clientPair(t, clientCA, "alice")
	wantPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pair.Certificate[0]}))
	c := e.client(true, pair)
	for name := range formats {
		if a := e.get(c, "https://"+name+"/pets"); a.status != 200 {
			t.Fatalf("%s: %d %s", name, a.status, a.body)
		}
	}
	if err := al.Close(ctx); err != nil { // writes the queued lines
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(logs.String(), "\n"), "\n")
	if len(lines) != len(formats) {
		t.Fatalf("%d requests wrote %d lines:\n%s", len(formats), len(lines), logs.String())
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, "{") {
			if !strings.Contains(line, `-----BEGIN CERTIFICATE-----\n`) || !strings.Contains(line, `\n-----END CERTIFICATE-----\n `) {
				t.Errorf("CLF line without the PEM's escaped line breaks: %s", line)
			}
			continue
		}
		var rec struct{ Subject, PEM string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("the JSON line is not JSON: %v\n%s", err, line)
		}
		if rec.PEM != wantPEM || !strings.Contains(rec.Subject, "CN=alice") {
			t.Errorf("JSON line: subject %q, pem %q; want the client's certificate %q", rec.Subject, rec.PEM, wantPEM)
		}
	}
}

// clientPair is a client certificate for cn issued by ca, with its key.
func clientPair(t *testing.T, ca *edge.DevCA, cn string) tls.Certificate {
	t.Helper()
	c, k, err := ca.IssueClient(cn, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// TestDisableExecuteAPIEndpointWebSocketConnections: a WebSocket API that turned
// its default endpoints off answers @connections only at its custom domain; the
// gateway's own address (/{stage}/@connections/{id}, the connection id naming
// the API) refuses it as the path-based URL does.
func TestDisableExecuteAPIEndpointWebSocketConnections(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	ctx := context.Background()
	cfg := connections.DefaultConfig()
	cfg.AdminToken = "tok"
	m := connections.New(cfg, nil)
	e.gw.EnableWebSockets(m)
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	e.inv.handle = func(invoker.Request) (*invoker.Result, error) {
		return &invoker.Result{Payload: []byte(`{"statusCode":200}`), ExecutedVersion: "1"}, nil
	}
	a := &apis.API{Name: "ws", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{RouteSelectionExpression: "$request.body.action",
		Routes: []apis.Route{{RouteKey: "$default", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello:1"}}}}}
	a.Extensions = map[string]json.RawMessage{edge.EndpointConfigurationExtension: json.RawMessage(`{"disableExecuteApiEndpoint": true}`)}
	id := e.deploy(a, "prod")
	if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: "chat.example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: "chat.example.com", APIID: id, Stage: "prod"}); err != nil {
		t.Fatal(err)
	}
	tlsAddr := e.srv.TLSAddr()
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: e.pool},
		NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, network, tlsAddr)
		}}
	c, resp, err := d.Dial("wss://chat.example.com/", nil)
	if err != nil {
		t.Fatalf("wss dial at the custom domain: %v", err)
	}
	_ = resp.Body.Close()
	defer c.Close()
	conns := m.List(id, "prod")
	if len(conns) != 1 {
		t.Fatalf("connections: %+v", conns)
	}
	connID := conns[0].ConnectionID
	post := func(client *http.Client, u string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader("x"))
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType")
	}
	for _, u := range []string{
		"http://" + e.srv.Addr() + "/prod/@connections/" + connID,
		"http://" + e.srv.Addr() + "/" + id + "/prod/@connections/" + connID,
	} {
		if st, typ := post(http.DefaultClient, u); st != http.StatusForbidden || typ != "ForbiddenException" {
			t.Errorf("%s: %d %s, want 403 ForbiddenException", u, st, typ)
		}
	}
	if st, typ := post(e.client(false), "https://chat.example.com/@connections/"+connID); st != http.StatusOK {
		t.Fatalf("@connections at the custom domain: %d %s", st, typ)
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second)) // a guard against hanging, not a timing assertion
	if _, b, err := c.ReadMessage(); err != nil || string(b) != "x" {
		t.Fatalf("the client read %q, %v", b, err)
	}
}

// TestBadPathEscapeOverHTTPS: a path with a bad percent-encoding over the TLS
// listener is 400 {"message":"Bad Request"} with the request id over HTTP/2
// (it was a stream reset) and HTTP/1.1 alike.
func TestBadPathEscapeOverHTTPS(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	rest := e.deploy(proxyAPI(apis.ProtocolREST), "prod")
	for _, h2 := range []bool{true, false} {
		req := &http.Request{Method: "GET", Header: http.Header{},
			URL: &url.URL{Scheme: "https", Host: "localhost", Opaque: "/" + rest + "/prod/pets/%zz"}}
		resp, err := e.client(h2).Do(req)
		if err != nil {
			t.Fatalf("HTTP/2 %v: %v", h2, err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 400 || string(b) != `{"message":"Bad Request"}` || resp.Header.Get("x-amzn-RequestId") == "" ||
			resp.Header.Get("x-amzn-ErrorType") != "BadRequestException" || (resp.ProtoMajor == 2) != h2 {
			t.Errorf("HTTP/2 %v: HTTP/%d %d %q %v", h2, resp.ProtoMajor, resp.StatusCode, b, resp.Header)
		}
	}
}

// TestSubDelimsInPathsOverHTTP2: a path with ! ' ( ) * (allowed in base
// paths, and sent unescaped by clients) reaches its base path mapping and
// the route as it was sent, over HTTP/2 as over HTTP/1.1. Over HTTP/2 the
// mapping answered 403 and events carried the path escaped (/x%281%29).
func TestSubDelimsInPathsOverHTTP2(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	ctx := context.Background()
	rest := e.deploy(proxyAPI(apis.ProtocolREST), "prod")
	if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: "cl.example.com"}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"p(1)", "a$b(1)", "q'r", "s*t", "e!f"} {
		if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: "cl.example.com", Key: key, APIID: rest, Stage: "prod"}); err != nil {
			t.Fatalf("map %s: %v", key, err)
		}
	}
	for _, h2 := range []bool{true, false} {
		c := e.client(h2)
		get := func(host, path string) tlsAnswer {
			t.Helper()
			req := &http.Request{Method: "GET", Header: http.Header{}, Host: host,
				URL: &url.URL{Scheme: "https", Host: host, Opaque: path}}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("HTTP/2 %v %s: %v", h2, path, err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if (resp.ProtoMajor == 2) != h2 {
				t.Fatalf("HTTP/2 %v: answered over HTTP/%d", h2, resp.ProtoMajor)
			}
			return tlsAnswer{status: resp.StatusCode, body: string(b)}
		}
		for _, key := range []string{"p(1)", "a$b(1)", "q'r", "s*t", "e!f"} {
			if a := get("cl.example.com", "/"+key+"/m"); a.status != 200 {
				t.Errorf("HTTP/2 %v: /%s/m: %d %s, want the mapping's 200", h2, key, a.status, a.body)
				continue
			}
			if got := str2(e.lastEvent(), "pathParameters", "proxy"); got != "m" {
				t.Errorf("HTTP/2 %v: /%s/m: proxy %q, want m", h2, key, got)
			}
		}
		if a := get("localhost", "/"+rest+"/prod/x(1)!'*"); a.status != 200 {
			t.Fatalf("HTTP/2 %v: path-style: %d %s", h2, a.status, a.body)
		}
		ev := e.lastEvent()
		if got := str2(ev, "path"); got != "/x(1)!'*" {
			t.Errorf("HTTP/2 %v: event path %q, want /x(1)!'*", h2, got)
		}
		if got := str2(ev, "pathParameters", "proxy"); got != "x(1)!'*" {
			t.Errorf("HTTP/2 %v: proxy %q, want x(1)!'*", h2, got)
		}
	}
}
