package admin_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/internal/wstest"
)

// TestV2WebSocketHTTPIntegrationResponses: a two-way route's non-proxy HTTP
// integration maps its backend's answer through its integration responses
// as API Gateway does: the one whose key (/4\d{2}/) matches the backend's
// status, else $default; that response's templateSelectionExpression
// (${integration.response.statuscode}, ${integration.response.header.NAME})
// picks the template keyed as its value, else $default's, which renders the
// backend's body as $input. Before, responseTemplates and any selection
// expression but \$default were refused on HTTP integrations, and a
// backend's 404 went to the client as it was. responseParameters (a message
// has no headers) and the selection expressions Portico does not evaluate
// are refused.
func TestV2WebSocketHTTPIntegrationResponses(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	// The backend answers with the status and X-Kind the message asks for
	// ({"status": 404, "kind": "gone"}), its body saying what it got.
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		status, _ := strconv.Atoi(r.URL.Query().Get("status"))
		w.Header().Set("X-Kind", r.URL.Query().Get("kind"))
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"got":`+strconv.Quote(string(b))+`}`)
	}))
	t.Cleanup(backend.Close)
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("wsresponses"), ProtocolType: v2types.ProtocolTypeWebsocket,
		RouteSelectionExpression: aws.String("$request.body.action")})
	if err != nil {
		t.Fatal(err)
	}
	id := api.ApiId
	integ, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: id, IntegrationType: v2types.IntegrationTypeHttp,
		IntegrationMethod: aws.String("POST"), IntegrationUri: aws.String(backend.URL + "/m"),
		RequestParameters: map[string]string{
			"integration.request.querystring.status": "route.request.body.status",
			"integration.request.querystring.kind":   "route.request.body.kind"}})
	if err != nil {
		t.Fatalf("CreateIntegration: %v", err)
	}
	iid := integ.IntegrationId
	byStatus, err := e.ag.CreateIntegrationResponse(ctx, &apigatewayv2.CreateIntegrationResponseInput{ApiId: id, IntegrationId: iid,
		IntegrationResponseKey: aws.String(`/4\d{2}/`), TemplateSelectionExpression: aws.String("${integration.response.statuscode}"),
		ResponseTemplates: map[string]string{"404": `not found: $input.path('$.got')`, "$default": `client error $input.body`}})
	if err != nil {
		t.Fatalf("CreateIntegrationResponse /4\\d{2}/: %v", err)
	}
	if got, err := e.ag.GetIntegrationResponse(ctx, &apigatewayv2.GetIntegrationResponseInput{ApiId: id, IntegrationId: iid,
		IntegrationResponseId: byStatus.IntegrationResponseId}); err != nil || aws.ToString(got.TemplateSelectionExpression) != "${integration.response.statuscode}" ||
		len(got.ResponseTemplates) != 2 {
		t.Fatalf("GetIntegrationResponse: %+v %v", got, err)
	}
	def, err := e.ag.CreateIntegrationResponse(ctx, &apigatewayv2.CreateIntegrationResponseInput{ApiId: id, IntegrationId: iid,
		IntegrationResponseKey: aws.String("$default"), TemplateSelectionExpression: aws.String("$integration.response.header.X-Kind"),
		ResponseTemplates: map[string]string{"fancy": `fancy $input.path('$.got')`}})
	if err != nil {
		t.Fatalf("CreateIntegrationResponse $default: %v", err)
	}
	// Refused: what would be declared and not applied.
	for _, c := range []struct {
		name string
		in   apigatewayv2.UpdateIntegrationResponseInput
		msg  string
	}{
		{"responseParameters", apigatewayv2.UpdateIntegrationResponseInput{ResponseParameters: map[string]string{"method.response.header.x": "'y'"}}, "responseParameters are not applied"},
		{"request body selection", apigatewayv2.UpdateIntegrationResponseInput{TemplateSelectionExpression: aws.String("$request.body.kind")}, "templateSelectionExpression"},
		{"multivalueheader", apigatewayv2.UpdateIntegrationResponseInput{TemplateSelectionExpression: aws.String("${integration.response.multivalueheader.x}")}, "templateSelectionExpression"},
	} {
		in := c.in
		in.ApiId, in.IntegrationId, in.IntegrationResponseId = id, iid, def.IntegrationResponseId
		_, err := e.ag.UpdateIntegrationResponse(ctx, &in)
		wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", c.msg)
	}
	if _, err := e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: id, IntegrationId: iid,
		RequestParameters: map[string]string{"integration.request.header.Host": "'other.example'"}}); err == nil {
		t.Fatal("a Host mapping was taken")
	} else {
		wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "Host cannot be mapped")
	}
	if _, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("$default"),
		Target: aws.String("integrations/" + aws.ToString(iid)), RouteResponseSelectionExpression: aws.String("$default")}); err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("prod"), AutoDeploy: aws.Bool(true)}); err != nil {
		t.Fatalf("CreateStage: %v", err)
	}
	c, _, err := wstest.Dial(websocket.DefaultDialer, "ws"+strings.TrimPrefix(e.env.GatewayURL, "http")+"/"+aws.ToString(id)+"/prod", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	for _, tc := range []struct{ msg, want string }{
		{`{"status":404,"kind":"x"}`, `not found: {"status":404,"kind":"x"}`},
		{`{"status":409,"kind":"x"}`, `client error {"got":"{\"status\":409,\"kind\":\"x\"}"}`},
		{`{"status":200,"kind":"fancy"}`, `fancy {"status":200,"kind":"fancy"}`},
		// $default's template selection finds no template: the body as it is.
		{`{"status":500,"kind":"plain"}`, `{"got":"{\"status\":500,\"kind\":\"plain\"}"}`},
	} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(tc.msg)); err != nil {
			t.Fatal(err)
		}
		if got := wstest.ReadText(t, c); got != tc.want {
			t.Errorf("%s: answered %q, want %q", tc.msg, got, tc.want)
		}
	}
}

// TestV2WebSocketRequiredConnectParameters: a $connect route's required
// requestParameters ({"route.request.querystring.token": {"Required": true}})
// are stored, read back, and enforced: a handshake without the parameter
// (or with it blank) is refused with 400 and REST's "Missing required
// request parameters" body before the integration runs. Before, Required
// was refused at create. On any other route a required parameter could not
// be checked (a message has no headers or query string), so it is refused.
func TestV2WebSocketRequiredConnectParameters(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	connects := make(chan string, 8)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		connects <- r.URL.RawQuery
	}))
	t.Cleanup(backend.Close)
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("wsrequired"), ProtocolType: v2types.ProtocolTypeWebsocket,
		RouteSelectionExpression: aws.String("$request.body.action")})
	if err != nil {
		t.Fatal(err)
	}
	id := api.ApiId
	integ, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: id, IntegrationType: v2types.IntegrationTypeHttpProxy,
		IntegrationMethod: aws.String("POST"), IntegrationUri: aws.String(backend.URL + "/connect"),
		RequestParameters: map[string]string{"integration.request.querystring.token": "route.request.querystring.token"}})
	if err != nil {
		t.Fatalf("CreateIntegration: %v", err)
	}
	target := aws.String("integrations/" + aws.ToString(integ.IntegrationId))
	required := map[string]v2types.ParameterConstraints{
		"route.request.querystring.token": {Required: aws.Bool(true)},
		"route.request.header.X-Tenant":   {Required: aws.Bool(true)},
		"route.request.header.X-Optional": {Required: aws.Bool(false)},
	}
	_, err = e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("$default"), Target: target,
		RequestParameters: map[string]v2types.ParameterConstraints{"route.request.querystring.token": {Required: aws.Bool(true)}}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "only $connect")
	rt, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("$connect"), Target: target,
		RequestParameters: required})
	if err != nil {
		t.Fatalf("CreateRoute $connect: %v", err)
	}
	got, err := e.ag.GetRoute(ctx, &apigatewayv2.GetRouteInput{ApiId: id, RouteId: rt.RouteId})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range required {
		if p, ok := got.RequestParameters[k]; !ok || aws.ToBool(p.Required) != aws.ToBool(want.Required) {
			t.Errorf("GetRoute: %s = %+v (present %v), want Required %v", k, p, ok, aws.ToBool(want.Required))
		}
	}
	// Moving the route off $connect would leave its required parameters
	// unchecked: refused.
	_, err = e.ag.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: id, RouteId: rt.RouteId, RouteKey: aws.String("join")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "only $connect")
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("prod"), AutoDeploy: aws.Bool(true)}); err != nil {
		t.Fatalf("CreateStage: %v", err)
	}
	url := "ws" + strings.TrimPrefix(e.env.GatewayURL, "http") + "/" + aws.ToString(id) + "/prod"
	for _, c := range []struct {
		name, query string
		header      http.Header
		missing     string
	}{
		{"neither", "", nil, "[X-Tenant, token]"},
		{"no header", "?token=t1", nil, "[X-Tenant]"},
		{"blank token", "?token=%20", http.Header{"X-Tenant": {"acme"}}, "[token]"},
	} {
		conn, resp, err := websocket.DefaultDialer.DialContext(ctx, url+c.query, c.header)
		if err == nil {
			_ = conn.Close()
			t.Fatalf("%s: connected", c.name)
		}
		if resp == nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "Missing required request parameters: "+c.missing) ||
			resp.Header.Get("x-amzn-ErrorType") != "BadRequestException" {
			t.Errorf("%s: %d %q %q, want 400 naming %s", c.name, resp.StatusCode, body, resp.Header.Get("x-amzn-ErrorType"), c.missing)
		}
	}
	select {
	case q := <-connects:
		t.Fatalf("the integration ran for a refused handshake (%q)", q)
	default:
	}
	conn, _, err := wstest.Dial(websocket.DefaultDialer, url+"?token=t1", http.Header{"X-Tenant": {"acme"}})
	if err != nil {
		t.Fatalf("dial with both: %v", err)
	}
	_ = conn.Close()
	if q := <-connects; q != "token=t1" {
		t.Errorf("backend got query %q, want token=t1", q)
	}
}
