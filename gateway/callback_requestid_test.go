package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/listener/listenertest"
)

// TestCallbackEndpointAnswersWithRequestID: every answer of the
// sandbox-facing @connections endpoint carries x-amzn-RequestId, as the
// public listener's and AWS's do, so that a function's SDK error names the
// request (it read "RequestID: ," before): a 410, a 403, a 404 off
// @connections.
func TestCallbackEndpointAnswersWithRequestID(t *testing.T) {
	base := "http://" + callbackDomain(t, startCallbackEndpoint(t))

	mc := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String(base + "/dev"), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("portico", "tok", ""),
	})
	_, err := mc.PostToConnection(t.Context(), &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String("AAAAAAAAAAAAAAAA"), Data: []byte("x")})
	var re *awshttp.ResponseError
	if !errors.As(err, new(*types.GoneException)) || !errors.As(err, &re) || re.RequestID == "" {
		t.Errorf("PostToConnection of an unknown id: %v, want GoneException with a RequestID", err)
	}
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/dev/@connections/AAAAAAAAAAAAAAAA", http.StatusForbidden}, // unsigned
		{"/dev/elsewhere", http.StatusNotFound},
	} {
		resp, err := http.Post(base+tc.path, "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("x-amzn-RequestId") == "" {
			t.Errorf("POST %s: %d, x-amzn-RequestId %q; want %d with an id", tc.path, resp.StatusCode, resp.Header.Get("x-amzn-RequestId"), tc.status)
		}
	}
}

// startCallbackEndpoint starts a gateway with WebSockets on and its
// sandbox-facing @connections endpoint.
func startCallbackEndpoint(t *testing.T) *Gateway {
	t.Helper()
	return startCallbackEndpointLimits(t, listener.Limits{})
}

// startCallbackEndpointLimits is startCallbackEndpoint with the gateway
// listener's limits l.
func startCallbackEndpointLimits(t *testing.T, l listener.Limits) *Gateway {
	t.Helper()
	e := newEnv(t)
	m := connections.New(connections.Config{AdminToken: "tok"}, nil)
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	gw := New(Config{Listen: "127.0.0.1:0", CallbackBind: "127.0.0.1:0"}, e.svc, e.res, e.inv, slog.New(slog.DiscardHandler))
	gw.EnableWebSockets(m)
	srv := NewServer(gw, nil, l)
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	return gw
}

// callbackDomain is the host:port of gw's sandbox-facing endpoint.
func callbackDomain(t *testing.T, gw *Gateway) string {
	t.Helper()
	domain := gw.ws.callbackDomain.Load()
	if domain == nil {
		t.Fatal("the sandbox-facing endpoint does not listen")
	}
	return *domain
}

// TestCallbackEndpointRefusalsInItsShape: the sandbox-facing @connections
// endpoint answers a header over its limit 431 and a request line alone over
// it 414 in API Gateway's error shape, as its other answers are ({"message":
// ...}, x-amzn-ErrorType, x-amzn-RequestId), not in the server's plain text.
func TestCallbackEndpointRefusalsInItsShape(t *testing.T) {
	domain := callbackDomain(t, startCallbackEndpoint(t))
	const over = http.DefaultMaxHeaderBytes + 10<<10
	for _, tc := range []struct {
		name   string
		answer func() (int, http.Header, string)
		status int
		typ    string
	}{
		{"431", func() (int, http.Header, string) {
			return listenertest.HeaderAnswer(t, "http://"+domain+"/dev/@connections/AAAAAAAAAAAAAAAA", over)
		}, http.StatusRequestHeaderFieldsTooLarge, "RequestHeaderFieldsTooLargeException"},
		{"414", func() (int, http.Header, string) { return listenertest.LineAnswer(t, domain, over) },
			http.StatusRequestURITooLong, "RequestURITooLongException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := tc.answer()
			want := `{"message":` + strconv.Quote(http.StatusText(tc.status)) + `}`
			if status != tc.status || body != want || h.Get("Content-Type") != "application/json" ||
				h.Get("X-Amzn-Errortype") != tc.typ || h.Get("X-Amzn-Requestid") == "" {
				t.Errorf("%d %q %v, want %d %s with %s and a request id", status, body, h, tc.status, want, tc.typ)
			}
		})
	}
}

// TestCallbackEndpointTakesMaxHeaderBytes: the sandbox-facing @connections
// endpoint refuses a header block over the listener's max-header-bytes with
// 431, as the gateway's listeners do (docs/operations.md), at the default (64
// KB) and at a configured limit; it used to take h1's default, 1 MB, whatever
// the setting. A header under the limit still reaches the endpoint.
func TestCallbackEndpointTakesMaxHeaderBytes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int
	}{{"default", 0}, {"configured", 16 << 10}} {
		t.Run(tc.name, func(t *testing.T) {
			domain := callbackDomain(t, startCallbackEndpointLimits(t, listener.Limits{MaxHeaderBytes: tc.limit}))
			limit := listener.Limits{MaxHeaderBytes: tc.limit}.WithDefaults().MaxHeaderBytes
			url := "http://" + domain + "/dev/@connections/AAAAAAAAAAAAAAAA"
			if status, _, body := listenertest.HeaderAnswer(t, url, limit+4<<10); status != http.StatusRequestHeaderFieldsTooLarge {
				t.Errorf("a header %d bytes over %d: %d %q, want 431", 4<<10, limit, status, body)
			}
			if status, _, body := listenertest.HeaderAnswer(t, url, limit/2); status == http.StatusRequestHeaderFieldsTooLarge || status >= 500 {
				t.Errorf("a header under %d: %d %q", limit, status, body)
			}
		})
	}
}
