package admin_test

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// The admin tokens of the two kinds of test server.
const (
	cpToken = "control-plane-token-0123456789"
	v2Token = "v2-admin-token-0123456789"
)

// cpEnv is a server with an apigateway client; v2Env one with an
// apigatewayv2 client.
type (
	cpEnv = sdkEnv[*apigateway.Client]
	v2Env = sdkEnv[*apigatewayv2.Client]
)

// startControlPlane starts a server for the apigateway (v1) tests.
func startControlPlane(t *testing.T) *cpEnv { return startSigned(t, cpToken, apigateway.NewFromConfig) }

// startV2 starts a server for the apigatewayv2 tests.
func startV2(t *testing.T) *v2Env { return startSigned(t, v2Token, apigatewayv2.NewFromConfig) }

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
	cfg := sdkConfig(env.AdminURL, token)
	return &sdkEnv[C]{env: env, ag: newAG(cfg), fn: lambda.NewFromConfig(cfg)}
}

// sdkConfig is the AWS SDK configuration of a client for the admin API at
// url, signing with secret. Tests assert single answers, so no retries
// (throttles would hide).
func sdkConfig(url, secret string) aws.Config {
	// http.DefaultClient, whose idle connections apptest's StartAgain
	// closes: the SDK's own client kept one to the stopped server, which a
	// request right after a restart could take before its reader saw the
	// server's close (a DELETE, which is not retried, then failed with EOF
	// under load).
	return aws.Config{BaseEndpoint: aws.String(url), Region: "us-east-1", RetryMaxAttempts: 1, HTTPClient: http.DefaultClient,
		Credentials: credentials.NewStaticCredentialsProvider("portico", secret, "")}
}
