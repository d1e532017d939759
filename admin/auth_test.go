package admin_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestAdminTokenRequired checks that with a token set the admin API refuses
// anonymous and wrongly signed calls, and accepts the bearer token and SigV4
// signatures made with access key "portico" and the token as the secret.
func TestAdminTokenRequired(t *testing.T) {
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
