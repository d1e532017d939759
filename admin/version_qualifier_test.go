package admin_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/functions"
)

// TestVersionQualifierIsAString: Lambda matches a version qualifier as a
// string, so "01" names no version even where version 1 exists: every call
// is a 404 ResourceNotFoundException naming fn:01, never version 1 under an
// ARN ending in :01 (Invoke, GetFunctionConfiguration) nor version 1 under
// its own (CreateAlias, AddPermission, provisioned concurrency, event
// invoke configuration). "1" works.
func TestVersionQualifierIsAString(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := lambda.NewFromConfig(sdkConfig(env.AdminURL, "secret"))
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("vq"), Role: aws.String("arn:aws:iam::000000000000:role/any"),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: apptest.ZipSample(t, "hello")}, Publish: true}); err != nil {
		t.Fatal(err)
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("vq"), Qualifier: aws.String("1"), Payload: []byte(`{}`)})
	if err != nil || aws.ToString(out.ExecutedVersion) != "1" {
		t.Fatalf("Invoke vq, Qualifier 1: %+v, %v", out, err)
	}
	for _, q := range []string{"01", "001"} {
		want := "Function not found: " + functions.ARN("vq", q)
		check := func(call string, err error) {
			t.Helper()
			if errorCode(err) != "ResourceNotFoundException" || !strings.Contains(err.Error(), want) {
				t.Errorf("%s with %s: %v, want ResourceNotFoundException %q", call, q, err, want)
			}
		}
		_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("vq"), Qualifier: aws.String(q), Payload: []byte(`{}`)})
		check("Invoke", err)
		_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("vq:" + q), Payload: []byte(`{}`)})
		check("Invoke of name:qualifier", err)
		_, err = c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("vq"), Qualifier: aws.String(q)})
		check("GetFunctionConfiguration", err)
		_, err = c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("vq"), Qualifier: aws.String(q)})
		check("GetFunction", err)
		_, err = c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("vq"), Name: aws.String("a" + q), FunctionVersion: aws.String(q)})
		check("CreateAlias", err)
		_, err = c.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("vq"), Qualifier: aws.String(q), StatementId: aws.String("s" + q),
			Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("apigateway.amazonaws.com")})
		check("AddPermission", err)
		_, err = c.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{FunctionName: aws.String("vq"), Qualifier: aws.String(q),
			ProvisionedConcurrentExecutions: aws.Int32(1)})
		check("PutProvisionedConcurrencyConfig", err)
		_, err = c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("vq"), Qualifier: aws.String(q),
			MaximumRetryAttempts: aws.Int32(0)})
		check("PutFunctionEventInvokeConfig", err)
	}
	// A name's qualifier and Qualifier are compared as strings too.
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("vq:01"), Qualifier: aws.String("1"), Payload: []byte(`{}`)})
	if errorCode(err) != "InvalidParameterValueException" {
		t.Errorf("Invoke vq:01 with Qualifier 1: %v, want InvalidParameterValueException", err)
	}
}
