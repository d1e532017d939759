package gateway_test

import (
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestHTTPAPIRequestIDsCorrelate: an HTTP API's answers carry one request id:
// x-amzn-RequestId is the apigw-requestid value (the event's and the access
// log's $context.requestId), and the server's error log names it too; it
// was a UUID found nowhere else.
func TestHTTPAPIRequestIDsCorrelate(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	_ = ln.Close()
	logs := &testkit.LockedBuffer{}
	env := apptest.Start(t, apptest.Options{LogLevel: slog.LevelWarn, LogWriter: logs})
	c := env.Client()
	var api struct{ ID string }
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "ids", "protocol": "HTTP",
		"routes": []any{map[string]any{"method": "GET", "path": "/down", "integration": map[string]any{
			"type": "HTTP_PROXY", "httpMethod": "ANY", "uri": down + "/x", "payloadFormatVersion": "1.0"}}}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	for _, p := range []string{"/down", "/nothing"} {
		a := get(t, "GET", env.GatewayURL+"/"+api.ID+"/dev"+p, "")
		id := a.header.Get("apigw-requestid")
		if id == "" || a.header.Get("x-amzn-RequestId") != id {
			t.Errorf("GET %s: %d, apigw-requestid %q, x-amzn-RequestId %q: want one id", p, a.status, id, a.header.Get("x-amzn-RequestId"))
		}
		if a.status >= 500 && !strings.Contains(logs.String(), "requestId="+id) && !strings.Contains(logs.String(), `requestId="`+id+`"`) {
			t.Errorf("GET %s: the error log does not name %s:\n%s", p, id, logs.String())
		}
	}
}
