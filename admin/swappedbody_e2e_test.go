package admin_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/sigv4"
	"github.com/portico-dev/portico/internal/sigv4/sigv4test"
)

// TestBodyChangedAfterSigningIsInvalidSignature: a request signed with the
// body's hash in X-Amz-Content-Sha256 whose body was changed on the way is
// refused as AWS refuses it, 403 InvalidSignatureException (IAM:
// SignatureDoesNotMatch), on every route family, as one signed without the
// header is, and nothing is changed: it was 400 InvalidRequestContentException
// ("the body does not hash to X-Amz-Content-Sha256") on Lambda's routes and 400
// BadRequestException on API Gateway's.
func TestBodyChangedAfterSigningIsInvalidSignature(t *testing.T) {
	t.Parallel()
	const token = "s3cret-token"
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	ctx := context.Background()
	fn := lambda.New(lambda.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("portico", token, "")})
	createIdle(t, ctx, fn, "f1", "hi")
	creds := aws.Credentials{AccessKeyID: "portico", SecretAccessKey: token}

	for _, c := range []struct {
		name, method, path, service, contentType string
		signed, sent, wantType                   string
	}{
		{"UpdateFunctionConfiguration", "PUT", "/2015-03-31/functions/f1/configuration", "lambda", "application/json",
			`{"Description":"signed"}`, `{"Description":"SIGNED"}`, "InvalidSignatureException"},
		{"Invoke", "POST", "/2015-03-31/functions/f1/invocations", "lambda", "application/json",
			`{"a":1}`, `{"a":2}`, "InvalidSignatureException"},
		{"CreateRestApi", "POST", "/restapis", "apigateway", "application/json",
			`{"name":"signed"}`, `{"name":"SIGNED"}`, "InvalidSignatureException"},
		{"CreateApi", "POST", "/v2/apis", "apigateway", "application/json",
			`{"name":"signed","protocolType":"HTTP"}`, `{"name":"SIGNED","protocolType":"HTTP"}`, "InvalidSignatureException"},
		{"IAM CreateUser", "POST", "/", "iam", "application/x-www-form-urlencoded",
			"Action=CreateUser&Version=2010-05-08&UserName=signed", "Action=CreateUser&Version=2010-05-08&UserName=SIGNED", "SignatureDoesNotMatch"},
	} {
		for _, declared := range []bool{true, false} {
			name := c.name
			if declared {
				name += " with X-Amz-Content-Sha256"
			}
			req, _ := http.NewRequest(c.method, env.AdminURL+c.path, strings.NewReader(c.signed))
			req.Header.Set("Content-Type", c.contentType)
			if declared {
				req.Header.Set("X-Amz-Content-Sha256", sigv4.HashHex([]byte(c.signed)))
			}
			sigv4test.SignNow(t, req, creds, []byte(c.signed), c.service)
			req.Body = io.NopCloser(strings.NewReader(c.sent))
			req.ContentLength = int64(len(c.sent))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || resp.Header.Get("x-amzn-ErrorType") != c.wantType ||
				!strings.Contains(string(body), "does not match the signature you provided") {
				t.Errorf("%s: %d %s %s, want 403 %s", name, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), body, c.wantType)
			}
		}
	}

	// Nothing was changed: f1's description, and no API or user named signed or
	// SIGNED (the swapped bodies have the signed ones' length: Content-Length
	// is signed).
	cfg, err := fn.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("f1")})
	if err != nil || aws.ToString(cfg.Description) != "" {
		t.Errorf("f1's description %q, %v; want it unchanged", aws.ToString(cfg.Description), err)
	}
	for _, path := range []string{"/restapis", "/v2/apis"} {
		resp, err := env.Client().Do(ctx, "GET", path, nil, nil, nil)
		if err != nil || strings.Contains(strings.ToLower(string(resp.Body)), "signed") {
			t.Errorf("GET %s after the refusals: %v %s", path, err, resp.Body)
		}
	}
	if _, out := sigv4test.IAMCall(t, env.AdminURL, token, "ListUsers"); strings.Contains(strings.ToLower(out), "signed") {
		t.Errorf("IAM users after the refusals: %s", out)
	}
}
