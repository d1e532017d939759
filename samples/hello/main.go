// Command hello is Portico's sample function: an aws-lambda-go handler that takes an
// API Gateway proxy request (or any JSON object, invoked directly) and answers with a
// JSON greeting that names the function version and the GREETING variable.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type greeting struct {
	Message         string `json:"message"`
	FunctionVersion string `json:"functionVersion"`
	Greeting        string `json:"greeting"`
	Path            string `json:"path"`
	Name            string `json:"name"`
}

func handle(_ context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	version := lambdacontext.FunctionVersion
	if version == "" {
		version = os.Getenv("AWS_LAMBDA_FUNCTION_VERSION")
	}
	body, err := json.Marshal(greeting{
		Message:         "hello from portico",
		FunctionVersion: version,
		Greeting:        os.Getenv("GREETING"),
		Path:            req.Path,
		Name:            req.QueryStringParameters["name"],
	})
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return events.APIGatewayProxyResponse{
		StatusCode: 200,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(body),
	}, nil
}

func main() {
	lambda.Start(handle)
}
