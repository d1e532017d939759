package admin_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestFunctionEventInvokeConfig drives Lambda's event invoke config API
// through the SDK: Put replaces and Update merges, per qualifier; List pages;
// the bounds and DestinationConfig are refused; the configuration survives a
// restart and goes with its alias, version and function; and an Event
// invocation of a function set never to retry runs once.
func TestFunctionEventInvokeConfig(t *testing.T) {
	t.Parallel()
	logs := &testkit.LockedBuffer{}
	env := apptest.Start(t, apptest.Options{LogLevel: slog.LevelDebug, LogWriter: logs})
	ctx := t.Context()
	c := sdk(env)
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("charge"), Role: aws.String("arn:aws:iam::000000000000:role/any"),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Publish: true,
		Code: &types.FunctionCode{ZipFile: apptest.ZipProgram(t, "./gateway/testdata/probe")},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{
		FunctionName: aws.String("charge"), Name: aws.String("live"), FunctionVersion: aws.String("1"),
	}); err != nil {
		t.Fatal(err)
	}

	_, err := c.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("charge")})
	apiError(t, err, "ResourceNotFoundException", 404)
	_, err = c.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{
		FunctionName: aws.String("charge"), MaximumRetryAttempts: aws.Int32(1)})
	apiError(t, err, "ResourceNotFoundException", 404)

	before := time.Now().Add(-time.Second)
	put, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("charge"), MaximumRetryAttempts: aws.Int32(0), MaximumEventAgeInSeconds: aws.Int32(3600)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(put.FunctionArn) != functions.ARN("charge", "$LATEST") || aws.ToInt32(put.MaximumRetryAttempts) != 0 ||
		put.MaximumRetryAttempts == nil || aws.ToInt32(put.MaximumEventAgeInSeconds) != 3600 || put.LastModified == nil || put.LastModified.Before(before) {
		t.Fatalf("Put = %+v", put)
	}
	upd, err := c.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{
		FunctionName: aws.String("charge"), Qualifier: aws.String("$LATEST"), MaximumEventAgeInSeconds: aws.Int32(600)})
	if err != nil || upd.MaximumRetryAttempts == nil || *upd.MaximumRetryAttempts != 0 || aws.ToInt32(upd.MaximumEventAgeInSeconds) != 600 {
		t.Fatalf("Update = %+v, %v; want retries kept at 0", upd, err)
	}
	for _, q := range []string{"1", "live"} {
		if _, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
			FunctionName: aws.String(functions.ARN("charge", q)), MaximumRetryAttempts: aws.Int32(1)}); err != nil {
			t.Fatalf("Put %s: %v", q, err)
		}
	}
	replaced, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("charge"), Qualifier: aws.String("live"), MaximumEventAgeInSeconds: aws.Int32(60)})
	if err != nil || replaced.MaximumRetryAttempts != nil {
		t.Fatalf("Put over live = %+v, %v; want MaximumRetryAttempts unset (Put replaces)", replaced, err)
	}

	t.Run("refused", func(t *testing.T) {
		for name, in := range map[string]*lambda.PutFunctionEventInvokeConfigInput{
			"retries": {FunctionName: aws.String("charge"), MaximumRetryAttempts: aws.Int32(3)},
			"age":     {FunctionName: aws.String("charge"), MaximumEventAgeInSeconds: aws.Int32(59)},
			"destination": {FunctionName: aws.String("charge"), DestinationConfig: &types.DestinationConfig{
				OnFailure: &types.OnFailure{Destination: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")}}},
		} {
			_, err := c.PutFunctionEventInvokeConfig(ctx, in)
			// Out of the model's range, Lambda's ValidationException;
			// its rule beyond the model, InvalidParameterValueException.
			want := "ValidationException"
			if name == "destination" {
				want = "InvalidParameterValueException"
			}
			apiError(t, err, want, 400)
			if name == "destination" && (err == nil || !strings.Contains(err.Error(), "cannot honour DestinationConfig")) {
				t.Errorf("DestinationConfig refused with %v, want the reason", err)
			}
		}
		_, err := c.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{
			FunctionName: aws.String("charge"), DestinationConfig: &types.DestinationConfig{
				OnSuccess: &types.OnSuccess{Destination: aws.String("arn:aws:sns:us-east-1:000000000000:done")}}})
		apiError(t, err, "InvalidParameterValueException", 400)
		for _, q := range []string{"9", "gone"} {
			_, err = c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
				FunctionName: aws.String("charge"), Qualifier: aws.String(q), MaximumRetryAttempts: aws.Int32(0)})
			apiError(t, err, "ResourceNotFoundException", 404)
		}
		_, err = c.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("nope")})
		apiError(t, err, "ResourceNotFoundException", 404)
	})

	list := func(t *testing.T) []string {
		t.Helper()
		var arns []string
		p := lambda.NewListFunctionEventInvokeConfigsPaginator(c, &lambda.ListFunctionEventInvokeConfigsInput{
			FunctionName: aws.String("charge"), MaxItems: aws.Int32(2)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListFunctionEventInvokeConfigs: %v", err)
			}
			for _, it := range out.FunctionEventInvokeConfigs {
				arns = append(arns, aws.ToString(it.FunctionArn))
			}
		}
		return arns
	}
	want := functions.ARN("charge", "$LATEST") + " " + functions.ARN("charge", "1") + " " + functions.ARN("charge", "live")
	if got := strings.Join(list(t), " "); got != want {
		t.Fatalf("listed %s, want %s", got, want)
	}
	env.Restart()
	c = sdk(env)
	if got := strings.Join(list(t), " "); got != want {
		t.Fatalf("after a restart listed %s, want %s", got, want)
	}

	// A handler set never to be retried runs once.
	if _, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("charge"), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(`{"queryStringParameters":{"fail":"1"}}`)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the failed event dropped or retried", func() bool {
		return strings.Contains(logs.String(), "will retry") || strings.Contains(logs.String(), "dropping it")
	})
	var queue []string
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, "Event invocation") {
			queue = append(queue, line)
		}
	}
	if s := strings.Join(queue, ""); strings.Contains(s, "will retry") || !strings.Contains(s, "attempts=1") {
		t.Fatalf("an event of a function with MaximumRetryAttempts 0 was not dropped after one attempt:\n%s", s)
	}

	// Gone with their alias, version and function.
	if _, err := c.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("charge"), Name: aws.String("live")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("charge"), Qualifier: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	if got := list(t); len(got) != 1 {
		t.Fatalf("configs of a deleted alias and version are still listed: %v", got)
	}
	if _, err := c.DeleteFunctionEventInvokeConfig(ctx, &lambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String("charge")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteFunctionEventInvokeConfig(ctx, &lambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String("charge")})
	apiError(t, err, "ResourceNotFoundException", 404)
}
