package admin_test

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

const tooManyRequests = `{"message":"Too Many Requests"}`

// v2Throttle is a route throttle for UpdateStage: rate and burst.
func v2Throttle(rate float64, burst int32) v2types.RouteSettings {
	return v2types.RouteSettings{ThrottlingRateLimit: aws.Float64(rate), ThrottlingBurstLimit: aws.Int32(burst)}
}

// startV2HTTPRoutes starts a v2 control plane holding an HTTP API whose
// routes GET /a and GET /b proxy to a backend, on an automatically deployed
// stage "prod"; it returns the environment and the API's id.
func startV2HTTPRoutes(t *testing.T) (*v2Env, string) {
	t.Helper()
	ctx := t.Context()
	e, h := startV2WithHTTPAPI(t, "zero")
	be := newBackend(t)
	integ, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: h.ApiId,
		IntegrationType: v2types.IntegrationTypeHttpProxy, IntegrationMethod: aws.String("GET"),
		IntegrationUri: aws.String(be.srv.URL + "/be"), PayloadFormatVersion: aws.String("1.0")})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"GET /a", "GET /b"} {
		if _, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: h.ApiId, RouteKey: aws.String(key),
			Target: aws.String("integrations/" + aws.ToString(integ.IntegrationId))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: h.ApiId, StageName: aws.String("prod"), AutoDeploy: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	return e, aws.ToString(h.ApiId)
}

// gets GETs path n times through e's gateway and returns the statuses; a
// 429 must carry API Gateway's body.
func gets(t *testing.T, e *v2Env, path string, n int) []int {
	t.Helper()
	var got []int
	for range n {
		status, body := e.get(t, http.MethodGet, path)
		if status == http.StatusTooManyRequests && body != tooManyRequests {
			t.Fatalf("GET %s: 429 %s, want %s", path, body, tooManyRequests)
		}
		got = append(got, status)
	}
	return got
}

func wantStatuses(t *testing.T, when string, got []int, want ...int) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: %v, want %v", when, got, want)
	}
}

// wantRouteThrottle checks rs's throttle: rate and burst, or neither (nil).
func wantRouteThrottle(t *testing.T, when string, rs *v2types.RouteSettings, want *v2types.RouteSettings) {
	t.Helper()
	if rs == nil {
		t.Fatalf("%s: no route settings", when)
	}
	if want == nil {
		if rs.ThrottlingRateLimit != nil || rs.ThrottlingBurstLimit != nil {
			t.Fatalf("%s: throttle rate %v burst %v, want none", when, aws.ToFloat64(rs.ThrottlingRateLimit), aws.ToInt32(rs.ThrottlingBurstLimit))
		}
		return
	}
	if rs.ThrottlingRateLimit == nil || rs.ThrottlingBurstLimit == nil ||
		*rs.ThrottlingRateLimit != *want.ThrottlingRateLimit || *rs.ThrottlingBurstLimit != *want.ThrottlingBurstLimit {
		t.Fatalf("%s: throttle rate %v burst %v, want %v and %v", when, rs.ThrottlingRateLimit, rs.ThrottlingBurstLimit,
			*want.ThrottlingRateLimit, *want.ThrottlingBurstLimit)
	}
}

