package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/wstest"
)

// TestWebSocketConnectStatusOverIntegrationResponses: on a WebSocket API an
// integration response shapes the reply's body only; the integration's own
// status (a MOCK's rendered statusCode, an HTTP backend's, a function error's
// 500) decides a $connect's handshake. Before, apigatewayv2's integration
// responses were given status 200 and a MOCK answered with it, so a MOCK
// $connect that rendered 403 let the client in as soon as it had a $default
// or /4\d{2}/ integration response, and the access log of a MOCK message
// route that rendered 404 said 200.
func TestWebSocketConnectStatusOverIntegrationResponses(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 5)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"no": "entry"}`))
	}))
	t.Cleanup(backend.Close)

	type idOut struct {
		APIID         string `json:"apiId"`
		IntegrationID string `json:"integrationId"`
	}
	// api creates a WebSocket API whose $connect (and message route "m",
	// when msg is set) is integration integ with integration responses keys.
	api := func(name string, integ map[string]any, keys ...string) string {
		t.Helper()
		var a, in idOut
		admin(t, c, "POST", "/v2/apis", nil, map[string]any{"name": name, "protocolType": "WEBSOCKET",
			"routeSelectionExpression": "$request.body.action"}, &a)
		admin(t, c, "POST", "/v2/apis/"+a.APIID+"/integrations", nil, integ, &in)
		for _, k := range keys {
			admin(t, c, "POST", "/v2/apis/"+a.APIID+"/integrations/"+in.IntegrationID+"/integrationresponses", nil,
				map[string]any{"integrationResponseKey": k, "responseTemplates": map[string]string{"$default": "denied"}}, nil)
		}
		admin(t, c, "POST", "/v2/apis/"+a.APIID+"/routes", nil, map[string]any{"routeKey": "$connect", "target": "integrations/" + in.IntegrationID}, nil)
		admin(t, c, "POST", "/v2/apis/"+a.APIID+"/stages", nil, map[string]any{"stageName": "dev", "stageVariables": map[string]string{"fail": "1"}}, nil)
		admin(t, c, "POST", "/v2/apis/"+a.APIID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
		return a.APIID
	}
	refused := func(name, id string, want int) {
		t.Helper()
		ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+id+"/dev", nil)
		if resp != nil {
			_ = resp.Body.Close()
		}
		if err == nil {
			_ = ws.Close()
			t.Errorf("%s: connected (101), want the handshake refused with %d", name, want)
			return
		}
		if resp == nil || resp.StatusCode != want {
			t.Errorf("%s: %v (response %v), want %d", name, err, resp, want)
		}
	}
	mock := map[string]any{"integrationType": "MOCK", "requestTemplates": map[string]string{"$default": `{"statusCode": 403}`}}
	for _, keys := range [][]string{nil, {"$default"}, {`/4\d{2}/`}, {"$default", `/4\d{2}/`}} {
		refused("MOCK rendering 403 with integration responses "+strings.Join(keys, ","), api("mock", mock, keys...), http.StatusForbidden)
	}
	httpInteg := map[string]any{"integrationType": "HTTP", "integrationMethod": "POST", "integrationUri": backend.URL}
	refused("HTTP backend answering 403 with $default", api("http", httpInteg, "$default", `/4\d{2}/`), http.StatusForbidden)
	awsInteg := map[string]any{"integrationType": "AWS", "integrationUri": "function:probe",
		"requestTemplates": map[string]string{"$default": `{"queryStringParameters": {"fail": "$stageVariables.fail"}}`}}
	refused("AWS function failing with $default and a matching key", api("aws", awsInteg, "$default", "/.*probe failed.*/"), http.StatusInternalServerError)

	// A message route's MOCK that renders 404 and takes /4\d{2}/: the
	// reply is its template's, the access log's status the rendered 404.
	var a, in idOut
	admin(t, c, "POST", "/v2/apis", nil, map[string]any{"name": "msg", "protocolType": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action"}, &a)
	admin(t, c, "POST", "/v2/apis/"+a.APIID+"/integrations", nil, map[string]any{"integrationType": "MOCK",
		"requestTemplates": map[string]string{"$default": `{"statusCode": 404}`}}, &in)
	admin(t, c, "POST", "/v2/apis/"+a.APIID+"/integrations/"+in.IntegrationID+"/integrationresponses", nil,
		map[string]any{"integrationResponseKey": `/4\d{2}/`, "responseTemplates": map[string]string{"$default": "missing"}}, nil)
	var route struct {
		RouteID string `json:"routeId"`
	}
	admin(t, c, "POST", "/v2/apis/"+a.APIID+"/routes", nil, map[string]any{"routeKey": "$default", "target": "integrations/" + in.IntegrationID,
		"routeResponseSelectionExpression": "$default"}, &route)
	admin(t, c, "POST", "/v2/apis/"+a.APIID+"/routes/"+route.RouteID+"/routeresponses", nil, map[string]any{"routeResponseKey": "$default"}, nil)
	admin(t, c, "POST", "/v2/apis/"+a.APIID+"/stages", nil, map[string]any{"stageName": "dev"}, nil)
	admin(t, c, "POST", "/v2/apis/"+a.APIID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	logFile := filepath.Join(t.TempDir(), "ws.log")
	admin(t, c, "PUT", "/portico/v1/apis/"+a.APIID+"/stages/dev/access-log", nil, map[string]string{
		"format": "$context.requestId $context.routeKey $context.status", "destinationArn": "file://" + logFile}, nil)
	ws, _, err := wstest.Dial(websocket.DefaultDialer, "ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+a.APIID+"/dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if got := wstest.Exchange(t, ws, `{"action": "x"}`); got != "missing" {
		t.Fatalf("reply: %q, want missing", got)
	}
	// The line is written after the reply.
	var raw []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if raw, _ = os.ReadFile(logFile); strings.Contains(string(raw), " $default ") {
			break
		}
	}
	if !strings.Contains(string(raw), " $default 404\n") {
		t.Errorf("access log, want the rendered 404:\n%s", raw)
	}
}
