package gateway_test

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/wstest"
)

// backendCall is what a recording HTTP backend got.
type backendCall struct {
	path   string
	query  url.Values
	header http.Header
	body   string
}

// TestWebSocketRequestParametersApplied: a WebSocket HTTP or HTTP_PROXY
// integration's requestParameters are applied to the request its backend
// gets, as API Gateway's WebSocket data mapping does, on $connect (the
// upgrade's headers and query string), a message route (the body's members)
// and $disconnect: headers and query string parameters from context
// variables, stage variables, literals and the route request. A mapping of
// the connectionId header wins over the one Portico sends; without one,
// Portico's stays. Before, such integrations were refused (400).
func TestWebSocketRequestParametersApplied(t *testing.T) {
	t.Parallel()
	ws, calls := wsMappedAPI(t, "?token=t0k", http.Header{"X-User": {"ann"}}, func(backend string) []any {
		return []any{
			map[string]any{"routeKey": "$connect", "integration": map[string]any{
				"type": "HTTP_PROXY", "httpMethod": "POST", "uri": backend + "/connect",
				"requestParameters": map[string]string{
					"integration.request.header.X-Cid":         "context.connectionId",
					"integration.request.header.X-Token":       "route.request.querystring.token",
					"integration.request.querystring.who":      "route.request.header.X-User",
					"integration.request.header.X-Static":      "'lit value'",
					"integration.request.header.X-Color":       "stageVariables.color",
					"integration.request.header.X-Event":       "context.eventType",
					"integration.request.header.X-Missing":     "route.request.header.X-Not-Sent",
					"integration.request.querystring.stage":    "context.stage",
					"integration.request.header.X-Route":       "context.routeKey",
					"integration.request.header.X-Source-Addr": "context.identity.sourceIp",
				}}},
			map[string]any{"routeKey": "send", "routeResponseSelectionExpression": "$default", "integration": map[string]any{
				"type": "HTTP", "httpMethod": "POST", "uri": backend + "/send?fixed=1",
				"requestParameters": map[string]string{
					"integration.request.header.connectionId":  "'mapped'",
					"integration.request.header.X-Room":        "route.request.body.room",
					"integration.request.querystring.user":     "route.request.body.user.name",
					"integration.request.header.X-Event":       "context.eventType",
					"integration.request.header.X-Message-Id":  "context.messageId",
					"integration.request.header.X-Cid":         "context.connectionId",
					"integration.request.querystring.absent":   "route.request.body.nope",
					"integration.request.header.X-Request-Id":  "context.requestId",
					"integration.request.header.X-Domain-Name": "context.domainName",
				}}},
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": map[string]any{
				"type": "HTTP_PROXY", "httpMethod": "POST", "uri": backend + "/plain"}},
			map[string]any{"routeKey": "$disconnect", "integration": map[string]any{
				"type": "HTTP_PROXY", "httpMethod": "POST", "uri": backend + "/bye",
				"requestParameters": map[string]string{
					"integration.request.header.X-Event": "context.eventType",
					"integration.request.header.X-Cid":   "context.connectionId",
				}}},
		}
	})

	conn := <-calls
	cid := conn.header.Get("X-Cid")
	for name, want := range map[string]string{"X-Token": "t0k", "X-Static": "lit value", "X-Color": "blue",
		"X-Event": "CONNECT", "X-Route": "$connect", "connectionId": cid} {
		if got := conn.header.Get(name); got != want {
			t.Errorf("$connect: header %s = %q, want %q", name, got, want)
		}
	}
	if cid == "" || conn.path != "/connect" {
		t.Errorf("$connect: path %q, connection id %q", conn.path, cid)
	}
	if conn.header.Get("X-Source-Addr") == "" {
		t.Error("$connect: context.identity.sourceIp mapped to nothing")
	}
	if _, ok := conn.header["X-Missing"]; ok {
		t.Errorf("$connect: a header the client did not send was mapped: %q", conn.header.Get("X-Missing"))
	}
	if got := conn.query.Get("who"); got != "ann" {
		t.Errorf("$connect: query who = %q, want ann", got)
	}
	if got := conn.query.Get("stage"); got != "dev" {
		t.Errorf("$connect: query stage = %q, want dev", got)
	}

	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"send","room":"r1","user":{"name":"bo b"}}`)); err != nil {
		t.Fatal(err)
	}
	if got := wstest.ReadText(t, ws); !strings.HasPrefix(got, "/send {") {
		t.Errorf("send answered %q", got)
	}
	msg := <-calls
	for name, want := range map[string]string{"connectionId": "mapped", "X-Room": "r1", "X-Event": "MESSAGE", "X-Cid": cid} {
		if got := msg.header.Get(name); got != want {
			t.Errorf("send: header %s = %q, want %q", name, got, want)
		}
	}
	for _, name := range []string{"X-Message-Id", "X-Request-Id", "X-Domain-Name"} {
		if msg.header.Get(name) == "" {
			t.Errorf("send: header %s mapped to nothing", name)
		}
	}
	if msg.query.Get("user") != "bo b" || msg.query.Get("fixed") != "1" || msg.query.Has("absent") {
		t.Errorf("send: query %v, want user=bo b and the URI's fixed=1, no absent", msg.query)
	}
	if msg.body != `{"action":"send","room":"r1","user":{"name":"bo b"}}` {
		t.Errorf("send: body %q", msg.body)
	}

	// An integration without mappings keeps Portico's connectionId header.
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"other"}`)); err != nil {
		t.Fatal(err)
	}
	if got := wstest.ReadText(t, ws); got != `/plain {"action":"other"}` {
		t.Errorf("$default answered %q", got)
	}
	if plain := <-calls; plain.header.Get("connectionId") != cid {
		t.Errorf("$default: connectionId header %q, want %q", plain.header.Get("connectionId"), cid)
	}

	_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	bye := <-calls
	if bye.path != "/bye" || bye.header.Get("X-Event") != "DISCONNECT" || bye.header.Get("X-Cid") != cid {
		t.Errorf("$disconnect: path %q, X-Event %q, X-Cid %q (want %q)", bye.path, bye.header.Get("X-Event"), bye.header.Get("X-Cid"), cid)
	}
}

