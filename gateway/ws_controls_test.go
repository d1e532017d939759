package gateway

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/gateway/throttle"
	"github.com/portico-dev/portico/gateway/usage"
	"github.com/portico-dev/portico/internal/errdefs"
)

// TestWebSocketRouteThrottle: WebSocket messages do not run the HTTP pipeline;
// the throttle stage's MessageChecker applies the stage's per-route-key
// throttle to them before the integration runs.
func TestWebSocketRouteThrottle(t *testing.T) {
	_, svc := gwtest.APIs(t)
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
		"sendmessage": {ThrottlingRateLimit: new(float64(1)), ThrottlingBurstLimit: new(int(2))}}); err != nil {
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

// TestWebSocketConnectAPIKey: a $connect route that requires an API key
// refuses the handshake (403) without a valid key in a plan of the stage, and
// names the admitted key in the event's requestContext.identity (apiKey and
// apiKeyId, as REST events do); a key required on another WebSocket route
// refuses the stage deployment.
func TestWebSocketConnectAPIKey(t *testing.T) {
	st, svc := gwtest.APIs(t)
	ctx := context.Background()
	mock := &apis.Integration{Type: apis.IntegrationMock}
	a, err := svc.Create(ctx, &apis.API{Name: "chat", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{Routes: []apis.Route{
		{RouteKey: apis.RouteConnect, Integration: mock, APIKeyRequired: true}, {RouteKey: apis.RouteDefault, Integration: mock},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Deploy(ctx, a.ID, apis.DeployInput{StageName: "dev"}); err != nil {
		t.Fatal(err)
	}
	us, err := usage.NewService(st, usage.Options{Stages: svc})
	if err != nil {
		t.Fatal(err)
	}
	on := true
	k, _ := us.CreateKey(ctx, usage.KeyInput{Enabled: &on})
	p, err := us.CreatePlan(ctx, usage.Plan{Name: "p", APIStages: []usage.APIStage{{APIID: a.ID, Stage: "dev"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := us.AddPlanKey(ctx, p.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	gw := New(Config{}, svc, nil, nil, nil)
	gw.Use(usage.NewKeyStage(us), usage.NewAuthorizerKeyStage(us))
	d := wsDispatcher{gw}
	var ev *events.APIGatewayWebsocketProxyRequest
	connect := func(key string) int {
		ev = &events.APIGatewayWebsocketProxyRequest{RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			APIID: a.ID, Stage: "dev", RouteKey: apis.RouteConnect, EventType: connections.EventConnect}}
		if key != "" {
			ev.Headers = map[string]string{"x-api-key": key}
		}
		resp, err := d.Dispatch(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	if got := connect(""); got != http.StatusForbidden {
		t.Fatalf("$connect without a key: %d, want 403", got)
	}
	if got := connect("not-a-key-of-this-server-at-all"); got != http.StatusForbidden {
		t.Fatalf("$connect with a wrong key: %d, want 403", got)
	}
	if got := connect(k.Value); got != http.StatusOK {
		t.Fatalf("$connect with the key: %d, want 200", got)
	}
	if id := ev.RequestContext.Identity; id.APIKey != k.Value || id.APIKeyID != k.ID {
		t.Fatalf("$connect event identity: apiKey %q, apiKeyId %q; want the admitted key %s", id.APIKey, id.APIKeyID, k.ID)
	}
	// A key required on a message route cannot be checked: the change is
	// refused when it is made (and the key stage would refuse the stage).
	if _, err := svc.Modify(ctx, a.ID, func(x *apis.API) error { x.Routes[1].APIKeyRequired = true; return nil }); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("apiKeyRequired on $default: %v, want a refusal", err)
	}
}
