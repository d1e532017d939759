// Command chat-page serves the chat sample's web page from a REST API route. The
// page connects to the WebSocket API named by the stage variables wsApi and
// wsStage (or by CHAT_WS_API and CHAT_WS_STAGE) on the page's own host, or to
// the URL in the stage variable wsUrl (or CHAT_WS_URL: a ws:// or wss:// URL,
// such as the WebSocket API's custom domain), shows messages and sends what
// people type. The page sends the room's token (chat-connect's CHAT_TOKEN) as
// the connection's ?token=, taken from its own URL (?token= or #token=) or
// its token field.
package main

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

//go:embed page.html
var page string

func handle(_ context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	api, stage := req.StageVariables["wsApi"], req.StageVariables["wsStage"]
	if api == "" {
		api = os.Getenv("CHAT_WS_API")
	}
	if stage == "" {
		stage = os.Getenv("CHAT_WS_STAGE")
	}
	if stage == "" {
		stage = "dev"
	}
	wsURL := cmp.Or(req.StageVariables["wsUrl"], os.Getenv("CHAT_WS_URL"))
	if wsURL != "" {
		if u, err := url.Parse(wsURL); err != nil || u.Scheme != "ws" && u.Scheme != "wss" || u.Host == "" {
			return events.APIGatewayProxyResponse{StatusCode: 500, Headers: map[string]string{"Content-Type": "text/plain"},
				Body: "chat-page: the stage variable wsUrl (or CHAT_WS_URL) must be a ws:// or wss:// URL, such as wss://ws.example.com/production"}, nil
		}
	}
	wsJS, _ := json.Marshal(wsURL) // a string always marshals, with <, > and & escaped
	if api == "" && wsURL == "" {
		return events.APIGatewayProxyResponse{StatusCode: 500, Headers: map[string]string{"Content-Type": "text/plain"},
			Body: "chat-page: set the stage variable wsApi (or CHAT_WS_API) to the chat WebSocket API's id, or wsUrl (or CHAT_WS_URL) to its URL"}, nil
	}
	r := strings.NewReplacer("{{WS_API}}", jsString(api), "{{WS_STAGE}}", jsString(stage), "{{WS_URL}}", string(wsJS))
	return events.APIGatewayProxyResponse{
		StatusCode: 200,
		Headers:    map[string]string{"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
		Body:       r.Replace(page),
	}, nil
}

// jsString keeps only the characters API ids and stage names may have.
func jsString(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '$' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func main() { lambda.Start(handle) }
