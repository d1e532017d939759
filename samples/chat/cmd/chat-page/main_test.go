package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestPageWebSocketURL(t *testing.T) {
	cases := []struct {
		name   string
		vars   map[string]string
		status int
		want   string // in the page
	}{
		{"api and stage", map[string]string{"wsApi": "abcdefghij", "wsStage": "prod"}, 200, `wsUrl = "";`},
		{"wsUrl", map[string]string{"wsApi": "abcdefghij", "wsUrl": "wss://ws.example.com/production"}, 200, `wsUrl = "wss://ws.example.com/production";`},
		{"wsUrl alone", map[string]string{"wsUrl": "ws://127.0.0.1:8080/abcdefghij/dev"}, 200, `wsUrl = "ws://127.0.0.1:8080/abcdefghij/dev";`},
		{"wsUrl escaped", map[string]string{"wsUrl": `wss://ws.example.com/</script>"x`}, 200, `wsUrl = "wss://ws.example.com/\u003c/script\u003e\"x";`},
		{"wsUrl not a WebSocket URL", map[string]string{"wsApi": "abcdefghij", "wsUrl": "https://ws.example.com/"}, 500, "must be a ws:// or wss:// URL"},
		{"nothing", nil, 500, "set the stage variable wsApi"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("CHAT_WS_API", "")
			t.Setenv("CHAT_WS_URL", "")
			resp, err := handle(context.Background(), events.APIGatewayProxyRequest{StageVariables: c.vars})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.status || !strings.Contains(resp.Body, c.want) {
				t.Fatalf("status %d, body without %q:\n%s", resp.StatusCode, c.want, resp.Body)
			}
		})
	}
}
