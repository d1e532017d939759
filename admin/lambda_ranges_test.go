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

// TestLambdaModelRangesAreValidationExceptions is the lambda11 tester's
// defect 2: values outside the ranges of Lambda's API model (as MemorySize
// 10241 already was) answered InvalidParameterValueException where Lambda
// answers 400 ValidationException "1 validation error detected: Value 'X' at
// 'member' failed to satisfy constraint: ...". In range, each is taken.
func TestLambdaModelRangesAreValidationExceptions(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := sdk(env)
	createIdle(t, ctx, c, "f", "hi")
	if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("f")}); err != nil {
		t.Fatal(err)
	}
	fn := aws.String("f")
	for _, tc := range []struct {
		name string
		call func() error
		want string // the message
	}{
		{"MaximumRetryAttempts 3", func() error {
			_, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: fn, MaximumRetryAttempts: aws.Int32(3)})
			return err
		}, "1 validation error detected: Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2"},
		{"MaximumRetryAttempts -1 (update)", func() error {
			_, err := c.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{FunctionName: fn, MaximumRetryAttempts: aws.Int32(-1)})
			return err
		}, "1 validation error detected: Value '-1' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{"MaximumEventAgeInSeconds 30", func() error {
			_, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: fn, MaximumEventAgeInSeconds: aws.Int32(30)})
			return err
		}, "1 validation error detected: Value '30' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60"},
		{"MaximumEventAgeInSeconds 21601", func() error {
			_, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: fn, MaximumEventAgeInSeconds: aws.Int32(21601)})
			return err
		}, "1 validation error detected: Value '21601' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value less than or equal to 21600"},
		{"ListFunctions MaxItems 0", func() error {
			_, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(0)})
			return err
		}, "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"ListVersionsByFunction MaxItems 10001", func() error {
			_, err := c.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: fn, MaxItems: aws.Int32(10001)})
			return err
		}, "1 validation error detected: Value '10001' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 10000"},
		{"alias weight 1.5", func() error {
			_, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: fn, Name: aws.String("w"), FunctionVersion: aws.String("1"),
				RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 1.5}}})
			return err
		}, "1 validation error detected: Value '{2=1.5}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: " +
			"Map value must satisfy constraint: [Member must have value less than or equal to 1.0]"},
		{"alias weight -0.1", func() error {
			_, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: fn, Name: aws.String("w"), FunctionVersion: aws.String("1"),
				RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": -0.1}}})
			return err
		}, "1 validation error detected: Value '{2=-0.1}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: " +
			"Map value must satisfy constraint: [Member must have value greater than or equal to 0.0]"},
		{"ReservedConcurrentExecutions -1", func() error {
			_, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: fn, ReservedConcurrentExecutions: aws.Int32(-1)})
			return err
		}, "1 validation error detected: Value '-1' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{"ProvisionedConcurrentExecutions 0", func() error {
			_, err := c.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{FunctionName: fn, Qualifier: aws.String("1"),
				ProvisionedConcurrentExecutions: aws.Int32(0)})
			return err
		}, "1 validation error detected: Value '0' at 'provisionedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		// The lambda19 tester's findings 1 and 3: lengths in characters, and
		// the model's patterns, are ValidationExceptions too.
		{"Description of 257 characters", func() error {
			_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: fn, Description: aws.String(strings.Repeat("é", 257))})
			return err
		}, "1 validation error detected: Value '" + strings.Repeat("é", 100) + "...' at 'description' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{"Handler of 129 characters", func() error {
			_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: fn, Handler: aws.String(strings.Repeat("h", 129))})
			return err
		}, "1 validation error detected: Value '" + strings.Repeat("h", 129) + "' at 'handler' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"environment name A", func() error {
			_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: fn,
				Environment: &types.Environment{Variables: map[string]string{"A": "secret-value"}}})
			return err
		}, "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: " +
			`[Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+] (the name "A" does not match)`},
		{"alias name a$b", func() error {
			_, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: fn, Name: aws.String("a$b"), FunctionVersion: aws.String("1")})
			return err
		}, "1 validation error detected: Value 'a$b' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"},
		{"alias name 1live", func() error {
			_, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: fn, Name: aws.String("1live"), FunctionVersion: aws.String("1")})
			return err
		}, "1 validation error detected: Value '1live' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+) " +
			"(in Portico an alias name also may not start with a digit: use letters, digits, - and _, starting with a letter, - or _)"},
		{"alias name of 129", func() error {
			_, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: fn, Name: aws.String(strings.Repeat("a", 129)), FunctionVersion: aws.String("1")})
			return err
		}, "1 validation error detected: Value '" + strings.Repeat("a", 129) + "' at 'name' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"alias FunctionVersion abc", func() error {
			_, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: fn, Name: aws.String("w"), FunctionVersion: aws.String("abc")})
			return err
		}, `1 validation error detected: Value 'abc' at 'functionVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: (\$LATEST|[0-9]+) ` +
			"(a version number or $LATEST: an alias cannot point at another alias)"},
		{"alias weight key abc", func() error {
			_, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: fn, Name: aws.String("w"), FunctionVersion: aws.String("1"),
				RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"abc": 0.5}}})
			return err
		}, "1 validation error detected: Value '{abc=0.5}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: " +
			"Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [0-9]+]"},
		// The lambda25 tester's finding 3: a Qualifier parameter outside the
		// model's pattern, and a FunctionVersion outside its enum, answered
		// InvalidParameterValueException (a qualifier with a dot in the
		// function name was already a ValidationException).
		{"Qualifier a.b", func() error {
			_, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: fn, Qualifier: aws.String("a.b")})
			return err
		}, "1 validation error detected: Value 'a.b' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)"},
		{"Qualifier of 129", func() error {
			_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: fn, Qualifier: aws.String(strings.Repeat("q", 129))})
			return err
		}, "1 validation error detected: Value '" + strings.Repeat("q", 129) + "' at 'qualifier' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"ListFunctions FunctionVersion BAD", func() error {
			_, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{FunctionVersion: types.FunctionVersion("BAD")})
			return err
		}, "1 validation error detected: Value 'BAD' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]"},
	} {
		err := tc.call()
		apiError(t, err, "ValidationException", 400)
		if ae, ok := errors.AsType[smithy.APIError](err); !ok || ae.ErrorMessage() != tc.want {
			t.Errorf("%s: %v, want the message %q", tc.name, err, tc.want)
		}
	}

	// In range, each is taken.
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: fn, Description: aws.String(strings.Repeat("日", 256))}); err != nil {
		t.Errorf("UpdateFunctionConfiguration with a Description of 256 characters (768 bytes): %v", err)
	}
	if _, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: fn,
		MaximumRetryAttempts: aws.Int32(0), MaximumEventAgeInSeconds: aws.Int32(60)}); err != nil {
		t.Errorf("PutFunctionEventInvokeConfig 0 retries, 60 s: %v", err)
	}
	if _, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(10000)}); err != nil {
		t.Errorf("ListFunctions MaxItems 10000: %v", err)
	}
	if _, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: fn, ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Errorf("PutFunctionConcurrency 0: %v", err)
	}
	if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: fn, Name: aws.String("w"), FunctionVersion: aws.String("1")}); err != nil {
		t.Errorf("CreateAlias w: %v", err)
	}
}
