package admin_test

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestLambdaModelViolationsAreValidationException: a value that breaks a
// constraint of Lambda's API model (the function name's pattern, the
// invocation and log type enums, MemorySize's range, Timeout's minimum) is
// answered as Lambda answers it, 400 ValidationException "1 validation error
// detected: Value 'V' at 'member' failed to satisfy constraint: ...", which
// the SDK does not take for its modelled *types.InvalidParameterValueException;
// a rule beyond the model (Timeout over 900) stays InvalidParameterValueException.
func TestLambdaModelViolationsAreValidationException(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := sdk(env)
	createIdle(t, ctx, c, "pg2", "x")

	validation := func(t *testing.T, what string, err error, prefix string) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
			t.Errorf("%s: %v, want ValidationException", what, err)
			return
		}
		var ipv *types.InvalidParameterValueException
		if errors.As(err, &ipv) {
			t.Errorf("%s: the SDK reads %v as InvalidParameterValueException", what, err)
		}
		if !strings.HasPrefix(ae.ErrorMessage(), prefix) {
			t.Errorf("%s: message %q, want it to begin %q", what, ae.ErrorMessage(), prefix)
		}
		apiError(t, err, "ValidationException", http.StatusBadRequest)
	}

	_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("bad name")})
	validation(t, "Invoke bad name", err,
		"1 validation error detected: Value 'bad name' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:")
	_, err = c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("pg2:bad.qualifier")})
	validation(t, "GetFunction pg2:bad.qualifier", err, "1 validation error detected: Value 'pg2:bad.qualifier' at 'functionName'")
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(strings.Repeat("x", 65)),
		Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &types.FunctionCode{ZipFile: testkit.IdleZip(t)}})
	validation(t, "CreateFunction 65-character name", err, "1 validation error detected: Value 'xxx")

	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("pg2"), InvocationType: "Bogus"})
	validation(t, "Invoke InvocationType Bogus", err,
		"1 validation error detected: Value 'Bogus' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("pg2"), LogType: "All"})
	validation(t, "Invoke LogType All", err, "1 validation error detected: Value 'All' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]")

	for mem, want := range map[int32]string{
		64:    "1 validation error detected: Value '64' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128",
		10241: "1 validation error detected: Value '10241' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 10240",
	} {
		_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("pg2"), MemorySize: aws.Int32(mem)})
		validation(t, "UpdateFunctionConfiguration MemorySize", err, want)
	}
	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("pg2"), Timeout: aws.Int32(-1)})
	validation(t, "UpdateFunctionConfiguration Timeout -1", err, "1 validation error detected: Value '-1' at 'timeout'")

	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("pg2"), Timeout: aws.Int32(901)})
	var ipv *types.InvalidParameterValueException
	if !errors.As(err, &ipv) {
		t.Errorf("UpdateFunctionConfiguration Timeout 901: %v, want InvalidParameterValueException (not a model constraint)", err)
	}
}

// TestInvokeTooLargeNamesInvokeFunction: a synchronous payload one byte over
// 6 MB is refused with Lambda's words, "Request must be smaller than 6291456
// bytes for the InvokeFunction operation", whether the server reads the
// body to check a signature over it or the invoke handler reads it.
func TestInvokeTooLargeNamesInvokeFunction(t *testing.T) {
	t.Parallel()
	const want = "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
	payload := append(append([]byte(`"`), bytes.Repeat([]byte("x"), 6291457-2)...), '"')
	for name, c := range map[string]*lambda.Client{
		"no token": sdk(apptest.Start(t, apptest.Options{})),
		"signed":   startControlPlane(t).fn,
	} {
		_, err := c.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String("hello"), Payload: payload})
		apiError(t, err, "RequestTooLargeException", http.StatusRequestEntityTooLarge)
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorMessage() != want {
			t.Errorf("%s: message %q, want %q", name, ae.ErrorMessage(), want)
		}
	}
}
