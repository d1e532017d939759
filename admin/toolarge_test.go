package admin_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
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
	t.Parallel()
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
// one just over 50 MiB (whose request, in base64, is just over Lambda's
// 69,905,067 bytes: the body limit is the zip limit in base64) and one far
// over it, on a server without a token and on one whose SigV4 check reads
// the body first.
func TestCodeOverLimitIsRequestEntityTooLarge(t *testing.T) {
	t.Parallel()
	overZip := make([]byte, 50<<20+1) // its base64 alone is 69,905,068 bytes
	overBody := make([]byte, 56<<20)  // far over
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
		createIdle(t, t.Context(), c, "small", "x")
		_, err := c.UpdateFunctionCode(t.Context(), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("small"), ZipFile: overZip})
		apiError(t, err, "RequestEntityTooLargeException", http.StatusRequestEntityTooLarge)
	})
	t.Run("signed", func(t *testing.T) {
		// The far-over body takes the same path as overZip here (refused
		// from its Content-Length); signing 75 MB more under -race is
		// what it would add.
		c := startControlPlane(t).fn
		apiError(t, create(c, "big", overZip), "RequestEntityTooLargeException", http.StatusRequestEntityTooLarge)
	})
}

// TestCodeBodyLimitIsLambdas: CreateFunction and UpdateFunctionCode take a
// request body of up to 69,905,067 bytes, Lambda's limit for a direct upload
// (a 50 MiB zip in base64), and refuse one byte more as Lambda does: 413
// RequestEntityTooLargeException, "Request must be smaller than 69905067
// bytes for the CreateFunction operation", whether the body's length is
// declared or it comes chunked.
func TestCodeBodyLimitIsLambdas(t *testing.T) {
	t.Parallel()
	const limit = 69905067
	env := apptest.Start(t, apptest.Options{})
	createIdle(t, t.Context(), sdk(env), "small", "x")
	// body is a JSON object padded with spaces to n bytes: within the limit
	// it is read, and refused for what it lacks (no code), never for size.
	// The two bodies are built once for the requests of each size (70 MB
	// each: building them per request cost a tenth of the test's CPU under
	// -race); each request reads its own bytes.Reader over them. A body at
	// the limit is read and parsed whole, the test's dearest request: one
	// per operation, declared for CreateFunction and chunked for
	// UpdateFunctionCode (both operations read through the same limit).
	// Every request one byte over is sent both ways for both operations.
	body := func(n int) []byte {
		b := bytes.Repeat([]byte(" "), n)
		copy(b, `{"FunctionName":"big"}`)
		return b
	}
	bodies := map[int][]byte{limit: body(limit), limit + 1: body(limit + 1)}
	for _, tc := range []struct{ op, method, path string }{
		{"CreateFunction", http.MethodPost, "/2015-03-31/functions"},
		{"UpdateFunctionCode", http.MethodPut, "/2015-03-31/functions/small/code"},
	} {
		for _, chunked := range []bool{false, true} {
			send := func(n int) (int, string, string) {
				t.Helper()
				var r io.Reader = bytes.NewReader(bodies[n])
				if chunked {
					r = io.MultiReader(r) // no length: sent chunked
				}
				req, _ := http.NewRequest(tc.method, env.AdminURL+tc.path, r)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s %d bytes: %v", tc.op, n, err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), string(b)
			}
			if chunked == (tc.op == "UpdateFunctionCode") { // at the limit once per operation, see above
				if st, typ, b := send(limit); st == http.StatusRequestEntityTooLarge {
					t.Errorf("%s (chunked %v), %d bytes: %d %s %s, want it read", tc.op, chunked, limit, st, typ, b)
				}
			}
			st, typ, b := send(limit + 1)
			want := `{"Type":"User","message":"Request must be smaller than 69905067 bytes for the ` + tc.op + ` operation"}`
			if st != http.StatusRequestEntityTooLarge || typ != "RequestEntityTooLargeException" || strings.TrimSpace(b) != want {
				t.Errorf("%s (chunked %v), %d bytes: %d %s %s, want 413 RequestEntityTooLargeException %s", tc.op, chunked, limit+1, st, typ, b, want)
			}
		}
	}
}

// TestEventOverItsLimitIs413WhateverItHolds: an Event body over 1 MiB is
// refused 413 RequestTooLargeException before its content is parsed, as a
// synchronous one over 6 MB is: a body that is not JSON gets the 413, not
// 400 InvalidRequestContentException, whether its size is known from its
// Content-Length (the SDK) or only once read (a chunked body).
func TestEventOverItsLimitIs413WhateverItHolds(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	notJSON := append([]byte("x"), bytes.Repeat([]byte(" "), 1<<20)...) // 1,048,577 bytes
	const want = "1048577 byte payload is too large for the Event invocation type (limit 1048576 bytes)"
	t.Run("SDK, Content-Length", func(t *testing.T) {
		_, err := sdk(env).Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String("hello"),
			InvocationType: types.InvocationTypeEvent, Payload: notJSON})
		apiError(t, err, "RequestTooLargeException", http.StatusRequestEntityTooLarge)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to say %q", err, want)
		}
	})
	t.Run("chunked", func(t *testing.T) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
			env.AdminURL+"/2015-03-31/functions/hello/invocations", io.MultiReader(bytes.NewReader(notJSON)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Invocation-Type", "Event")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), want) {
			t.Fatalf("status %d %s, want 413 saying %q", resp.StatusCode, b, want)
		}
	})
}

// TestGatewayRoutesAnswerOversizedBodies413: the API Gateway routes (v1 and
// v2) answer a body over their 6 MiB limit 413 RequestTooLargeException in
// API Gateway's shape, {"message": "Request Too Long: ..."} naming the limit,
// as operations.md says, not 400 BadRequestException: whether the size is
// known from its Content-Length or only once read (chunked).
func TestGatewayRoutesAnswerOversizedBodies413(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	over := bytes.Repeat([]byte("a"), 6<<20+1)
	const want = "Request Too Long: the request body is over 6291456 bytes, the most this operation takes"
	idOf := func(path, body string) string {
		resp, err := http.Post(env.AdminURL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			ID    string `json:"id"`
			APIID string `json:"apiId"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: %d %v", path, resp.StatusCode, err)
		}
		return out.ID + out.APIID
	}
	rest, http2 := idOf("/restapis", `{"name":"r"}`), idOf("/v2/apis", `{"name":"h","protocolType":"HTTP"}`)
	for _, route := range []string{"POST /apikeys", "POST /restapis", "PUT /restapis/" + rest, "POST /usageplans", "POST /v2/apis", "PUT /v2/apis/" + http2} {
		for _, chunked := range []bool{false, true} {
			method, path, _ := strings.Cut(route, " ")
			var body io.Reader = bytes.NewReader(over)
			if chunked {
				body = io.MultiReader(body) // no length known: sent chunked
			}
			req, err := http.NewRequestWithContext(t.Context(), method, env.AdminURL+path, body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s (chunked %v): %v", route, chunked, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var msg struct{ Message string }
			_ = json.Unmarshal(b, &msg)
			if typ := resp.Header.Get("X-Amzn-Errortype"); resp.StatusCode != http.StatusRequestEntityTooLarge ||
				typ != "RequestTooLargeException" || msg.Message != want {
				t.Errorf("%s (chunked %v): %d %s %s, want 413 RequestTooLargeException %q", route, chunked, resp.StatusCode, typ, b, want)
			}
		}
	}
}
