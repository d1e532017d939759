package admin_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// sdk returns an AWS SDK Lambda client for the test server's admin API.
func sdk(env *apptest.Env) *lambda.Client {
	return lambda.NewFromConfig(sdkConfig(env.AdminURL, "secret"))
}

// greeting is what samples/hello answers, inside the proxy response body.
type greeting struct {
	Message         string `json:"message"`
	FunctionVersion string `json:"functionVersion"`
	Greeting        string `json:"greeting"`
	Path            string `json:"path"`
	Name            string `json:"name"`
}

func decodeHello(t *testing.T, payload []byte) greeting {
	t.Helper()
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(payload, &resp); err != nil {
		t.Fatalf("hello answered %q: %v", payload, err)
	}
	var g greeting
	if err := json.Unmarshal([]byte(resp.Body), &g); err != nil {
		t.Fatalf("hello's body %q: %v", resp.Body, err)
	}
	return g
}

// createHello creates function name from the hello sample with GREETING=greeting.
func createHello(t testing.TB, ctx context.Context, c *lambda.Client, name, greeting string) *lambda.CreateFunctionOutput {
	t.Helper()
	return createZip(t, ctx, c, name, greeting, apptest.ZipSample(t, "hello"))
}

// createIdle creates function name as createHello does but with
// testkit.IdleZip's package of a few bytes, for a test that never invokes
// it: the hello sample is megabytes for the server to unzip and hash.
func createIdle(t testing.TB, ctx context.Context, c *lambda.Client, name, greeting string) *lambda.CreateFunctionOutput {
	t.Helper()
	return createZip(t, ctx, c, name, greeting, testkit.IdleZip(t))
}

// createZip creates function name from the Zip package zip with GREETING=greeting.
func createZip(t testing.TB, ctx context.Context, c *lambda.Client, name, greeting string, zip []byte) *lambda.CreateFunctionOutput {
	t.Helper()
	out, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Role:         aws.String("arn:aws:iam::000000000000:role/any"),
		Runtime:      types.RuntimeProvidedal2023,
		Handler:      aws.String("bootstrap"),
		PackageType:  types.PackageTypeZip,
		Code:         &types.FunctionCode{ZipFile: zip},
		Environment:  &types.Environment{Variables: map[string]string{"GREETING": greeting}},
	})
	if err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	return out
}

// TestWeightedAliasSplitsCalls is the end-to-end test: the hello sample
// deployed with the AWS SDK, two versions, an alias sending 0.3 of the calls to
// version 2, and the split measured over 400 invocations.
func TestWeightedAliasSplitsCalls(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := sdk(env)

	created := createHello(t, ctx, c, "hello", "one")
	if aws.ToString(created.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:hello" {
		t.Errorf("FunctionArn = %q", aws.ToString(created.FunctionArn))
	}
	if created.State != types.StateActive {
		t.Errorf("State = %q, want Active", created.State)
	}
	// The SDK's own waiter must accept what GetFunction reports.
	if err := lambda.NewFunctionActiveV2Waiter(c).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("hello")}, time.Minute); err != nil {
		t.Fatalf("FunctionActiveV2 waiter: %v", err)
	}

	v1, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("hello")})
	if err != nil {
		t.Fatalf("PublishVersion: %v", err)
	}
	if aws.ToString(v1.Version) != "1" {
		t.Fatalf("first version = %q, want 1", aws.ToString(v1.Version))
	}
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("hello"),
		Environment:  &types.Environment{Variables: map[string]string{"GREETING": "two"}},
	}); err != nil {
		t.Fatalf("UpdateFunctionConfiguration: %v", err)
	}
	if err := lambda.NewFunctionUpdatedV2Waiter(c).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("hello")}, time.Minute); err != nil {
		t.Fatalf("FunctionUpdatedV2 waiter: %v", err)
	}
	v2, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("hello")})
	if err != nil {
		t.Fatalf("PublishVersion: %v", err)
	}
	if aws.ToString(v2.Version) != "2" {
		t.Fatalf("second version = %q, want 2", aws.ToString(v2.Version))
	}
	// Publishing again without a change returns the latest version.
	again, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("hello")})
	if err != nil || aws.ToString(again.Version) != "2" {
		t.Fatalf("PublishVersion unchanged = %v, %v; want version 2", again, err)
	}

	const weight = 0.3
	alias, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{
		FunctionName:    aws.String("hello"),
		Name:            aws.String("live"),
		FunctionVersion: aws.String("1"),
		RoutingConfig:   &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": weight}},
	})
	if err != nil {
		t.Fatalf("CreateAlias: %v", err)
	}
	if got := aws.ToString(alias.AliasArn); got != "arn:aws:lambda:us-east-1:000000000000:function:hello:live" {
		t.Errorf("AliasArn = %q", got)
	}

	const n = 400
	var (
		mu     sync.Mutex
		counts = map[string]int{}
		wg     sync.WaitGroup
		sem    = make(chan struct{}, 8)
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out, err := c.Invoke(ctx, &lambda.InvokeInput{
				FunctionName: aws.String("hello"),
				Qualifier:    aws.String("live"),
				Payload:      []byte(`{"path":"/split","queryStringParameters":{"name":"e2e"}}`),
			})
			if err != nil {
				t.Errorf("Invoke: %v", err)
				return
			}
			if out.FunctionError != nil {
				t.Errorf("Invoke: function error %s: %s", aws.ToString(out.FunctionError), out.Payload)
				return
			}
			g := decodeHello(t, out.Payload)
			ev := aws.ToString(out.ExecutedVersion)
			want := map[string]string{"1": "one", "2": "two"}[ev]
			if g.FunctionVersion != ev || g.Greeting != want || g.Path != "/split" || g.Name != "e2e" {
				t.Errorf("ExecutedVersion %q answered %+v", ev, g)
			}
			mu.Lock()
			counts[ev]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if counts["1"]+counts["2"] != n {
		t.Fatalf("executed versions = %v, want only 1 and 2", counts)
	}
	// 6 sigma (120 ± 55): the draws are the server's own, unseeded, so the
	// bound must hold by chance too; a binomial(400, 0.3) falls outside it
	// 4.5 times in 10^9 (4 sigma failed 1 run in 14,500), and it still
	// tells 0.3 from 0.1 or 0.5.
	mean, sigma := n*weight, math.Sqrt(n*weight*(1-weight))
	if got := float64(counts["2"]); math.Abs(got-mean) > 6*sigma {
		t.Errorf("version 2 ran %v of %d calls; want %.0f ± %.0f (6 sigma)", got, n, mean, 6*sigma)
	}
	t.Logf("split over %d calls: %v", n, counts)
}

