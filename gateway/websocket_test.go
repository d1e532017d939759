package gateway

import (
	"errors"
	"maps"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/gateway/internal/wirenames"
)

func TestParseWSResult(t *testing.T) {
	cases := []struct {
		name    string
		payload string
		status  int
		body    string
		header  string
		bad     bool
		none    bool // no body at all: nothing is sent (an empty body sends an empty frame)
	}{
		{name: "proxy", payload: `{"statusCode":200,"body":"hi","headers":{"Sec-WebSocket-Protocol":"chat"}}`, status: 200, body: "hi", header: "chat"},
		{name: "refusal", payload: `{"statusCode":401}`, status: 401, none: true},
		{name: "status without body", payload: `{"statusCode":200}`, status: 200, none: true},
		{name: "null body", payload: `{"statusCode":200,"body":null}`, status: 200, none: true},
		{name: "empty body", payload: `{"statusCode":200,"body":""}`, status: 200},
		{name: "array", payload: `[1,"a"]`, status: 200, body: `[1,"a"]`},
		{name: "true", payload: `true`, status: 200, body: "true"},
		{name: "status as string", payload: `{"statusCode":"403","body":"no"}`, status: 403, body: "no"},
		{name: "base64", payload: `{"statusCode":200,"body":"/wA=","isBase64Encoded":true}`, status: 200, body: "\xff\x00"},
		{name: "body only", payload: `{"body":"x"}`, status: 200, body: "x"},
		{name: "plain object", payload: `{"a":1}`, status: 200, body: `{"a":1}`},
		{name: "string", payload: `"hello"`, status: 200, body: "hello"},
		{name: "number", payload: `42`, status: 200, body: "42"},
		{name: "null", payload: `null`, status: 200, none: true},
		{name: "empty", payload: ``, bad: true},
		{name: "not json", payload: `{`, bad: true},
		{name: "bad status", payload: `{"statusCode":99}`, bad: true},
		{name: "interim status", payload: `{"statusCode":101}`, bad: true},
		{name: "interim status as string", payload: `{"statusCode":"100"}`, bad: true},
		{name: "body not a string", payload: `{"statusCode":200,"body":{}}`, bad: true},
		{name: "multiValueHeaders not lists of strings", payload: `{"statusCode":200,"multiValueHeaders":{"a":"b"}}`, bad: true},
		{name: "bad base64", payload: `{"statusCode":200,"body":"*","isBase64Encoded":true}`, bad: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := parseWSResult([]byte(c.payload))
			if c.bad {
				if !errors.Is(err, errBadResult) {
					t.Fatalf("err = %v, want errBadResult", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.status || string(resp.Body) != c.body || (resp.Body == nil) != c.none || resp.Headers["Sec-WebSocket-Protocol"] != c.header {
				t.Fatalf("got %d %q %v", resp.StatusCode, resp.Body, resp.Headers)
			}
		})
	}
}

func TestRespellWebSocketHeaders(t *testing.T) {
	ev := &events.APIGatewayWebsocketProxyRequest{
		Headers:           map[string]string{"Sec-Websocket-Key": "k", "Host": "h", "X-Forwarded-For": "1.2.3.4", "X-Api-Key": "a"},
		MultiValueHeaders: map[string][]string{"Sec-Websocket-Key": {"k"}, "Host": {"h"}, "X-Forwarded-For": {"1.2.3.4"}, "X-Api-Key": {"a"}},
	}
	respellHeaders(ev, wirenames.Names{"Sec-WebSocket-Key", "host", "x-forwarded-for"})
	want := map[string]string{"Sec-WebSocket-Key": "k", "Host": "h", "X-Forwarded-For": "1.2.3.4", "X-Api-Key": "a"}
	if !maps.Equal(ev.Headers, want) || len(ev.MultiValueHeaders) != 4 || ev.MultiValueHeaders["Sec-WebSocket-Key"][0] != "k" {
		t.Fatalf("headers %v, multi %v", ev.Headers, ev.MultiValueHeaders)
	}
}
