package admin_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestStopDrainsCallsFromItsStart: a stop gives the calls in flight the
// invoker's drain (here 300 ms) counted from the stop's start, and cuts off
// those still running then, answered 503 ServiceException; not the listeners'
// whole graceful period (30 s here) first, at the end of which a call still
// running got no answer at all.
func TestStopDrainsCallsFromItsStart(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.Invoker.DrainTimeout = 300 * time.Millisecond }})
	stopWithCallCutOff(t, env)
}

// TestShortShutdownTimeoutAnswersCutOffCalls: with a --shutdown-timeout of
// 10 s or less and no drain-timeout, the drain used to end with the graceful
// stop itself, so the connection of a call it cut off closed before its 503
// was written (curl: empty reply) while the log and the exit message said the
// caller was answered 503. The drain now ends before the graceful stop, with
// time left to answer.
func TestShortShutdownTimeoutAnswersCutOffCalls(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.ShutdownTimeout = 2 * time.Second }})
	stopWithCallCutOff(t, env)
}

// stopWithCallCutOff stops env while a call sleeps in its sandbox and checks
// the caller is answered 503 ServiceException, saying it was cut off.
func stopWithCallCutOff(t *testing.T, env *apptest.Env) {
	t.Helper()
	ctx := t.Context()
	c := sdk(env)
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("sleeper"), Role: aws.String("arn:aws:iam::000000000000:role/any"),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Timeout: aws.Int32(60),
		Code: &types.FunctionCode{ZipFile: apptest.ZipProgram(t, "./runtimes/runtimetest/testdata/sandbox")},
	}); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("sleeper"), Payload: []byte(`{"op":"sleep"}`)})
		errc <- err
	}()
	log := filepath.Join(env.DataDir, "logs", "sleeper.log")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(log); strings.Contains(string(b), "sandbox: sleeping") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the call's handler never started")
		}
	}
	env.Stop()
	select {
	case err := <-errc:
		apiError(t, err, "ServiceException", 503)
		// Not the generic 5xx message: the caller is told why, and to retry.
		if want := "Portico is shutting down: the invocation was cut off before it finished"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("cut-off call: %v; want the message %q", err, want)
		}
		// Under the invocation's own request ID, the one of its lines in the
		// function log, not a fresh one that names nothing there.
		var re *awshttp.ResponseError
		b, _ := os.ReadFile(log)
		if !errors.As(err, &re) || re.ServiceRequestID() == "" ||
			!strings.Contains(string(b), "START RequestId: "+re.ServiceRequestID()+" ") {
			t.Errorf("cut-off call: %v; the function log has no START line for its request ID:\n%s", err, b)
		}
	case <-time.After(20 * time.Second): // a safety net: the answer was written before the stop returned
		t.Fatal("the call got no answer")
	}
}
