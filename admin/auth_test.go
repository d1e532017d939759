package admin_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestAdminTokenRequired checks that with a token set the admin API refuses
// anonymous and wrongly signed calls, and accepts the bearer token and SigV4
// signatures made with access key "portico" and the token as the secret.
func TestAdminTokenRequired(t *testing.T) {
	t.Parallel()
	const token = "s3cret-token"
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})

	get := func(auth string) int {
		req, _ := http.NewRequest(http.MethodGet, env.AdminURL+"/2015-03-31/functions", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(""); got != http.StatusForbidden {
		t.Fatalf("no token: %d, want 403", got)
	}
	if got := get("Bearer wrong"); got != http.StatusForbidden {
		t.Fatalf("wrong token: %d, want 403", got)
	}
	if got := get("Bearer " + token); got != http.StatusOK {
		t.Fatalf("right token: %d, want 200", got)
	}

	client := func(id, secret string) *lambda.Client {
		return lambda.New(lambda.Options{
			BaseEndpoint: aws.String(env.AdminURL),
			Region:       "us-east-1",
			Credentials:  credentials.NewStaticCredentialsProvider(id, secret, ""),
		})
	}
	ctx := context.Background()
	if _, err := client("portico", token).ListFunctions(ctx, &lambda.ListFunctionsInput{}); err != nil {
		t.Fatalf("SigV4 with the token as secret: %v", err)
	}
	for _, c := range []struct{ id, secret string }{{"portico", "wrong"}, {"someone", token}} {
		_, err := client(c.id, c.secret).ListFunctions(ctx, &lambda.ListFunctionsInput{})
		var re *smithyhttp.ResponseError
		if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
			t.Fatalf("SigV4 as %s/%s: want 403, got %v", c.id, c.secret, err)
		}
	}
}

// TestUnsignedRequestIsMissingAuthenticationToken: a request without any
// credential, to a server with a token, is answered as AWS answers it: 403
// MissingAuthenticationTokenException "Missing Authentication Token" on
// Lambda's and API Gateway's routes (MissingAuthenticationToken in IAM's query
// protocol), not AccessDeniedException, which stays the answer to a wrong
// token. The message still says how to pass the token.
func TestUnsignedRequestIsMissingAuthenticationToken(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = "s3cret-token" }})
	anon := aws.Config{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: aws.AnonymousCredentials{}}
	_, err := lambda.NewFromConfig(anon).ListFunctions(t.Context(), &lambda.ListFunctionsInput{})
	apiError(t, err, "MissingAuthenticationTokenException", http.StatusForbidden)
	if err == nil || !strings.Contains(err.Error(), "Missing Authentication Token") || !strings.Contains(err.Error(), "PORTICO_TOKEN") {
		t.Errorf("Lambda, unsigned: %v; want AWS's message and how to pass the token", err)
	}
	_, err = apigateway.NewFromConfig(anon).GetRestApis(t.Context(), &apigateway.GetRestApisInput{})
	apiError(t, err, "MissingAuthenticationTokenException", http.StatusForbidden)
	wantIAMError(t, "IAM, unsigned", iamCall(t, env, "ListUsers"), http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")

	req, _ := http.NewRequest(http.MethodGet, env.AdminURL+"/2015-03-31/functions", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := resp.Header.Get("X-Amzn-ErrorType"); resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(got, "AccessDeniedException") {
		t.Errorf("wrong token: %d %s, want 403 AccessDeniedException", resp.StatusCode, got)
	}
}
