// Command chat-disconnect is the chat sample's $disconnect function: it removes
// the connection from the room.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/portico-dev/portico/samples/chat"
)

func handle(_ context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	room, err := chat.RoomOf(req.RequestContext.APIID, req.RequestContext.Stage)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	if err := room.Leave(req.RequestContext.ConnectionID); err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return events.APIGatewayProxyResponse{StatusCode: 200, Body: "Disconnected."}, nil
}

func main() { lambda.Start(handle) }
