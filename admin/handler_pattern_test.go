package admin_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestLambdaHandlerPattern: a Handler that breaks Lambda's pattern [^\s]+
// (empty, or holding white space) is refused on CreateFunction and on
// UpdateFunctionConfiguration alike, with ValidationException, and leaves
// the function's handler as it was.
func TestLambdaHandlerPattern(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := lambda.NewFromConfig(sdkConfig(env.AdminURL, "secret"))
	zip := testkit.IdleZip(t)

	_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("spaced"), Role: aws.String("arn:aws:iam::000000000000:role/any"),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("has space"), Code: &types.FunctionCode{ZipFile: zip}})
	if errorCode(err) != "ValidationException" {
		t.Errorf("CreateFunction Handler %q: %v, want ValidationException", "has space", err)
	}

	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("h"), Role: aws.String("arn:aws:iam::000000000000:role/any"),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zip}})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"", "has space", "tab\there", " "} {
		_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("h"), Handler: aws.String(h)})
		if errorCode(err) != "ValidationException" {
			t.Errorf("UpdateFunctionConfiguration Handler %q: %v, want ValidationException", h, err)
		}
	}
	got, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("h")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Handler) != "bootstrap" {
		t.Errorf("Handler after the refused updates = %q, want bootstrap", aws.ToString(got.Handler))
	}
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("h"), Handler: aws.String("main.handler")}); err != nil {
		t.Errorf("UpdateFunctionConfiguration Handler main.handler: %v", err)
	}
}