// apiError asserts err is an AWS API error with the given code and HTTP status.
func apiError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Errorf("error code = %q (%v), want %q", ae.ErrorCode(), err, code)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Errorf("error %v: want HTTP %d", err, status)
	}
}

func TestLambdaAPIErrorsAndRestart(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := sdk(env)
	createHello(t, ctx, c, "hello", "one")
	if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("hello")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{
		FunctionName: aws.String("hello"), Name: aws.String("live"), FunctionVersion: aws.String("1"),
	}); err != nil {
		t.Fatal(err)
	}

	t.Run("unknown function is ResourceNotFoundException", func(t *testing.T) {
		_, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("nope")})
		var rnf *types.ResourceNotFoundException
		if !errors.As(err, &rnf) {
			t.Fatalf("GetFunction(nope) = %v, want ResourceNotFoundException", err)
		}
		apiError(t, err, "ResourceNotFoundException", 404)
		_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("nope")})
		apiError(t, err, "ResourceNotFoundException", 404)
	})
	t.Run("unknown alias or version is ResourceNotFoundException", func(t *testing.T) {
		_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("hello"), Qualifier: aws.String("nope")})
		apiError(t, err, "ResourceNotFoundException", 404)
		_, err = c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("hello"), Name: aws.String("nope")})
		apiError(t, err, "ResourceNotFoundException", 404)
		_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("hello:9")})
		apiError(t, err, "ResourceNotFoundException", 404)
	})
	t.Run("bad names are 400", func(t *testing.T) {
		for _, name := range []string{"bad name", "a:b:c:d", strings.Repeat("x", 65), "hello:bad.qualifier"} {
			_, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
			apiError(t, err, "ValidationException", 400) // the model's functionName pattern
		}
		_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String("bad/name"), Role: aws.String("arn:aws:iam::000000000000:role/any"),
			Code: &types.FunctionCode{ZipFile: apptest.ZipSample(t, "hello")},
		})
		var ae smithy.APIError
		if !errors.As(err, &ae) {
			t.Fatalf("CreateFunction(bad/name) = %v, want an API error", err)
		}
		var re *awshttp.ResponseError
		if !errors.As(err, &re) || re.HTTPStatusCode()/100 != 4 {
			t.Errorf("CreateFunction(bad/name) = %v, want 4xx", err)
		}
	})
	t.Run("conflict on an existing name", func(t *testing.T) {
		_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String("hello"), Role: aws.String("arn:aws:iam::000000000000:role/any"),
			Code: &types.FunctionCode{ZipFile: apptest.ZipSample(t, "hello")},
		})
		apiError(t, err, "ResourceConflictException", 409)
	})
	t.Run("malformed JSON is InvalidRequestContentException", func(t *testing.T) {
		resp, err := http.Post(env.AdminURL+"/2015-03-31/functions", "application/json", strings.NewReader(`{"FunctionName":`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "InvalidRequestContentException" {
			t.Errorf("got %d %q, want 400 InvalidRequestContentException", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
		}
		// Nothing was created by it.
		list, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{})
		if err != nil || len(list.Functions) != 1 {
			t.Errorf("ListFunctions = %v, %v; want only hello", list, err)
		}
	})
	t.Run("a field of the wrong type is named without Go's types", func(t *testing.T) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, env.AdminURL+"/2015-03-31/functions/hello/configuration", strings.NewReader(`{"Timeout":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(body), "Could not parse request body into json: Timeout must be a whole number, not a JSON string") ||
			strings.Contains(string(body), "Go struct") {
			t.Errorf("got %d %s, want 400 saying Timeout must be a whole number", resp.StatusCode, body)
		}
	})
	t.Run("Event invoke is accepted with 202", func(t *testing.T) {
		out, err := c.Invoke(ctx, &lambda.InvokeInput{
			FunctionName: aws.String("hello"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{}`),
		})
		if err != nil || out.StatusCode != 202 {
			t.Fatalf("Invoke Event = %v, %v; want 202", out, err)
		}
	})
	t.Run("DryRun is 204", func(t *testing.T) {
		out, err := c.Invoke(ctx, &lambda.InvokeInput{
			FunctionName: aws.String("hello:live"), InvocationType: types.InvocationTypeDryRun,
		})
		if err != nil || out.StatusCode != 204 {
			t.Fatalf("Invoke DryRun = %v, %v; want 204", out, err)
		}
	})
	t.Run("payload over 6 MB is RequestTooLargeException", func(t *testing.T) {
		big := append(append([]byte(`"`), bytes.Repeat([]byte("x"), 6<<20)...), '"')
		_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("hello"), Payload: big})
		apiError(t, err, "RequestTooLargeException", 413)
	})
	t.Run("function error is 200 with Unhandled", func(t *testing.T) {
		// hello takes an object; a string fails to unmarshal inside the handler.
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("hello"), Payload: []byte(`"not an object"`)})
		if err != nil {
			t.Fatal(err)
		}
		if out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" {
			t.Errorf("got %d %q, want 200 Unhandled", out.StatusCode, aws.ToString(out.FunctionError))
		}
		var doc struct{ ErrorMessage, ErrorType string }
		if err := json.Unmarshal(out.Payload, &doc); err != nil || doc.ErrorMessage == "" {
			t.Errorf("error payload %q", out.Payload)
		}
	})
	t.Run("reserved concurrency 0 throttles with a Reason", func(t *testing.T) {
		createHello(t, ctx, c, "throttled", "none")
		if _, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{
			FunctionName: aws.String("throttled"), ReservedConcurrentExecutions: aws.Int32(0),
		}); err != nil {
			t.Fatal(err)
		}
		got, err := c.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("throttled")})
		if err != nil || aws.ToInt32(got.ReservedConcurrentExecutions) != 0 || got.ReservedConcurrentExecutions == nil {
			t.Fatalf("GetFunctionConcurrency = %v, %v; want 0", got, err)
		}
		_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("throttled"), Payload: []byte(`{}`)})
		apiError(t, err, "TooManyRequestsException", 429)
		var tmr *types.TooManyRequestsException
		if errors.As(err, &tmr) && tmr.Reason == "" {
			t.Errorf("TooManyRequestsException without a Reason: %v", err)
		}
		// Lambda sends Retry-After with a throttle; the SDK reads it into
		// RetryAfterSeconds.
		if tmr == nil || aws.ToString(tmr.RetryAfterSeconds) != "1" {
			t.Errorf("TooManyRequestsException without Retry-After 1: %+v", tmr)
		}
		if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("throttled")}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("log tail", func(t *testing.T) {
		out, err := c.Invoke(ctx, &lambda.InvokeInput{
			FunctionName: aws.String("hello:live"), LogType: types.LogTypeTail, Payload: []byte(`{}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		logs, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if err != nil || !bytes.Contains(logs, []byte("START RequestId:")) || !bytes.Contains(logs, []byte("REPORT RequestId:")) {
			t.Errorf("LogResult = %q (%v)", logs, err)
		}
		if aws.ToString(out.ExecutedVersion) != "1" {
			t.Errorf("ExecutedVersion = %q, want 1", aws.ToString(out.ExecutedVersion))
		}
	})

	env.Restart()

	t.Run("restart keeps functions, versions and aliases", func(t *testing.T) {
		fn, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("hello")})
		if err != nil {
			t.Fatal(err)
		}
		if got := fn.Configuration.Environment.Variables["GREETING"]; got != "one" {
			t.Errorf("GREETING after restart = %q", got)
		}
		vs, err := c.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("hello")})
		if err != nil || len(vs.Versions) != 2 || aws.ToString(vs.Versions[1].Version) != "1" {
			t.Fatalf("ListVersionsByFunction after restart = %v, %v; want $LATEST and 1", vs, err)
		}
		a, err := c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("hello"), Name: aws.String("live")})
		if err != nil || aws.ToString(a.FunctionVersion) != "1" {
			t.Fatalf("GetAlias after restart = %v, %v", a, err)
		}
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("hello:live"), Payload: []byte(`{}`)})
		if err != nil || out.FunctionError != nil {
			t.Fatalf("Invoke after restart = %v, %v", out, err)
		}
		if g := decodeHello(t, out.Payload); g.FunctionVersion != "1" || g.Greeting != "one" {
			t.Errorf("after restart hello answered %+v", g)
		}
	})
}
