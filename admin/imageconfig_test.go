package admin_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestImageConfigOnZipFunction: ImageConfig is an Image function's (the
// container runtimes' tests run it, internal/e2e); a Zip function's bootstrap
// is what runs, so ImageConfig on one is InvalidParameterValueException on
// create and on update, and an empty one, which overrides nothing, is taken.
func TestImageConfigOnZipFunction(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := lambda.NewFromConfig(sdkConfig(env.AdminURL, "secret"))
	zip := testkit.IdleZip(t)
	in := &lambda.CreateFunctionInput{FunctionName: aws.String("z"), Role: aws.String("arn:aws:iam::000000000000:role/any"),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zip},
		ImageConfig: &types.ImageConfig{EntryPoint: []string{"/bin/other"}}}
	if _, err := c.CreateFunction(ctx, in); errorCode(err) != "InvalidParameterValueException" {
		t.Fatalf("CreateFunction of a Zip function with ImageConfig: %v, want InvalidParameterValueException", err)
	}
	in.ImageConfig = &types.ImageConfig{}
	if _, err := c.CreateFunction(ctx, in); err != nil {
		t.Fatalf("CreateFunction with an empty ImageConfig: %v", err)
	}
	_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("z"),
		ImageConfig: &types.ImageConfig{WorkingDirectory: aws.String("/tmp")}})
	if errorCode(err) != "InvalidParameterValueException" {
		t.Fatalf("UpdateFunctionConfiguration of a Zip function with ImageConfig: %v, want InvalidParameterValueException", err)
	}
	got, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("z")})
	if err != nil || got.ImageConfigResponse != nil {
		t.Fatalf("GetFunctionConfiguration: ImageConfigResponse %+v, %v; want none", got.ImageConfigResponse, err)
	}
}
