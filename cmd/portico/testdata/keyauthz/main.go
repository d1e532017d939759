// Command keyauthz is a TOKEN Lambda authorizer for the deploy end-to-end
// tests: it allows every token but "unauthorized", and names the token as the
// caller's API key (usageIdentifierKey), for APIs whose key source is
// AUTHORIZER.
package main

import (
	"context"
	"errors"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, ev events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	if ev.AuthorizationToken == "unauthorized" {
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: "caller",
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
			{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{ev.MethodArn}},
		}},
		UsageIdentifierKey: ev.AuthorizationToken,
	}, nil
}

func main() { lambda.Start(handle) }
