// Command wsauthz is a REQUEST Lambda authorizer for the WebSocket deploy
// end-to-end tests: it allows a $connect whose query string has token=letmein
// (principal "alice", context user=alice), and refuses any other. The query
// string's key, when there is one, is the caller's API key
// (usageIdentifierKey), for APIs whose key source is the authorizer.
package main

import (
	"context"
	"errors"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	if ev.QueryStringParameters["token"] != "letmein" {
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: "alice",
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
			{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{ev.MethodArn}},
		}},
		Context:            map[string]any{"user": "alice"},
		UsageIdentifierKey: ev.QueryStringParameters["key"],
	}, nil
}

func main() { lambda.Start(handle) }
