package admin_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// TestCodeLocationIsPresigned: GetFunction's Code.Location on a server with
// a token is, as Lambda's presigned S3 URL, fetched without any credential
// (it was 403 without the token); it is good for that function's code at
// that qualifier only: the same signature for another function or qualifier
// is refused.
func TestCodeLocationIsPresigned(t *testing.T) {
	t.Parallel()
	e := startControlPlane(t)
	ctx := t.Context()
	c := e.fn
	createIdle(t, ctx, c, "loc", "x")
	createIdle(t, ctx, c, "other", "y")
	if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("loc")}); err != nil {
		t.Fatal(err)
	}
	get := func(u string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(u) //nolint:noctx // a test
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	for _, q := range []string{"", "1"} {
		in := &lambda.GetFunctionInput{FunctionName: aws.String("loc")}
		if q != "" {
			in.Qualifier = aws.String(q)
		}
		out, err := c.GetFunction(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		loc := aws.ToString(out.Code.Location)
		status, body := get(loc)
		if status != http.StatusOK || !bytes.HasPrefix(body, []byte("PK")) {
			t.Fatalf("GET Code.Location %s without credentials: %d %.200s, want 200 and the zip", loc, status, body)
		}
		if status, body := get(strings.Replace(loc, "/functions/loc/", "/functions/other/", 1)); status != http.StatusForbidden {
			t.Errorf("the URL for another function: %d %.200s, want 403", status, body)
		}
		u, _ := url.Parse(loc)
		v := u.Query()
		v.Set("Qualifier", "$LATEST")
		if q == "" {
			v.Set("Qualifier", "1")
		}
		u.RawQuery = v.Encode()
		if status, body := get(u.String()); status != http.StatusForbidden {
			t.Errorf("the URL for another qualifier: %d %.200s, want 403", status, body)
		}
		v.Del("X-Portico-Signature")
		u.RawQuery = v.Encode()
		if status, _ := get(u.String()); status != http.StatusForbidden {
			t.Errorf("the URL without its signature: %d, want 403", status)
		}
	}
	// Only the code route takes it: the signature opens nothing else.
	out, _ := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("loc")})
	u, _ := url.Parse(aws.ToString(out.Code.Location))
	u.Path = "/2015-03-31/functions/loc"
	if status, _ := get(u.String()); status != http.StatusForbidden {
		t.Errorf("GetFunction with the code URL's query: %d, want 403", status)
	}
}
