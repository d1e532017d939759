package admin_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestTerraformFunctionReadPath makes, with the AWS SDK, the calls
// Terraform's aws_lambda_function makes after it creates a function and on
// every refresh (GetFunction, ListVersionsByFunction,
// GetFunctionCodeSigningConfig), and those of the tools that read a
// function's runtime management configuration and tags: each answers as
// Lambda answers for a function that sets none, 404 for a function that does
// not exist, and what Portico cannot honour is refused.
func TestTerraformFunctionReadPath(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := sdk(env)
	createIdle(t, ctx, c, "tf", "hi")
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
	if ip := (*types.InvalidParameterValueException)(nil); !errors.As(err, &ip) || !strings.Contains(err.Error(), "Portico keeps no tags on functions: TagResource is not supported") {
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

// TestFunctionRoleKept: the Role CreateFunction and
// UpdateFunctionConfiguration name is kept and reported by GetFunction,
// GetFunctionConfiguration and ListFunctions, across a restart, so that
// Terraform's aws_lambda_function plans no change of role after it applies;
// a Role that is not an IAM role ARN is refused with Lambda's
// ValidationException; a function created without one reports Portico's.
func TestFunctionRoleKept(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := sdk(env)
	const (
		first  = "arn:aws:iam::123456789012:role/tf-lambda"
		second = "arn:aws:iam::123456789012:role/service-role/other.role@x"
	)
	zip := testkit.IdleZip(t)
	in := func(name, role string) *lambda.CreateFunctionInput {
		return &lambda.CreateFunctionInput{FunctionName: aws.String(name), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
			Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zip}}
	}
	created, err := c.CreateFunction(ctx, in("roled", first))
	if err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	if aws.ToString(created.Role) != first {
		t.Errorf("CreateFunction Role = %q, want %q", aws.ToString(created.Role), first)
	}
	check := func(why, want string) {
		t.Helper()
		got, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("roled")})
		if err != nil {
			t.Fatalf("%s: GetFunction: %v", why, err)
		}
		if r := aws.ToString(got.Configuration.Role); r != want {
			t.Errorf("%s: GetFunction Role = %q, want %q", why, r, want)
		}
		cfg, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("roled")})
		if err != nil {
			t.Fatalf("%s: GetFunctionConfiguration: %v", why, err)
		}
		if r := aws.ToString(cfg.Role); r != want {
			t.Errorf("%s: GetFunctionConfiguration Role = %q, want %q", why, r, want)
		}
		list, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{})
		if err != nil {
			t.Fatalf("%s: ListFunctions: %v", why, err)
		}
		for _, f := range list.Functions {
			if aws.ToString(f.FunctionName) == "roled" && aws.ToString(f.Role) != want {
				t.Errorf("%s: ListFunctions Role = %q, want %q", why, aws.ToString(f.Role), want)
			}
		}
	}
	check("created", first)

	validation := func(what string, err error) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || !strings.Contains(ae.ErrorMessage(), "at 'role' failed to satisfy constraint") {
			t.Errorf("%s: %v, want ValidationException about role", what, err)
		}
	}
	_, err = c.CreateFunction(ctx, in("badrole", "portico"))
	validation("CreateFunction with Role portico", err)
	if _, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("badrole")}); err == nil {
		t.Error("a function refused for its Role exists")
	}
	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("roled"),
		Role: aws.String("arn:aws:iam::123:role/short-account")})
	validation("UpdateFunctionConfiguration with a short account", err)
	check("after a refused update", first)

	up, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("roled"), Role: aws.String(second)})
	if err != nil {
		t.Fatalf("UpdateFunctionConfiguration: %v", err)
	}
	if r := aws.ToString(up.Role); r != second {
		t.Errorf("UpdateFunctionConfiguration Role = %q, want %q", r, second)
	}
	check("updated", second)
	v, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("roled")})
	if err != nil {
		t.Fatalf("PublishVersion: %v", err)
	}
	if r := aws.ToString(v.Role); r != second {
		t.Errorf("PublishVersion Role = %q, want %q", r, second)
	}

	// Without a Role (Portico's own clients send none): Portico's is reported.
	if _, _, err := env.Client().CreateFunction(ctx, map[string]any{"FunctionName": "plain",
		"Code": map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(zip)}}); err != nil {
		t.Fatalf("CreateFunction without Role: %v", err)
	}
	plain, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("plain")})
	if err != nil {
		t.Fatalf("GetFunctionConfiguration: %v", err)
	}
	if r := aws.ToString(plain.Role); r != "arn:aws:iam::000000000000:role/portico" {
		t.Errorf("a function created without Role reports Role %q", r)
	}

	env.Restart()
	c = sdk(env)
	check("after a restart", second)
}

// TestZipFunctionNeedsHandler: CreateFunction of a .zip package that names
// its Runtime but no Handler is refused, as Lambda refuses it, saying what
// to add; Portico's shorthand with neither still creates a function, which
// runs its bootstrap as provided.al2023 would and reads back with neither.
func TestZipFunctionNeedsHandler(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := sdk(env)
	zip := testkit.IdleZip(t)
	_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("nohandler"),
		Role: aws.String("arn:aws:iam::123456789012:role/r"), Runtime: types.RuntimeProvidedal2, PackageType: types.PackageTypeZip,
		Code: &types.FunctionCode{ZipFile: zip}})
	if ip := (*types.InvalidParameterValueException)(nil); !errors.As(err, &ip) ||
		!strings.Contains(err.Error(), "Handler is required") || !strings.Contains(err.Error(), "add Handler") {
		t.Errorf("CreateFunction of a Zip package without Handler: %v, want InvalidParameterValueException saying to add Handler", err)
	}
	if _, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("nohandler")}); err == nil {
		t.Error("the function refused for want of a Handler exists")
	}
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("handled"),
		Role: aws.String("arn:aws:iam::123456789012:role/r"), Runtime: types.RuntimeProvidedal2, Handler: aws.String("bootstrap"),
		Code: &types.FunctionCode{ZipFile: zip}}); err != nil {
		t.Errorf("CreateFunction with Runtime and Handler: %v", err)
	}
	if _, _, err := env.Client().CreateFunction(ctx, map[string]any{"FunctionName": "shorthand", "PackageType": "Zip",
		"Code": map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(zip)}}); err != nil {
		t.Fatalf("CreateFunction with neither Runtime nor Handler: %v", err)
	}
	// It reads back as it was sent, with neither (docs/cli.md): a Runtime
	// read back that the caller did not send would be drift in a Terraform
	// plan that leaves it out.
	got, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("shorthand")})
	if err != nil {
		t.Fatal(err)
	}
	if got.Runtime != "" || got.Handler != nil {
		t.Errorf("the shorthand function reads back Runtime %q Handler %v, want neither, as sent", got.Runtime, aws.ToString(got.Handler))
	}
}
