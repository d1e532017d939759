package admin_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestTerraformFunctionReadPath makes, with the AWS SDK, the calls
// Terraform's aws_lambda_function makes after it creates a function and on
// every refresh (GetFunction, ListVersionsByFunction,
// GetFunctionCodeSigningConfig), and those of the tools that read a
// function's runtime management configuration and tags: each answers as
// Lambda answers for a function that sets none, 404 for a function that does
// not exist, and what Portico cannot honour is refused.
func TestTerraformFunctionReadPath(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := sdk(env)
	createHello(t, ctx, c, "tf", "hi")
	fn := aws.String("tf")

	if _, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: fn}); err != nil {
		t.Fatalf("GetFunction: %v", err)
	}
	if _, err := c.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: fn}); err != nil {
		t.Fatalf("ListVersionsByFunction: %v", err)
	}

	csc, err := c.GetFunctionCodeSigningConfig(ctx, &lambda.GetFunctionCodeSigningConfigInput{FunctionName: fn})
	if err != nil {
		t.Fatalf("GetFunctionCodeSigningConfig: %v", err)
	}
	if aws.ToString(csc.FunctionName) != "tf" || csc.CodeSigningConfigArn == nil || *csc.CodeSigningConfigArn != "" {
		t.Errorf("GetFunctionCodeSigningConfig = FunctionName %q, CodeSigningConfigArn %v; want tf and \"\"",
			aws.ToString(csc.FunctionName), csc.CodeSigningConfigArn)
	}
	// By ARN too, as Terraform's import passes it.
	if _, err := c.GetFunctionCodeSigningConfig(ctx, &lambda.GetFunctionCodeSigningConfigInput{
		FunctionName: aws.String("arn:aws:lambda:us-east-1:000000000000:function:tf")}); err != nil {
		t.Errorf("GetFunctionCodeSigningConfig by ARN: %v", err)
	}
	_, err = c.PutFunctionCodeSigningConfig(ctx, &lambda.PutFunctionCodeSigningConfigInput{FunctionName: fn,
		CodeSigningConfigArn: aws.String("arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef0")})
	if ip := (*types.InvalidParameterValueException)(nil); !errors.As(err, &ip) || !strings.Contains(err.Error(), "does not verify code signatures") {
		t.Errorf("PutFunctionCodeSigningConfig: %v, want InvalidParameterValueException saying Portico does not verify code signatures", err)
	}
	if _, err := c.DeleteFunctionCodeSigningConfig(ctx, &lambda.DeleteFunctionCodeSigningConfigInput{FunctionName: fn}); err != nil {
		t.Errorf("DeleteFunctionCodeSigningConfig: %v", err)
	}

	rmc, err := c.GetRuntimeManagementConfig(ctx, &lambda.GetRuntimeManagementConfigInput{FunctionName: fn})
	if err != nil {
		t.Fatalf("GetRuntimeManagementConfig: %v", err)
	}
	if rmc.UpdateRuntimeOn != types.UpdateRuntimeOnAuto || aws.ToString(rmc.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:tf" ||
		rmc.RuntimeVersionArn != nil {
		t.Errorf("GetRuntimeManagementConfig = %s %q %v", rmc.UpdateRuntimeOn, aws.ToString(rmc.FunctionArn), rmc.RuntimeVersionArn)
	}

	arn := aws.String("arn:aws:lambda:us-east-1:000000000000:function:tf")
	tags, err := c.ListTags(ctx, &lambda.ListTagsInput{Resource: arn})
	if err != nil || len(tags.Tags) != 0 {
		t.Errorf("ListTags = %v, %v; want no tags", tags, err)
	}
	_, err = c.TagResource(ctx, &lambda.TagResourceInput{Resource: arn, Tags: map[string]string{"team": "a"}})
	if ip := (*types.InvalidParameterValueException)(nil); !errors.As(err, &ip) || !strings.Contains(err.Error(), "keeps no tags") {
		t.Errorf("TagResource: %v", err)
	}
	if _, err := c.UntagResource(ctx, &lambda.UntagResourceInput{Resource: arn, TagKeys: []string{"team"}}); err != nil {
		t.Errorf("UntagResource: %v", err)
	}

	// A function that does not exist: 404 from each, as Terraform's refresh
	// expects of a function deleted behind it.
	nope := aws.String("nope")
	notFound := func(what string, err error) {
		t.Helper()
		if nf := (*types.ResourceNotFoundException)(nil); !errors.As(err, &nf) {
			t.Errorf("%s of an unknown function: %v, want ResourceNotFoundException", what, err)
		}
	}
	_, err = c.GetFunctionCodeSigningConfig(ctx, &lambda.GetFunctionCodeSigningConfigInput{FunctionName: nope})
	notFound("GetFunctionCodeSigningConfig", err)
	_, err = c.DeleteFunctionCodeSigningConfig(ctx, &lambda.DeleteFunctionCodeSigningConfigInput{FunctionName: nope})
	notFound("DeleteFunctionCodeSigningConfig", err)
	_, err = c.GetRuntimeManagementConfig(ctx, &lambda.GetRuntimeManagementConfigInput{FunctionName: nope})
	notFound("GetRuntimeManagementConfig", err)
	_, err = c.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String("arn:aws:lambda:us-east-1:000000000000:function:nope")})
	notFound("ListTags", err)

	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: fn}); err != nil {
		t.Fatalf("DeleteFunction: %v", err)
	}
	_, err = c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: fn})
	notFound("GetFunction after DeleteFunction", err)
	var ae smithy.APIError
	_, err = c.GetFunctionCodeSigningConfig(ctx, &lambda.GetFunctionCodeSigningConfigInput{FunctionName: fn})
	if !errors.As(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("GetFunctionCodeSigningConfig after DeleteFunction: %v", err)
	}
}
