package admin_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestEventThroughAliasFollowsTheAlias (r-invoker28 #2): an Event invoked
// through a plain alias names the alias, as Lambda's queued request does: it
// runs on the version the alias names when its attempt starts, also after a
// restart, and deleting the version it was queued under keeps it (logged);
// an event sent to that version itself goes with it, and the log says so.
func TestEventThroughAliasFollowsTheAlias(t *testing.T) {
	t.Parallel()
	logs := &testkit.LockedBuffer{}
	env := apptest.Start(t, apptest.Options{LogLevel: slog.LevelDebug, LogWriter: logs})
	ctx := t.Context()
	c := sdk(env)
	createHello(t, ctx, c, "follow", "x")
	for _, d := range []string{"one", "two"} {
		if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String("follow"), Description: aws.String(d)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("follow")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{
		FunctionName: aws.String("follow"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	// A reservation of 0 holds the events in the queue.
	if _, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String("follow"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	send := func(qualifier string) string {
		t.Helper()
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("follow"), Qualifier: aws.String(qualifier),
			InvocationType: types.InvocationTypeEvent, Payload: []byte(`{}`)})
		if err != nil || out.StatusCode != 202 {
			t.Fatalf("Event through %s: %v", qualifier, err)
		}
		id, ok := awsmw.GetRequestIDMetadata(out.ResultMetadata)
		if !ok || id == "" {
			t.Fatalf("Event through %s: no request id", qualifier)
		}
		return id
	}
	viaAlias := send("live")
	viaVersion := send("1")

	if _, err := c.UpdateAlias(ctx, &lambda.UpdateAliasInput{
		FunctionName: aws.String("follow"), Name: aws.String("live"), FunctionVersion: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	env.Restart()
	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("follow"), Qualifier: aws.String("1")}); err != nil {
		t.Fatalf("deleting version 1: %v", err)
	}
	if _, err := c.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("follow")}); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(env.DataDir, "logs", "follow.log")
	eventually(t, "the event sent through the alias ran", func() bool {
		b, _ := os.ReadFile(logFile)
		return strings.Contains(string(b), "START RequestId: "+viaAlias)
	})
	b, _ := os.ReadFile(logFile)
	if want := "START RequestId: " + viaAlias + " Version: 2"; !strings.Contains(string(b), want) {
		t.Errorf("the event sent through the alias did not run on the alias's version 2:\n%s", b)
	}
	if strings.Contains(string(b), viaVersion) {
		t.Errorf("the event sent to the deleted version 1 ran:\n%s", b)
	}
	l := logs.String()
	for _, want := range []string{"deleted the queued Event invocations of the deleted function or version",
		"queued Event invocations sent through an alias stay queued and run on the alias's version"} {
		if !strings.Contains(l, want) {
			t.Errorf("the server log lacks %q:\n%s", want, l)
		}
	}
}
