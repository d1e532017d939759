// Command chat-connect is the chat sample's $connect function: it admits a
// connection to the room of its API and stage (refusing it with 401 when CHAT_TOKEN is set and the
// query string's token differs). A client that connects with format=json in
// its query string gets the other members' messages wrapped (chat.Wrap).
package main

import (
	"context"
	"crypto/subtle"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/portico-dev/portico/samples/chat"
)

func handle(_ context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	if want := os.Getenv("CHAT_TOKEN"); want != "" {
		got := req.QueryStringParameters["token"]
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			return events.APIGatewayProxyResponse{StatusCode: 401, Body: "Unauthorized"}, nil
		}
	}
	room, err := chat.RoomOf(req.RequestContext.APIID, req.RequestContext.Stage)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	if err := room.Join(req.RequestContext.ConnectionID, req.QueryStringParameters["format"] == "json"); err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return events.APIGatewayProxyResponse{StatusCode: 200, Body: "Connected."}, nil
}

func main() { lambda.Start(handle) }