// TestV2ZeroRouteThrottle: an HTTP API route throttled by UpdateStage (the AWS
// SDK for Go v2) to rate 0 and burst 0 answers every request 429
// {"message":"Too Many Requests"}, as API Gateway blocks it, while the other
// route passes; a stage default of rate 0 and burst 2 lets two requests of
// each route without its own throttle through, then none; GetStage shows what
// was set; both survive a restart; -1 takes them off. UpdateStage refused 0/0.
func TestV2ZeroRouteThrottle(t *testing.T) {
	t.Parallel()
	e, id := startV2HTTPRoutes(t)
	ctx := t.Context()
	a, b := "/"+id+"/prod/a", "/"+id+"/prod/b"
	wantStatuses(t, "GET /a before", gets(t, e, a, 3), 200, 200, 200)

	zero := v2Throttle(0, 0)
	up, err := e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: aws.String(id), StageName: aws.String("prod"),
		RouteSettings: map[string]v2types.RouteSettings{"GET /a": zero}})
	if err != nil {
		t.Fatalf("UpdateStage GET /a 0/0: %v", err)
	}
	wantRouteThrottle(t, "UpdateStage's GET /a", new(up.RouteSettings["GET /a"]), &zero)
	wantStatuses(t, "GET /a under 0/0", gets(t, e, a, 3), 429, 429, 429)
	wantStatuses(t, "GET /b beside it", gets(t, e, b, 3), 200, 200, 200)

	two := v2Throttle(0, 2)
	if _, err := e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: aws.String(id), StageName: aws.String("prod"),
		DefaultRouteSettings: &two}); err != nil {
		t.Fatalf("UpdateStage default 0/2: %v", err)
	}
	wantStatuses(t, "GET /b under a default of rate 0 burst 2", gets(t, e, b, 4), 200, 200, 429, 429)
	wantStatuses(t, "GET /a under its own 0/0", gets(t, e, a, 2), 429, 429)

	check := func(when string) {
		t.Helper()
		st, err := e.ag.GetStage(ctx, &apigatewayv2.GetStageInput{ApiId: aws.String(id), StageName: aws.String("prod")})
		if err != nil {
			t.Fatal(err)
		}
		wantRouteThrottle(t, when+": GetStage GET /a", new(st.RouteSettings["GET /a"]), &zero)
		wantRouteThrottle(t, when+": GetStage default", st.DefaultRouteSettings, &two)
	}
	check("after UpdateStage")
	http.DefaultClient.CloseIdleConnections()
	e.env.Restart()
	check("after a restart")
	wantStatuses(t, "GET /a after a restart", gets(t, e, a, 3), 429, 429, 429)

	off := v2Throttle(-1, -1)
	st, err := e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: aws.String(id), StageName: aws.String("prod"),
		DefaultRouteSettings: &off, RouteSettings: map[string]v2types.RouteSettings{"GET /a": off}})
	if err != nil {
		t.Fatalf("UpdateStage -1: %v", err)
	}
	wantRouteThrottle(t, "GET /a after -1", new(st.RouteSettings["GET /a"]), nil)
	wantRouteThrottle(t, "default after -1", st.DefaultRouteSettings, nil)
	wantStatuses(t, "GET /a after -1", gets(t, e, a, 3), 200, 200, 200)
	wantStatuses(t, "GET /b after -1", gets(t, e, b, 3), 200, 200, 200)
}

// TestV2ZeroRouteThrottleAWSCLI drives `aws apigatewayv2 update-stage
// --route-settings` (and --default-route-settings) with a throttle of 0/0: the
// route answers 429 {"message":"Too Many Requests"}, get-stage shows 0 and 0,
// -1 takes it off. The CLI's update-stage was refused.
func TestV2ZeroRouteThrottleAWSCLI(t *testing.T) {
	t.Parallel()
	aws2 := testkit.AWSCLI(t)
	e, id := startV2HTTPRoutes(t)
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), aws2, append([]string{"--endpoint-url", e.env.AdminURL, "--output", "text", "apigatewayv2"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=portico", "AWS_SECRET_ACCESS_KEY="+v2Token, "AWS_DEFAULT_REGION=us-east-1",
			"AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws apigatewayv2 %v: %v\n%s", args, err, out)
		}
		return strings.Join(strings.Fields(string(out)), " ")
	}
	a, b := "/"+id+"/prod/a", "/"+id+"/prod/b"
	wantStatuses(t, "GET /a before", gets(t, e, a, 2), 200, 200)

	cli("update-stage", "--api-id", id, "--stage-name", "prod",
		"--route-settings", `{"GET /a":{"ThrottlingBurstLimit":0,"ThrottlingRateLimit":0}}`)
	wantStatuses(t, "GET /a under 0/0", gets(t, e, a, 3), 429, 429, 429)
	wantStatuses(t, "GET /b beside it", gets(t, e, b, 2), 200, 200)
	if got := cli("get-stage", "--api-id", id, "--stage-name", "prod",
		"--query", `RouteSettings."GET /a".[ThrottlingRateLimit,ThrottlingBurstLimit]`); got != "0.0 0" && got != "0 0" {
		t.Fatalf("get-stage GET /a throttle: %q, want 0 0", got)
	}

	cli("update-stage", "--api-id", id, "--stage-name", "prod",
		"--route-settings", `{"GET /a":{"ThrottlingBurstLimit":-1,"ThrottlingRateLimit":-1}}`,
		"--default-route-settings", "ThrottlingBurstLimit=0,ThrottlingRateLimit=0")
	wantStatuses(t, "GET /a after -1, under the default's 0/0", gets(t, e, a, 2), 429, 429)
	wantStatuses(t, "GET /b under the default's 0/0", gets(t, e, b, 2), 429, 429)
	if got := cli("get-stage", "--api-id", id, "--stage-name", "prod",
		"--query", `DefaultRouteSettings.[ThrottlingRateLimit,ThrottlingBurstLimit]`); got != "0.0 0" && got != "0 0" {
		t.Fatalf("get-stage default throttle: %q, want 0 0", got)
	}
	cli("update-stage", "--api-id", id, "--stage-name", "prod",
		"--default-route-settings", "ThrottlingBurstLimit=-1,ThrottlingRateLimit=-1")
	wantStatuses(t, "GET /a after -1 everywhere", gets(t, e, a, 2), 200, 200)
	wantStatuses(t, "GET /b after -1 everywhere", gets(t, e, b, 2), 200, 200)
}

