package admin_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/functions"
)

// TestLambdaRefusesForeignARNs: a function ARN of another region or
// partition is InvalidParameterValueException and one of another account
// AccessDeniedException, whatever the call (get, invoke, update, delete,
// create); none acts on the local function of that name. The server's own
// ARNs, full and partial, still work.
func TestLambdaRefusesForeignARNs(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := lambda.NewFromConfig(sdkConfig(env.AdminURL, "secret"))
	zip := apptest.ZipSample(t, "hello")
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("pg7"), Role: aws.String("arn:aws:iam::000000000000:role/any"),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zip}}); err != nil {
		t.Fatal(err)
	}
	foreign := map[string]string{
		"arn:aws:lambda:eu-west-1:" + functions.AccountID + ":function:pg7":                   "InvalidParameterValueException",
		"arn:aws-cn:lambda:cn-north-1:" + functions.AccountID + ":function:pg7":               "InvalidParameterValueException",
		"arn:aws-cn:lambda:" + functions.Region + ":" + functions.AccountID + ":function:pg7": "InvalidParameterValueException",
		"arn:aws:lambda:" + functions.Region + ":999999999999:function:pg7":                   "AccessDeniedException",
		"arn:aws:lambda:eu-west-1:999999999999:function:pg7:$LATEST":                          "InvalidParameterValueException",
		"999999999999:function:pg7": "AccessDeniedException",
	}
	for arn, want := range foreign {
		_, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(arn)})
		if errorCode(err) != want {
			t.Errorf("GetFunction %s: %v, want %s", arn, err, want)
		}
		_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(arn), Payload: []byte(`{}`)})
		if errorCode(err) != want {
			t.Errorf("Invoke %s: %v, want %s", arn, err, want)
		}
		_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(arn), Description: aws.String("x")})
		if errorCode(err) != want {
			t.Errorf("UpdateFunctionConfiguration %s: %v, want %s", arn, err, want)
		}
		_, err = c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(arn)})
		if errorCode(err) != want {
			t.Errorf("DeleteFunction %s: %v, want %s", arn, err, want)
		}
	}
	_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("arn:aws:lambda:eu-west-1:" + functions.AccountID + ":function:other"),
		Role: aws.String("arn:aws:iam::000000000000:role/any"), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zip}})
	if errorCode(err) != "InvalidParameterValueException" {
		t.Errorf("CreateFunction with an eu-west-1 ARN: %v, want InvalidParameterValueException", err)
	}
	got, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("pg7")})
	if err != nil {
		t.Fatal(err)
	}
	if d := aws.ToString(got.Configuration.Description); d != "" {
		t.Errorf("Description = %q: a foreign ARN's update reached the local function", d)
	}
	for _, own := range []string{functions.ARN("pg7", ""), functions.ARN("pg7", functions.Latest), functions.AccountID + ":function:pg7"} {
		if _, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(own)}); err != nil {
			t.Errorf("GetFunction %s: %v", own, err)
		}
	}
}
