package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/internal/listener"
)

// TestCallbackEndpointAnswersWithRequestID: every answer of the
// sandbox-facing @connections endpoint carries x-amzn-RequestId, as the
// public listener's and AWS's do, so that a function's SDK error names the
// request (it read "RequestID: ," before): a 410, a 403, a 404 off
// @connections.
func TestCallbackEndpointAnswersWithRequestID(t *testing.T) {
	e := newEnv(t)
	m := connections.New(connections.Config{AdminToken: "tok"}, nil)
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	gw := New(Config{Listen: "127.0.0.1:0", CallbackBind: "127.0.0.1:0"}, e.svc, e.res, e.inv, slog.New(slog.DiscardHandler))
	gw.EnableWebSockets(m)
	srv := NewServer(gw, nil, listener.Limits{})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	domain := gw.ws.callbackDomain.Load()
	if domain == nil {
		t.Fatal("the sandbox-facing endpoint does not listen")
	}
	base := "http://" + *domain

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
