package gateway_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestWebSocketConnectMultiValueHeaders: a $connect function's
// multiValueHeaders reach the client, on the 101 and on a refusal, merged with
// its headers case-insensitively, multiValueHeaders winning, as a Lambda proxy
// result's do: two cookies are two Set-Cookie lines. Before, only headers
// were read, and the cookies were lost.
func TestWebSocketConnectMultiValueHeaders(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 5)
	var api struct {
		ID string `json:"id"`
	}
	fn := map[string]any{"type": "AWS_PROXY", "uri": "function:probe"}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "wsmv", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": []any{
			map[string]any{"routeKey": "$connect", "integration": fn},
			map[string]any{"routeKey": "$default", "integration": fn},
		}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	base := "ws" + strings.TrimPrefix(env.GatewayURL, "http") + "/" + api.ID + "/dev"
	const headers = `"headers":{"x-mv":"from headers","X-One":"1","set-cookie":"lost=1"},` +
		`"multiValueHeaders":{"Set-Cookie":["a=1","b=2"],"X-Mv":["1"],"Content-Length":["9"]}`

	for _, tc := range []struct {
		name, result string
		status       int
	}{
		{"101", `{"statusCode":200,` + headers + `}`, 101},
		{"refusal", `{"statusCode":403,"body":"no",` + headers + `}`, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws, resp, err := websocket.DefaultDialer.Dial(base+"?result="+url.QueryEscape(tc.result), nil)
			if ws != nil {
				defer ws.Close()
			}
			if resp == nil {
				t.Fatalf("no answer: %v", err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%v), want %d", resp.StatusCode, err, tc.status)
			}
			h := resp.Header
			if got := h.Values("Set-Cookie"); !slices.Equal(got, []string{"a=1", "b=2"}) {
				t.Errorf("Set-Cookie lines %q, want two: a=1 and b=2", got)
			}
			if got := h.Values("X-Mv"); !slices.Equal(got, []string{"1"}) {
				t.Errorf("X-Mv %q, want multiValueHeaders' [1] to win over headers'", got)
			}
			if h.Get("X-One") != "1" {
				t.Errorf("X-One %q: headers not merged in", h.Get("X-One"))
			}
			if tc.status == 403 && h.Get("Content-Length") != "2" {
				t.Errorf("refusal's Content-Length %q, want the body's, 2", h.Get("Content-Length"))
			}
		})
	}
}