// TestV2WebSocketZeroRouteThrottle: on a WebSocket API, a throttle of 0/0 on
// a two-way message route answers each message {"message":"Too Many
// Requests"}, on a one-way route drops each message (its integration is not
// called), and on $connect refuses every handshake with 429 and that body,
// with a real WebSocket client; -1 opens $connect again. UpdateStage refused
// 0/0.
func TestV2WebSocketZeroRouteThrottle(t *testing.T) {
	t.Parallel()
	// One message of a connection in flight at a time: the answer to a
	// message means the one before it was handled.
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) {
		s.AdminToken = v2Token
		s.WebSocket.MaxInFlight = 1
	}})
	e := &v2Env{env: env, ag: apigatewayv2.NewFromConfig(sdkConfig(env.AdminURL, v2Token))}
	ctx := t.Context()
	be := newBackend(t)
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("zero"), ProtocolType: v2types.ProtocolTypeWebsocket,
		RouteSelectionExpression: aws.String("$request.body.action")})
	if err != nil {
		t.Fatal(err)
	}
	id := api.ApiId
	mock, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: id, IntegrationType: v2types.IntegrationTypeMock,
		RequestTemplates: map[string]string{"$default": `{"statusCode": 200}`}, TemplateSelectionExpression: aws.String(`\$default`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ag.CreateIntegrationResponse(ctx, &apigatewayv2.CreateIntegrationResponseInput{ApiId: id, IntegrationId: mock.IntegrationId,
		IntegrationResponseKey: aws.String("$default"), ResponseTemplates: map[string]string{"$default": `pong`}}); err != nil {
		t.Fatal(err)
	}
	quiet, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: id, IntegrationType: v2types.IntegrationTypeHttpProxy,
		IntegrationMethod: aws.String("POST"), IntegrationUri: aws.String(be.srv.URL + "/quiet")})
	if err != nil {
		t.Fatal(err)
	}
	for key, route := range map[string]*apigatewayv2.CreateRouteInput{
		"$connect": {Target: aws.String("integrations/" + aws.ToString(mock.IntegrationId))},
		"ping":     {Target: aws.String("integrations/" + aws.ToString(mock.IntegrationId)), RouteResponseSelectionExpression: aws.String("$default")},
		"blocked":  {Target: aws.String("integrations/" + aws.ToString(mock.IntegrationId)), RouteResponseSelectionExpression: aws.String("$default")},
		"quiet":    {Target: aws.String("integrations/" + aws.ToString(quiet.IntegrationId))},
	} {
		route.ApiId, route.RouteKey = id, aws.String(key)
		if _, err := e.ag.CreateRoute(ctx, route); err != nil {
			t.Fatalf("CreateRoute %s: %v", key, err)
		}
	}
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("prod"), AutoDeploy: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	ws := "ws" + strings.TrimPrefix(e.env.GatewayURL, "http") + "/" + aws.ToString(id) + "/prod"
	dial := func() (*websocket.Conn, *http.Response, error) {
		c, resp, err := websocket.DefaultDialer.DialContext(ctx, ws, nil)
		if c != nil {
			t.Cleanup(func() { _ = c.Close() })
		}
		return c, resp, err
	}
	c, resp, err := dial()
	if err != nil {
		t.Fatalf("dial before the throttle: %v", err)
	}
	_ = resp.Body.Close()
	_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
	roundTrip := func(msg string) string {
		t.Helper()
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("reading the answer to %s: %v", msg, err)
		}
		return string(got)
	}
	send := func(msg string) {
		t.Helper()
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	send(`{"action":"quiet"}`)
	if got := roundTrip(`{"action":"ping"}`); got != "pong" {
		t.Fatalf("ping before the throttle: %q", got)
	}
	if n := be.count("/quiet"); n != 1 {
		t.Fatalf("quiet's integration called %d times before the throttle, want 1", n)
	}

	zero := v2Throttle(0, 0)
	if _, err := e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: id, StageName: aws.String("prod"),
		RouteSettings: map[string]v2types.RouteSettings{"blocked": zero, "quiet": zero}}); err != nil {
		t.Fatalf("UpdateStage 0/0 on message routes: %v", err)
	}
	for range 2 {
		if got := roundTrip(`{"action":"blocked"}`); got != tooManyRequests {
			t.Fatalf("blocked (two-way) under 0/0: %q, want %s", got, tooManyRequests)
		}
		send(`{"action":"quiet"}`)
		// quiet sends nothing back: the next frame is ping's.
		if got := roundTrip(`{"action":"ping"}`); got != "pong" {
			t.Fatalf("ping after a throttled one-way message: %q, want pong", got)
		}
	}
	if n := be.count("/quiet"); n != 1 {
		t.Fatalf("quiet's integration called %d times, want 1 (none under 0/0)", n)
	}

	if _, err := e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: id, StageName: aws.String("prod"),
		RouteSettings: map[string]v2types.RouteSettings{"$connect": zero}}); err != nil {
		t.Fatalf("UpdateStage 0/0 on $connect: %v", err)
	}
	for i := range 2 {
		_, resp, err := dial()
		if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("dial %d under $connect 0/0: %v %+v, want 429", i, err, resp)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if string(body) != tooManyRequests {
			t.Fatalf("dial %d under $connect 0/0: body %q, want %s", i, body, tooManyRequests)
		}
	}
	// The connection opened before goes on.
	if got := roundTrip(`{"action":"ping"}`); got != "pong" {
		t.Fatalf("ping on the open connection: %q, want pong", got)
	}
	st, err := e.ag.GetStage(ctx, &apigatewayv2.GetStageInput{ApiId: id, StageName: aws.String("prod")})
	if err != nil {
		t.Fatal(err)
	}
	wantRouteThrottle(t, "GetStage $connect", new(st.RouteSettings["$connect"]), &zero)

	off := v2Throttle(-1, -1)
	if _, err := e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: id, StageName: aws.String("prod"),
		RouteSettings: map[string]v2types.RouteSettings{"$connect": off}}); err != nil {
		t.Fatalf("UpdateStage -1 on $connect: %v", err)
	}
	if _, resp, err := dial(); err != nil {
		t.Fatalf("dial after -1: %v", err)
	} else {
		_ = resp.Body.Close()
	}
}

