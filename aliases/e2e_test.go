package aliases_test

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestInvokeSeesAcknowledgedConfig is the in-memory view's end-to-end check:
// every write acknowledged by the admin API (alias moved, $LATEST's environment
// changed) is what the very next invoke runs, and a restarted server (whose view
// starts empty) serves what was written before it stopped.
func TestInvokeSeesAcknowledgedConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole application")
	}
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := lambda.New(lambda.Options{
		BaseEndpoint:     aws.String(env.AdminURL),
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("portico", "secret", ""),
		RetryMaxAttempts: 1,
	})
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("hello"), Role: aws.String("arn:aws:iam::000000000000:role/any"),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), PackageType: types.PackageTypeZip,
		Code:        &types.FunctionCode{ZipFile: apptest.ZipSample(t, "hello")},
		Environment: &types.Environment{Variables: map[string]string{"GREETING": "one"}},
	}); err != nil {
		t.Fatal(err)
	}
	setGreeting := func(g string) {
		t.Helper()
		if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("hello"),
			Environment: &types.Environment{Variables: map[string]string{"GREETING": g}}}); err != nil {
			t.Fatal(err)
		}
	}
	publish := func() {
		t.Helper()
		if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("hello")}); err != nil {
			t.Fatal(err)
		}
	}
	invoke := func(c *lambda.Client, qualifier string) (version, greeting string) {
		t.Helper()
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("hello"), Qualifier: aws.String(qualifier), Payload: []byte(`{}`)})
		if err != nil || out.FunctionError != nil {
			t.Fatalf("Invoke hello:%s: %v %s", qualifier, err, out.Payload)
		}
		var resp struct{ Body string }
		var g struct{ FunctionVersion, Greeting string }
		if err := json.Unmarshal(out.Payload, &resp); err != nil || json.Unmarshal([]byte(resp.Body), &g) != nil {
			t.Fatalf("payload %s", out.Payload)
		}
		return g.FunctionVersion, g.Greeting
	}
	publish() // 1: one
	setGreeting("two")
	publish() // 2: two
	if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("hello"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	for range 3 { // warm the view and a sandbox
		if v, g := invoke(c, "live"); v != "1" || g != "one" {
			t.Fatalf("live = version %s %q, want 1 \"one\"", v, g)
		}
	}
	if _, err := c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String("hello"), Name: aws.String("live"), FunctionVersion: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	if v, g := invoke(c, "live"); v != "2" || g != "two" {
		t.Errorf("live right after UpdateAlias to 2 = version %s %q", v, g)
	}
	_, _ = invoke(c, "$LATEST")
	setGreeting("three")
	if v, g := invoke(c, "$LATEST"); v != "$LATEST" || g != "three" {
		t.Errorf("$LATEST right after UpdateFunctionConfiguration = version %s %q, want \"three\"", v, g)
	}

	env.Restart()
	c = lambda.New(lambda.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("portico", "secret", ""), RetryMaxAttempts: 1})
	if v, g := invoke(c, "live"); v != "2" || g != "two" {
		t.Errorf("live after a restart = version %s %q, want 2 \"two\"", v, g)
	}
	if _, g := invoke(c, "$LATEST"); g != "three" {
		t.Errorf("$LATEST after a restart = %q, want \"three\"", g)
	}

}
