package admin_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

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