// TestV2SchemaOneStageThenZeroThrottle: an HTTP API stage written before
// store schema version 2, whose route entry made for metrics held 0/0 for
// "no throttle" (the v2 stage settings are stage method settings, in the same
// bucket as REST stages'), is migrated at start and stays unthrottled; a 0/0
// set afterwards by UpdateStage throttles every request, and keeps doing so
// across a restart (the migration does not run twice).
func TestV2SchemaOneStageThenZeroThrottle(t *testing.T) {
	t.Parallel()
	e, id := startV2HTTPRoutes(t)
	ctx := t.Context()
	metrics := v2types.RouteSettings{DetailedMetricsEnabled: aws.Bool(true)}
	if _, err := e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: aws.String(id), StageName: aws.String("prod"),
		RouteSettings: map[string]v2types.RouteSettings{"GET /a": metrics}}); err != nil {
		t.Fatal(err)
	}
	http.DefaultClient.CloseIdleConnections()
	e.env.Stop()
	testkit.StageAsSchemaOne(t, e.env.DataDir, id+"/prod", "GET /a")
	e.env.Restart()
	a := "/" + id + "/prod/a"
	wantStatuses(t, "GET /a after the upgrade", gets(t, e, a, 3), 200, 200, 200)
	st, err := e.ag.GetStage(ctx, &apigatewayv2.GetStageInput{ApiId: aws.String(id), StageName: aws.String("prod")})
	if err != nil {
		t.Fatal(err)
	}
	rs := st.RouteSettings["GET /a"]
	wantRouteThrottle(t, "GetStage GET /a after the upgrade", &rs, nil)
	if !aws.ToBool(rs.DetailedMetricsEnabled) {
		t.Fatalf("GET /a after the upgrade lost detailedMetricsEnabled: %+v", rs)
	}

	zero := v2Throttle(0, 0)
	if _, err := e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: aws.String(id), StageName: aws.String("prod"),
		RouteSettings: map[string]v2types.RouteSettings{"GET /a": zero}}); err != nil {
		t.Fatalf("UpdateStage 0/0: %v", err)
	}
	wantStatuses(t, "GET /a under 0/0", gets(t, e, a, 2), 429, 429)
	http.DefaultClient.CloseIdleConnections()
	e.env.Restart()
	wantStatuses(t, "GET /a under 0/0 after a restart", gets(t, e, a, 2), 429, 429)
}
