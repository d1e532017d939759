package accesslog

import (
	"bytes"
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
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/gateway/responses"
)

func TestParseRefusesUnknownVariablesByName(t *testing.T) {
	for _, tc := range []struct{ format, want string }{
		{`$context.requestId $context.nope`, "$context.nope"},
		{`$context.requestId "$context.identity.sourceIpx"`, "$context.identity.sourceIpx"},
		{`$input.body`, "$input"},
		{`$context.identity.apiKey`, "secret API key"},
		{`$context.`, "names no variable"},
		{`$context.authorizer.`, "unknown variable $context.authorizer"},
		{`$method.request.header.X-My-Token`, "unknown variable $method.request.header.X-My-Token:"}, // obs20: named whole
		{`   `, "empty"},
	} {
		_, err := Parse(tc.format)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error naming %q", tc.format, err, tc.want)
		}
	}
	for name, p := range Presets {
		if _, err := Parse(p); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
	for _, ok := range []string{`$context.authorizer.claims.sub $context.authorizer.tenant costs $5.`, `cost: $ 5`} {
		if _, err := Parse(ok); err != nil {
			t.Errorf("Parse(%q): %v", ok, err)
		}
	}
}

// TestFormatMustWriteARequestID: as API Gateway requires, a REST API's
// format writes $context.requestId or $context.extendedRequestId, an HTTP or
// WebSocket API's $context.requestId; the presets write both.
func TestFormatMustWriteARequestID(t *testing.T) {
	for _, tc := range []struct {
		protocol, format string
		ok               bool
	}{
		{apis.ProtocolREST, `$context.httpMethod $context.resourcePath $context.status`, false},
		{apis.ProtocolREST, `$context.requestIdx`, false}, // unknown, refused by name
		{apis.ProtocolREST, `requestId $context.status`, false},
		{apis.ProtocolREST, `$context.requestId $context.status`, true},
		{apis.ProtocolREST, `{"id":"$context.extendedRequestId"}`, true},
		{apis.ProtocolHTTP, `$context.extendedRequestId $context.status`, false},
		{apis.ProtocolHTTP, `$context.requestId`, true},
		{apis.ProtocolWebSocket, `$context.status`, false},
	} {
		_, err := CheckFormat(tc.protocol, tc.format)
		if tc.ok != (err == nil) {
			t.Errorf("CheckFormat(%s, %q) = %v, want ok=%v", tc.protocol, tc.format, err, tc.ok)
		}
		if !tc.ok && err != nil && !strings.Contains(err.Error(), "add $context.requestId") && !strings.Contains(err.Error(), "unknown variable") {
			t.Errorf("CheckFormat(%s, %q) = %v, want it to say to add $context.requestId", tc.protocol, tc.format, err)
		}
	}
	for name, p := range Presets {
		for _, protocol := range []string{apis.ProtocolREST, apis.ProtocolHTTP} {
			if _, err := CheckFormat(protocol, p); err != nil {
				t.Errorf("preset %s (%s): %v", name, protocol, err)
			}
		}
		if !strings.Contains(p, "$context.extendedRequestId") {
			t.Errorf("preset %s lacks $context.extendedRequestId, which the console's has", name)
		}
	}
}

// TestFormatControlCharacters is what the obs26 tester found: a format's own
// line breaks, carriage returns and escape sequences were taken and written
// raw, one request making several lines and an ESC [2J clearing a terminal
// running tail -f. The control planes refuse them (CheckFormat), naming the
// character and where it is; a tab is taken; and a format stored before
// (Parse) writes them escaped, one line per request.
func TestFormatControlCharacters(t *testing.T) {
	for _, tc := range []struct{ format, want string }{
		{"{\"id\":\"$context.requestId\",\n\"st\":\"$context.status\"}", `a line feed (\n) at byte 27`},
		{"$context.requestId\r $context.status", `a carriage return (\r) at byte 18`},
		{"\n$context.requestId\r $context.status\n", `a carriage return (\r) at byte 19`},
		{"$context.requestId \x1b[2J", "an escape character (ESC, U+001B) at byte 19"},
		{"$context.requestId \u009b2J", "the control character U+009B at byte 19"},
		{"$context.requestId \x7f", "the control character U+007F"},
		{"$context.requestId \u2028", "the control character U+2028"},
	} {
		_, err := CheckFormat(apis.ProtocolREST, tc.format)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "remove it") {
			t.Errorf("CheckFormat(%q) = %v, want it refused naming %s", tc.format, err, tc.want)
		}
	}
	if _, err := CheckFormat(apis.ProtocolREST, "$context.requestId\t$context.status"); err != nil {
		t.Errorf("a tab-separated format: %v", err)
	}
	f, err := Parse("{\"id\":\"$context.requestId\",\n\"st\":\"$context.status\"}\x1b[2J\r\u0085\t")
	if err != nil {
		t.Fatal(err)
	}
	line := string(f.Append(nil, &Record{Status: 200, C: &pipeline.Context{RequestID: "r1"}}))
	if want := `{"id":"r1",\n"st":"200"}\u001b[2J\r\u0085` + "\t"; line != want {
		t.Errorf("a stored format with control characters writes %q, want %q", line, want)
	}
}

