// Command chat-sendmessage is the chat sample's sendmessage route: it sends the
// message's "data" to every other connection in the room (its API and stage's) through the
// @connections API (apigatewaymanagementapi PostToConnection), and removes the
// members that answer 410 Gone. A member that asked for it (the chat page) gets
// it wrapped, as {"type":"message","data":DATA} (chat.Wrap).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"golang.org/x/sync/errgroup"

	"github.com/portico-dev/portico/samples/chat"
)

type message struct {
	Action string          `json:"action"`
	Data   json.RawMessage `json:"data"`
}

func handle(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	var m message
	if err := json.Unmarshal([]byte(req.Body), &m); err != nil {
		return events.APIGatewayProxyResponse{StatusCode: 400, Body: "Send {\"action\":\"sendmessage\",\"data\":\"...\"}."}, nil
	}
	data := []byte(m.Data)
	var s string
	if json.Unmarshal(m.Data, &s) == nil {
		data = []byte(s) // a string is sent as its text
	}
	room, err := chat.RoomOf(req.RequestContext.APIID, req.RequestContext.Stage)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	members, err := room.Members()
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	client, err := chat.Client(ctx, req.RequestContext.DomainName, req.RequestContext.Stage)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	var g errgroup.Group
	g.SetLimit(16)
	var wrapped []byte
	for _, member := range members {
		id := member.ID
		if id == req.RequestContext.ConnectionID {
			continue
		}
		data := data
		if member.Wrapped {
			if wrapped == nil {
				wrapped = chat.Wrap(m.Data)
			}
			data = wrapped
		}
		g.Go(func() error {
			_, err := client.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: data})
			var gone *types.GoneException
			switch {
			case errors.As(err, &gone):
				log.Printf("connection %s is gone: removing it", id)
				return room.Leave(id)
			case err != nil:
				log.Printf("post to %s: %v", id, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return events.APIGatewayProxyResponse{StatusCode: 200, Body: "Data sent."}, nil
}

func main() { lambda.Start(handle) }
