package admin_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestOversizedBodyIsAnswered413 sends bodies far over the admin API's limits
// with real clients, which read the answer while they still send: net/http to
// POST /portico/v1/apis (30 MB) and the AWS SDK's Invoke (20 MB). Each must
// read the documented 413, not a connection reset: the body is refused from
// its Content-Length, and the server drains what the client still sends
// before it closes (internal/h1's lingering close).
func TestOversizedBodyIsAnswered413(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	t.Run("POST /portico/v1/apis, 30 MB", func(t *testing.T) {
		resp, err := http.Post(env.AdminURL+"/portico/v1/apis", "application/json", bytes.NewReader(make([]byte, 30<<20)))
		if err != nil {
			t.Fatalf("POST: %v, want 413", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d %s, want 413", resp.StatusCode, b)
		}
	})
	t.Run("Invoke, 20 MB", func(t *testing.T) {
		big := append(append([]byte(`"`), bytes.Repeat([]byte("x"), 20<<20)...), '"')
		_, err := sdk(env).Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String("hello"), Payload: big})
		apiError(t, err, "RequestTooLargeException", 413)
	})
}

// TestCodeOverLimitIsRequestEntityTooLarge: a Zip package over 50 MiB is
// answered as Lambda answers a direct upload over its limit, 413
// RequestEntityTooLargeException, not 400 InvalidParameterValueException:
// one whose request is within the body's limit (refused for the zip's size)
// and one whose request is over it (refused from its length), on a server
// without a token and on one whose SigV4 check reads the body first.
func TestCodeOverLimitIsRequestEntityTooLarge(t *testing.T) {
	overZip := make([]byte, 50<<20+1) // its request, in base64, is within the body limit
	overBody := make([]byte, 56<<20)  // its request is over it
	create := func(c *lambda.Client, name string, zip []byte) error {
		_, err := c.CreateFunction(t.Context(), &lambda.CreateFunctionInput{
			FunctionName: aws.String(name), Role: aws.String("arn:aws:iam::000000000000:role/any"),
			Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
			Code: &types.FunctionCode{ZipFile: zip},
		})
		return err
	}
	t.Run("no token", func(t *testing.T) {
		env := apptest.Start(t, apptest.Options{})
		c := sdk(env)
		apiError(t, create(c, "big", overZip), "RequestEntityTooLargeException", http.StatusRequestEntityTooLarge)
		apiError(t, create(c, "big", overBody), "RequestEntityTooLargeException", http.StatusRequestEntityTooLarge)
		createHello(t, t.Context(), c, "small", "x")
		_, err := c.UpdateFunctionCode(t.Context(), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("small"), ZipFile: overZip})
		apiError(t, err, "RequestEntityTooLargeException", http.StatusRequestEntityTooLarge)
	})
	t.Run("signed", func(t *testing.T) {
		c := startControlPlane(t).fn
		apiError(t, create(c, "big", overZip), "RequestEntityTooLargeException", http.StatusRequestEntityTooLarge)
		apiError(t, create(c, "big", overBody), "RequestEntityTooLargeException", http.StatusRequestEntityTooLarge)
	})
}