// TestFormatEndingInLineBreaks: a format that starts or ends with line breaks
// (a template's `Format: >` YAML block ends in one) is taken, and each record
// is still one line, without them, whether the format was set now or stored
// by an older build; Source keeps the format as set.
func TestFormatEndingInLineBreaks(t *testing.T) {
	const format = "\r\n{\"id\":\"$context.requestId\",\"st\":\"$context.status\"}\n\r\n"
	f, err := CheckFormat(apis.ProtocolREST, format)
	if err != nil {
		t.Fatalf("CheckFormat(%q): %v", format, err)
	}
	if f.Source != format {
		t.Errorf("Source = %q, want the format as set", f.Source)
	}
	line := string(f.Append(nil, &Record{Status: 200, C: &pipeline.Context{RequestID: "r1"}}))
	if want := `{"id":"r1","st":"200"}`; line != want {
		t.Errorf("a format ending in line breaks writes %q, want %q", line, want)
	}
	if _, err := CheckFormat(apis.ProtocolREST, "\n\r\n"); err == nil {
		t.Error("a format of line breaks alone was taken")
	}
}

// TestCheckDestinationRefusesDirectories: a file destination that is a
// directory, ends in /, or lies under a file is refused where it is written,
// rather than taken and failing every line; a file to be created is fine.
func TestCheckDestinationRefusesDirectories(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for dest, want := range map[string]string{
		dir:                                  "is a directory",
		"file://" + dir:                      "is a directory",
		filepath.Join(dir, "new") + "/":      "names a directory",
		filepath.Join(file, "x.log"):         "is a file, not a directory",
		filepath.Join(file, "sub", "x.log"):  "is a file, not a directory",
		"arn:aws:logs:us-east-1:1:log-group": "CloudWatch",
	} {
		if _, err := CheckDestination(dest, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckDestination(%q) = %v, want %q", dest, err, want)
		}
	}
	for _, dest := range []string{file, filepath.Join(dir, "a", "b", "dev.log"), "file://" + filepath.Join(dir, "dev.log"), "stdout", "syslog://127.0.0.1:514"} {
		if _, err := CheckDestination(dest, nil); err != nil {
			t.Errorf("CheckDestination(%q): %v", dest, err)
		}
	}
}

func TestParseDestination(t *testing.T) {
	for dest, want := range map[string]string{
		"stdout":                               "stdout",
		"/var/log/portico/dev.log":             "file:///var/log/portico/dev.log",
		"file:///var/log/portico/../x":         "file:///var/log/x",
		"syslog://logs.example:514":            "syslog://logs.example:514",
		"syslog://127.0.0.1:5514":              "syslog://127.0.0.1:5514",
		"file://localhost/tmp/a.log":           "file:///tmp/a.log",
		"relative.log":                         "",
		"arn:aws:logs:us-east-1:1:log-group:x": "",
		"syslog://nohost":                      "",
		"syslog://127.0.0.1:99999":             "",
		"syslog://127.0.0.1:0":                 "",
		"syslog://127.0.0.1:http":              "",
		"syslog://u:PASS@logs.example:514":     "",
		"file://remote/tmp/a":                  "",
		"http://example.com/":                  "",
		"":                                     "",
		// obs20: a path no file can have (a NUL) is refused, not taken
		// and then failing at every line.
		"file:///var/log/obs.log%00": "",
		"/var/log/obs.log\x00":       "",
		"/var/log/a\nb.log":          "",
	} {
		got, err := ParseDestination(dest)
		if want == "" {
			if err == nil {
				t.Errorf("ParseDestination(%q) = %v, want an error", dest, got)
			}
			continue
		}
		if err != nil || got.String() != want {
			t.Errorf("ParseDestination(%q) = %v, %v; want %s", dest, got, err, want)
		}
	}
}

