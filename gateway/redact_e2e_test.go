package gateway_test

import (
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"

	"github.com/portico-dev/portico/internal/sigv4"
	"github.com/portico-dev/portico/internal/sigv4/sigv4test"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestPresignedSecretsStayOutOfLogsAndTraces sends requests presigned by the
// AWS SDK for Go v2 signer (with a session token, and an API key in the query)
// to a stage with an access log, INFO execution logging with data tracing, and
// tracing on: one to an HTTP_PROXY route whose backend is down (its error
// names the backend URL, query included), one to an AWS_IAM route with the
// signature cut short. The signature, the credential, the token and the key
// are in no server log line (debug level), no access-log line and no span.
func TestPresignedSecretsStayOutOfLogsAndTraces(t *testing.T) {
	t.Parallel()
	rcv := &otlpReceiver{}
	collector := httptest.NewServer(rcv)
	defer collector.Close()
	// A backend that is not there: a port that was listening and is closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	_ = ln.Close()

	logs := &testkit.LockedBuffer{}
	env := apptest.Start(t, apptest.Options{LogLevel: slog.LevelDebug, LogWriter: logs,
		Settings: func(s *app.Settings) { s.OTLPEndpoint = collector.URL }})
	c := env.Client()
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "secrets", "protocol": "REST",
		"authorizers": map[string]any{"sigv4": map[string]any{"type": "apiKey", "name": "Authorization", "in": "header",
			"x-amazon-apigateway-authtype": "awsSigv4"}}}, &api)
	base := "/portico/v1/apis/" + api.ID
	admin(t, c, "POST", base+"/routes", nil, map[string]any{"method": "GET", "path": "/down",
		"integration": map[string]any{"type": "HTTP_PROXY", "uri": down + "/b"}}, nil)
	admin(t, c, "POST", base+"/routes", nil, map[string]any{"method": "GET", "path": "/iam",
		"security":    []any{map[string]any{"sigv4": []any{}}},
		"integration": map[string]any{"type": "MOCK", "requestTemplates": map[string]any{"application/json": `{"statusCode": 200}`}}}, nil)
	admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	admin(t, c, "PATCH", "/restapis/"+api.ID+"/stages/dev", nil, map[string]any{"patchOperations": []map[string]string{
		{"op": "replace", "path": "/tracingEnabled", "value": "true"},
		{"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"},
		{"op": "replace", "path": "/*/*/logging/dataTrace", "value": "true"}}}, nil)
	logFile := filepath.Join(t.TempDir(), "access.log")
	admin(t, c, "PUT", base+"/stages/dev/access-log", nil, map[string]string{"destinationArn": "file://" + logFile,
		"format": `$context.requestId $context.path $context.resourcePath $context.status $context.error.message $context.identity.accessKey $context.identity.apiKeyId`}, nil)

	const (
		keyID, secret, token = "AKIDSECRETPROBE00001", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "SESSIONTOKENPROBE0123456789"
		apiKey               = "APIKEYPROBE0123456789abcdef"
	)
	presign := func(path string) (string, url.Values) {
		req, _ := http.NewRequest("GET", env.GatewayURL+"/"+api.ID+"/dev"+path+"?x-api-key="+apiKey, nil)
		u := sigv4test.Presign(t, req, aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret, SessionToken: token},
			sigv4.UnsignedPayload, "execute-api", sigv4test.Region, time.Now())
		pu, _ := url.Parse(u)
		return u, pu.Query()
	}
	u, q := presign("/down")
	if a := get(t, "GET", u, ""); a.status < 500 {
		t.Fatalf("GET /down: %d %s, want the backend's failure", a.status, a.body)
	}
	secrets := []string{q.Get("X-Amz-Signature"), url.QueryEscape(q.Get("X-Amz-Credential")), q.Get("X-Amz-Credential"), token, apiKey}
	u, q = presign("/iam")
	sig := q.Get("X-Amz-Signature")
	short := strings.Replace(u, "X-Amz-Signature="+sig, "X-Amz-Signature="+sig[:63], 1)
	if a := get(t, "GET", short, ""); a.status != 403 {
		t.Fatalf("GET /iam with a short signature: %d %s", a.status, a.body)
	}
	secrets = append(secrets, sig[:63], q.Get("X-Amz-Credential"))
	env.Stop() // flushes the exporter and the access log

	access, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(access), "\n"); n != 2 {
		t.Errorf("access log has %d lines, want 2:\n%s", n, access)
	}
	server := logs.String()
	if !strings.Contains(server, "execution: method request") || !strings.Contains(server, "gateway request failed") {
		t.Fatalf("the server log lacks the execution log or the failure:\n%s", server)
	}
	rcv.mu.Lock()
	var spans []byte
	for _, s := range rcv.spans {
		b, _ := proto.Marshal(s)
		spans = append(spans, b...)
	}
	rcv.mu.Unlock()
	if len(spans) == 0 {
		t.Fatal("no spans reached the collector")
	}
	for _, s := range secrets {
		if strings.Contains(server, s) {
			t.Errorf("the server log carries %q", s)
		}
		if strings.Contains(string(access), s) {
			t.Errorf("the access log carries %q", s)
		}
		if bytes.Contains(spans, []byte(s)) {
			t.Errorf("a span carries %q", s)
		}
	}
}
