package gateway

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/throttle"
	"github.com/portico-dev/portico/store"
)

// TestWebSocketRouteThrottle: WebSocket messages do not run the HTTP pipeline;
// the throttle stage's MessageChecker applies the stage's per-route-key
// throttle to them before the integration runs.
func TestWebSocketRouteThrottle(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc := apis.NewService(st, nil)
	ctx := context.Background()
	mock := &apis.Integration{Type: apis.IntegrationMock}
	a, err := svc.Create(ctx, &apis.API{Name: "chat", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{Routes: []apis.Route{
		{RouteKey: "sendmessage", Integration: mock}, {RouteKey: apis.RouteDefault, Integration: mock},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Deploy(ctx, a.ID, apis.DeployInput{StageName: "dev"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetMethodSettings(ctx, a.ID, "dev", map[string]apis.MethodSetting{
		"sendmessage": {ThrottlingRateLimit: 1, ThrottlingBurstLimit: 2}}); err != nil {
		t.Fatal(err)
	}
	gw := New(Config{}, svc, nil, nil, nil)
	th := throttle.New(throttle.Config{RateLimit: -1}, nil)
	frozen := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th.SetClock(func() time.Time { return frozen })
	gw.Use(th)
	d := wsDispatcher{gw}
	send := func(key string, n int) (ok, throttled int) {
		for range n {
			ev := &events.APIGatewayWebsocketProxyRequest{RequestContext: events.APIGatewayWebsocketProxyRequestContext{
				APIID: a.ID, Stage: "dev", RouteKey: key, EventType: connections.EventMessage}}
			resp, err := d.Dispatch(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			switch resp.StatusCode {
			case http.StatusOK:
				ok++
			case http.StatusTooManyRequests:
				if string(resp.Body) != `{"message":"Too Many Requests"}` || resp.Headers["x-amzn-ErrorType"] != "TooManyRequestsException" {
					t.Fatalf("throttled answer %s %v", resp.Body, resp.Headers)
				}
				throttled++
			default:
				t.Fatalf("status %d", resp.StatusCode)
			}
		}
		return ok, throttled
	}
	if ok, thr := send("sendmessage", 5); ok != 2 || thr != 3 {
		t.Fatalf("sendmessage: %d ok, %d throttled; want 2 and 3", ok, thr)
	}
	if ok, _ := send(apis.RouteDefault, 5); ok != 5 {
		t.Fatalf("$default: %d ok, want 5 (no throttle of its own)", ok)
	}
}