// TestWebSocketHTTPRequestTemplate: a WebSocket HTTP (non-proxy) integration
// sends its backend the request template rendered with the message as $input
// and the connection's $context, as API Gateway transforms the integration
// request, on $connect and on a message route; requestParameters still read
// the message as the client sent it. Before, such templates were refused
// (400) and only a MOCK rendered them.
func TestWebSocketHTTPRequestTemplate(t *testing.T) {
	t.Parallel()
	ws, calls := wsMappedAPI(t, "", nil, func(backend string) []any {
		return []any{
			map[string]any{"routeKey": "$connect", "integration": map[string]any{
				"type": "HTTP", "httpMethod": "POST", "uri": backend + "/connect", "templateSelectionExpression": `\$default`,
				"requestTemplates": map[string]string{"$default": `connect $context.eventType $context.routeKey`}}},
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": map[string]any{
				"type": "HTTP", "httpMethod": "POST", "uri": backend + "/msg", "templateSelectionExpression": `\$default`,
				"requestTemplates":  map[string]string{"$default": `{"room":"$input.path('$.room')","cid":"$context.connectionId","color":"$stageVariables.color"}`},
				"requestParameters": map[string]string{"integration.request.header.X-Room": "route.request.body.room"}}},
		}
	})
	conn := <-calls
	if conn.body != "connect CONNECT $connect" {
		t.Errorf("$connect: backend got %q, want the rendered template", conn.body)
	}
	cid := conn.header.Get("connectionId")
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"room":"r9","text":"hi"}`)); err != nil {
		t.Fatal(err)
	}
	want := `{"room":"r9","cid":"` + cid + `","color":"blue"}`
	if got := wstest.ReadText(t, ws); got != "/msg "+want {
		t.Errorf("$default answered %q, want %q", got, "/msg "+want)
	}
	msg := <-calls
	if msg.body != want || msg.header.Get("X-Room") != "r9" {
		t.Errorf("message: backend got %q with X-Room %q, want %q and r9", msg.body, msg.header.Get("X-Room"), want)
	}
}

// wsMappedAPI starts Portico and a backend that records each request it gets
// and answers "PATH BODY", creates a WebSocket API of the routes routes makes
// for the backend's URL (selected by $request.body.action), deploys it to
// stage dev with the variable color=blue and connects to it with query (""
// or "?...") and hdr.
func wsMappedAPI(t *testing.T, query string, hdr http.Header, routes func(backend string) []any) (*websocket.Conn, <-chan backendCall) {
	t.Helper()
	return wsMappedAPIWith(t, query, hdr, nil, routes)
}

// wsMappedAPIWith is wsMappedAPI whose API also has the members setup
// returns (setup, when not nil, may create functions in env first).
func wsMappedAPIWith(t *testing.T, query string, hdr http.Header, setup func(env *apptest.Env) map[string]any, routes func(backend string) []any) (*websocket.Conn, <-chan backendCall) {
	t.Helper()
	const token = "ws-mapping-token"
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	c := env.Client()
	calls := make(chan backendCall, 16)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		calls <- backendCall{r.URL.Path, r.URL.Query(), r.Header.Clone(), string(b)}
		_, _ = io.WriteString(w, r.URL.Path+" "+string(b))
	}))
	t.Cleanup(backend.Close)
	var api struct {
		ID string `json:"id"`
	}
	def := map[string]any{"name": "wsmapping", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": routes(backend.URL)}
	if setup != nil {
		maps.Copy(def, setup(env))
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, def, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil,
		map[string]any{"stageName": "dev", "variables": map[string]string{"color": "blue"}}, nil)
	ws, resp, err := wstest.Dial(websocket.DefaultDialer, "ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+api.ID+"/dev"+query, hdr)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ws, calls
}

// TestWebSocketPassthroughNeverWithoutTemplates: an HTTP (non-proxy)
// integration without request templates passes a message through under
// WHEN_NO_MATCH (and WHEN_NO_TEMPLATES), and under NEVER passes none: the
// client gets the Internal server error frame and the backend is not called,
// as API Gateway's NEVER refuses a payload no template maps. Before, NEVER
// without templates passed the message through.
func TestWebSocketPassthroughNeverWithoutTemplates(t *testing.T) {
	t.Parallel()
	ws, calls := wsMappedAPI(t, "", nil, func(backend string) []any {
		return []any{
			map[string]any{"routeKey": "never", "routeResponseSelectionExpression": "$default", "integration": map[string]any{
				"type": "HTTP", "httpMethod": "POST", "uri": backend + "/never", "passthroughBehavior": "NEVER"}},
			map[string]any{"routeKey": "notemplates", "routeResponseSelectionExpression": "$default", "integration": map[string]any{
				"type": "HTTP", "httpMethod": "POST", "uri": backend + "/notemplates", "passthroughBehavior": "WHEN_NO_TEMPLATES"}},
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": map[string]any{
				"type": "HTTP", "httpMethod": "POST", "uri": backend + "/msg"}},
		}
	})
	for _, tc := range []struct{ msg, want string }{
		{`{"action":"notemplates"}`, `/notemplates {"action":"notemplates"}`},
		{`{"action":"other"}`, `/msg {"action":"other"}`},
	} {
		if got := wstest.Exchange(t, ws, tc.msg); got != tc.want {
			t.Errorf("%s answered %q, want %q (passed through)", tc.msg, got, tc.want)
		}
		if call := <-calls; call.body != tc.msg {
			t.Errorf("%s: backend got %q", tc.msg, call.body)
		}
	}
	if got := wstest.Exchange(t, ws, `{"action":"never"}`); !strings.HasPrefix(got, `{"message": "Internal server error", "connectionId":`) {
		t.Errorf("never answered %q, want the Internal server error frame", got)
	}
	select {
	case call := <-calls:
		t.Errorf("NEVER without templates called the backend: %s %q", call.path, call.body)
	default:
	}
}
