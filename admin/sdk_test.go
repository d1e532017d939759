package admin_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// sdkEnv is a server with an admin token and AWS SDK clients signing with it:
// ag is API Gateway's client (apigateway or apigatewayv2, both sign for
// service "apigateway"), fn Lambda's (service "lambda").
type sdkEnv[C any] struct {
	env *apptest.Env
	ag  C
	fn  *lambda.Client
}

// startSigned starts the application with admin token and SDK clients for its
// admin API whose static credentials carry the token as their secret; newAG
// is the API Gateway client's NewFromConfig.
func startSigned[C, O any](t *testing.T, token string, newAG func(aws.Config, ...func(*O)) C) *sdkEnv[C] {
	t.Helper()
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	cfg := aws.Config{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("portico", token, "")}
	return &sdkEnv[C]{env: env, ag: newAG(cfg), fn: lambda.NewFromConfig(cfg)}
}