func deployedWith(format, dest string) *pipeline.Deployed {
	st := &apis.Stage{APIID: "abcdefghij", Name: "dev", AccessLogSettings: &apis.AccessLogSettings{Format: format, DestinationARN: dest}}
	dep := &apis.Deployment{ID: "dep1", API: apis.API{ID: "abcdefghij", Name: "pets"}}
	return &pipeline.Deployed{Stage: st, Deployment: dep, API: &dep.API}
}

// stepClock advances by step at each reading.
type stepClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *stepClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

func serve(t *testing.T, s *Stage, d *pipeline.Deployed, c *pipeline.Context, h pipeline.HandlerFunc) int {
	t.Helper()
	chain, err := pipeline.Chain(d, []pipeline.Stage{s, responses.New(nil)}, h)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/abcdefghij/dev/pets/7", nil)
	if err := chain.ServeRequest(rec, req, c); err != nil {
		t.Fatal(err)
	}
	return rec.Code
}

func TestCustomFormatToAFile(t *testing.T) {
	clock := &stepClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), step: 15 * time.Millisecond}
	s, err := New(Options{Now: clock.now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "logs", "dev.log")
	format := `$context.requestId $context.apiId/$context.stage "$context.httpMethod $context.resourcePath $context.path" ` +
		`$context.status $context.responseLength $context.responseLatency ms err=$context.error.messageString ` +
		`type=$context.error.responseType who=$context.authorizer.principalId tenant=$context.authorizer.tenant [$context.requestTime]`
	d := deployedWith(format, "file://"+path)
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	ok := &pipeline.Context{RequestID: "req-1", APIID: "abcdefghij", Stage: "dev", HTTPMethod: "GET", RequestTime: at,
		StagePrefix: "/abcdefghij/dev", Path: "/pets/7"}
	ok.Authorizer.PrincipalID = "user-9"
	ok.Authorizer.Context = map[string]any{"tenant": "acme"}
	if code := serve(t, s, d, ok, func(w http.ResponseWriter, _ *http.Request, c *pipeline.Context) error {
		c.ResourcePath = "/pets/{id}"
		_, err := w.Write([]byte("hello"))
		return err
	}); code != 200 {
		t.Fatalf("status %d", code)
	}
	refused := &pipeline.Context{RequestID: "req-2", APIID: "abcdefghij", Stage: "dev", HTTPMethod: "GET", RequestTime: at.Add(15 * time.Millisecond),
		StagePrefix: "/abcdefghij/dev", Path: "/pets/7"}
	if code := serve(t, s, d, refused, func(http.ResponseWriter, *http.Request, *pipeline.Context) error {
		return pipeline.Errorf(pipeline.MissingAuthenticationToken, "no route")
	}); code != 403 {
		t.Fatalf("status %d", code)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// $context.path is the stage and the path, as on API Gateway (whose
	// URLs carry the API id in the host name, where Portico's carry it first).
	want := `req-1 abcdefghij/dev "GET /pets/{id} /dev/pets/7" 200 5 15 ms err="-" type=- who=user-9 tenant=acme [30/Nov/2026:12:00:00 +0000]
req-2 abcdefghij/dev "GET - /dev/pets/7" 403 42 15 ms err="Missing Authentication Token" type=MISSING_AUTHENTICATION_TOKEN who=- tenant=- [30/Nov/2026:12:00:00 +0000]
`
	if string(got) != want {
		t.Errorf("log:\n%s\nwant:\n%s", got, want)
	}
}

// blockingWriter blocks every Write until released, telling when one began.
type blockingWriter struct {
	entered chan struct{}
	release chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	select {
	case w.entered <- struct{}{}:
	default:
	}
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func TestFullQueueDropsAndCountsWithoutBlocking(t *testing.T) {
	out := &blockingWriter{entered: make(chan struct{}, 1), release: make(chan struct{})}
	s, err := New(Options{Queue: 1, Stdout: out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := deployedWith(`$context.requestId`, "stdout")
	ok := func(w http.ResponseWriter, _ *http.Request, _ *pipeline.Context) error {
		w.WriteHeader(204)
		return nil
	}
	serve(t, s, d, &pipeline.Context{RequestID: "r0"}, ok)
	<-out.entered // the writer holds r0; the queue is empty
	for i := 1; i <= 4; i++ {
		serve(t, s, d, &pipeline.Context{RequestID: "r" + string(rune('0'+i))}, ok) // r1 queued, r2..r4 dropped
	}
	if dropped, failed := s.Dropped("stdout"); dropped != 3 || failed != 0 {
		t.Errorf("dropped %d failed %d, want 3 and 0", dropped, failed)
	}
	close(out.release)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := out.buf.String(); got != "r0\nr1\n" {
		t.Errorf("written %q", got)
	}
}

// TestLongLinesAreCutAndTheQueueIsBoundedInBytes is what the obs20 tester
// found: a format repeating $context.identity.userAgent turned one 50 KB
// request into a 5 MB line, and the queue, bounded only in lines, held
// hundreds of megabytes behind a destination that blocks. A line is cut at
// MaxLine bytes, and a line that would pass the queue's bytes is dropped and
// counted.
func TestLongLinesAreCutAndTheQueueIsBoundedInBytes(t *testing.T) {
	out := &blockingWriter{entered: make(chan struct{}, 1), release: make(chan struct{})}
	s, err := New(Options{QueueBytes: 2 * (MaxLine + 1), Stdout: out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := deployedWith(strings.Repeat("$context.identity.userAgent ", 100), "stdout")
	ok := func(w http.ResponseWriter, _ *http.Request, _ *pipeline.Context) error {
		w.WriteHeader(204)
		return nil
	}
	ua := strings.Repeat("U", 50_000)
	serve(t, s, d, &pipeline.Context{Identity: pipeline.Identity{UserAgent: ua}}, ok)
	<-out.entered // the writer holds the first line; the queue is empty
	for range 3 {
		serve(t, s, d, &pipeline.Context{Identity: pipeline.Identity{UserAgent: ua}}, ok) // two queued, the third dropped
	}
	if dropped, failed := s.Dropped("stdout"); dropped != 1 || failed != 0 {
		t.Errorf("dropped %d failed %d, want 1 and 0", dropped, failed)
	}
	close(out.release)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(out.buf.String(), "\n")
	if len(lines) != 4 || lines[3] != "" {
		t.Fatalf("written %d lines, want 3", len(lines)-1)
	}
	for i, l := range lines[:3] {
		if len(l) != MaxLine+1 || !strings.HasPrefix(l, ua+" "+ua) {
			t.Errorf("line %d is %d bytes, want %d (cut at MaxLine)", i, len(l), MaxLine+1)
		}
	}
}

func TestUnwritableDestinationIsCountedAndRequestsGoOn(t *testing.T) {
	s, err := New(Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(notDir, "dev.log") // a path under a regular file
	d := deployedWith(`$context.requestId`, dest)
	for range 3 {
		if code := serve(t, s, d, &pipeline.Context{}, func(w http.ResponseWriter, _ *http.Request, _ *pipeline.Context) error {
			w.WriteHeader(200)
			return nil
		}); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	_ = s.Close(context.Background())
	if dropped, failed := s.Dropped(dest); dropped != 0 || failed != 3 {
		t.Errorf("dropped %d failed %d, want 0 and 3", dropped, failed)
	}
}

func TestSyslogDestination(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s, err := New(Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := deployedWith(`$context.requestId $context.status`, "syslog://"+pc.LocalAddr().String())
	serve(t, s, d, &pipeline.Context{RequestID: "sys-1"}, func(w http.ResponseWriter, _ *http.Request, _ *pipeline.Context) error {
		w.WriteHeader(201)
		return nil
	})
	_ = s.Close(context.Background())
	buf := make([]byte, 2048)
	_ = pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	msg := string(buf[:n])
	if !strings.HasPrefix(msg, "<134>1 ") || !strings.HasSuffix(msg, " portico - access - sys-1 201") {
		t.Errorf("syslog message %q", msg)
	}
}

// TestSyslogLineOverADatagramIsCut (obs23): a line longer than one UDP
// datagram takes (a format writing a 60 KB User-Agent) was lost whole, its
// write failing with "message too long"; it is cut to MaxSyslogMessage
// bytes, at a character boundary, as MaxLine cuts a line.
func TestSyslogLineOverADatagramIsCut(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s, err := New(Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dest := "syslog://" + pc.LocalAddr().String()
	d := deployedWith(`$context.requestId $context.identity.userAgent`, dest)
	ua := strings.Repeat("é", 40_000) // 80,000 bytes
	serve(t, s, d, &pipeline.Context{RequestID: "sys-2", Identity: pipeline.Identity{UserAgent: ua}}, func(w http.ResponseWriter, _ *http.Request, _ *pipeline.Context) error {
		w.WriteHeader(200)
		return nil
	})
	_ = s.Close(context.Background())
	if _, failed := s.Dropped(dest); failed != 0 {
		t.Errorf("%d lines failed, want the line cut and sent", failed)
	}
	buf := make([]byte, 1<<17)
	_ = pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	msg := buf[:n]
	if n > MaxSyslogMessage || n < MaxSyslogMessage-1 || !utf8.Valid(msg) ||
		!bytes.HasPrefix(msg, []byte("<134>1 ")) || !bytes.Contains(msg, []byte(" portico - access - sys-2 éé")) {
		t.Errorf("syslog message of %d bytes (want %d, cut at a character), UTF-8 %v: %.80q", n, MaxSyslogMessage, utf8.Valid(msg), msg)
	}
}

func TestStageWithoutSettingsCostsNothing(t *testing.T) {
	s, err := New(Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*pipeline.Deployed{deployedWith("", ""), deployedWith("$context.nope", "stdout"), deployedWith("$context.requestId", "arn:aws:logs:x")} {
		if mw, err := s.Compile(d); mw != nil || err != nil {
			t.Errorf("Compile(%+v) = %v, %v; want nothing", d.Stage.AccessLogSettings, mw != nil, err)
		}
	}
	if err := Validate(apis.ProtocolREST, apis.AccessLogSettings{Format: "$context.nope", DestinationARN: "stdout"}); err == nil || !strings.Contains(err.Error(), "$context.nope") {
		t.Errorf("Validate: %v", err)
	}
}

// $context.identity.clientCert.* write the mutual TLS client certificate, "-"
// without one.
func TestClientCertVariables(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{Organization: []string{"Example"}, CommonName: "My Client"},
		NotBefore: time.Date(2021, 8, 5, 9, 36, 4, 0, time.UTC), NotAfter: time.Date(2121, 8, 5, 9, 36, 4, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	f, err := Parse(`$context.identity.clientCert.subjectDN|$context.identity.clientCert.issuerDN|$context.identity.clientCert.serialNumber|` +
		`$context.identity.clientCert.validity.notBefore|$context.identity.clientCert.validity.notAfter|$context.identity.clientCert.clientCertPem`)
	if err != nil {
		t.Fatal(err)
	}
	c := &pipeline.Context{}
	c.Identity.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}, VerifiedChains: [][]*x509.Certificate{{leaf}}}
	got := string(f.Append(nil, &Record{C: c}))
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	want := "O=Example,CN=My Client|O=Example,CN=My Client|1|Aug  5 09:36:04 2021 GMT|Aug  5 09:36:04 2121 GMT|" +
		strings.ReplaceAll(pemText, "\n", `\n`) // one line
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := string(f.Append(nil, &Record{C: &pipeline.Context{}})); got != "-|-|-|-|-|-" {
		t.Errorf("without a client certificate: %q", got)
	}
}

// $context.error.messageString is the quoted message, "-" without an error,
// so that a JSON format writing it bare stays valid JSON on every line, and
// decodes to the message whatever it holds.
func TestMessageStringKeepsJSONValid(t *testing.T) {
	f, err := Parse(`{"ems":$context.error.messageString,"status":$context.status}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ msg, want string }{
		{"", "-"},
		{"Missing Authentication Token", "Missing Authentication Token"},
		{"bad \"name\"\tin \\ body\x01\x7f <é> \xff", "bad \"name\"\tin \\ body\x01\x7f <é> \ufffd"},
	} {
		c := &pipeline.Context{}
		c.Error.Message = tc.msg
		line := f.Append(nil, &Record{C: c, Status: 200})
		var got struct {
			EMS string `json:"ems"`
		}
		if err := json.Unmarshal(line, &got); err != nil {
			t.Errorf("message %q: line %s is not JSON: %v", tc.msg, line, err)
			continue
		}
		if got.EMS != tc.want {
			t.Errorf("message %q: ems %q, want %q", tc.msg, got.EMS, tc.want)
		}
	}
}

// TestAPIGatewayDefinedVariables: the integration, authorizer, dataProcessed
// and customDomain variables of API Gateway's HTTP API list are accepted and
// written from what the request recorded; $context.authorizer.error, .latency
// and .status are the authorizer's answer, never keys of its context.
func TestAPIGatewayDefinedVariables(t *testing.T) {
	f, err := Parse(`$context.customDomain.basePathMatched|$context.authorizer.error|$context.authorizer.latency|$context.authorizer.status|` +
		`$context.authorizer.tenant|$context.integration.status|$context.integrationStatus|$context.integration.error|$context.dataProcessed`)
	if err != nil {
		t.Fatal(err)
	}
	c := &pipeline.Context{CustomDomain: true, StagePrefix: "/v1/orders"}
	c.Authorizer = pipeline.Authorizer{Kind: "lambda", Status: 403, LatencyMS: 12, Error: "denied",
		Context: map[string]any{"error": "ctx", "latency": "ctx", "status": "ctx", "tenant": "t1"}}
	c.Integration = pipeline.Integration{Ran: true}
	c.SetBody([]byte("abc"))
	for _, tc := range []struct {
		rec  *Record
		want string
	}{
		{&Record{C: c, Status: 201, ResponseLength: 10, RequestLength: -1}, "v1/orders|denied|12|403|t1|201|-|-|13"},
		{&Record{C: c, Status: 201, ResponseLength: 10, RequestLength: 7}, "v1/orders|denied|12|403|t1|201|-|-|17"},
		// The mapping's key, decoded: the base path was matched so.
		{&Record{C: &pipeline.Context{CustomDomain: true, StagePrefix: "/%761.0/a%24b"}, Status: 200}, "v1.0/a$b|-|-|-|-|-|-|-|0"},
		{&Record{C: &pipeline.Context{StagePrefix: "/dev", Integration: pipeline.Integration{Ran: true, Error: "refused", EndpointStatus: 500}}, Status: 500},
			"-|-|-|-|-|-|500|refused|0"},
		// An HTTP backend (r-obs28 finding 3): its status, buffered (HTTP,
		// a mapped HTTP_PROXY: what the client got may differ) or streamed
		// through; none when it failed; a mock has no endpoint status.
		{&Record{C: &pipeline.Context{Integration: pipeline.Integration{Ran: true, HTTP: true, EndpointStatus: 404}}, Status: 200}, "-|-|-|-|-|404|404|-|0"},
		{&Record{C: &pipeline.Context{Integration: pipeline.Integration{Ran: true, HTTP: true}}, Status: 503}, "-|-|-|-|-|503|503|-|0"},
		{&Record{C: &pipeline.Context{Integration: pipeline.Integration{Ran: true, HTTP: true, Error: "connect"}}, Status: 500}, "-|-|-|-|-|-|-|connect|0"},
		{&Record{C: &pipeline.Context{Integration: pipeline.Integration{Ran: true}}, Status: 200}, "-|-|-|-|-|200|-|-|0"},
	} {
		if got := string(f.Append(nil, tc.rec)); got != tc.want {
			t.Errorf("line %q, want %q", got, tc.want)
		}
	}
	for _, v := range []string{"integrationErrorMessage", "integrationStatus", "integration.status", "integration.error",
		"integration.integrationStatus", "integration.requestId", "dataProcessed", "awsEndpointRequestId", "customDomain.basePathMatched"} {
		if _, err := Parse("$context.requestId $context." + v); err != nil {
			t.Errorf("$context.%s: %v", v, err)
		}
	}
}

// shortWriter takes only half of its second write and fails it.
type shortWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	calls int
}

func (w *shortWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	if w.calls == 2 {
		w.buf.Write(p[:len(p)/2])
		return len(p) / 2, errors.New("no space left on device")
	}
	return w.buf.Write(p)
}

// TestTornLineIsEnded is what the obs20 tester found: a write cut short (a
// full disk) left a fragment, and the next line was glued to it. A
// destination that cannot take the fragment back gets a newline first; a
// file takes it back (TestTornLineIsTakenBackFromAFile).
func TestTornLineIsEnded(t *testing.T) {
	out := &shortWriter{}
	s, err := New(Options{Stdout: out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := deployedWith(`$context.requestId`, "stdout")
	for _, id := range []string{"first-line", "torn-line", "after-line"} {
		serve(t, s, d, &pipeline.Context{RequestID: id}, func(w http.ResponseWriter, _ *http.Request, _ *pipeline.Context) error {
			w.WriteHeader(200)
			return nil
		})
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := out.buf.String(), "first-line\ntorn-\nafter-line\n"; got != want {
		t.Errorf("written %q, want %q", got, want)
	}
	if _, failed := s.Dropped("stdout"); failed != 1 {
		t.Errorf("failed %d, want 1", failed)
	}
}
