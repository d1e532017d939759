package admin_test

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestLambdaMarkersAreBoundToTheirList: a NextMarker is taken only by the
// list that returned it. ListFunctions' marker passed to
// ListVersionsByFunction, or one function's versions marker passed to another
// function's versions (or to its aliases), is 400
// InvalidParameterValueException, a marker Portico did not return for that
// list; before, any marker was a place in any list.
func TestLambdaMarkersAreBoundToTheirList(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := sdk(env)
	for _, name := range []string{"f1", "a4"} {
		createIdle(t, ctx, c, name, "x")
		for i := range 2 {
			if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
				FunctionName: aws.String(name), Timeout: aws.Int32(int32(10 + i)),
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	fns, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(1)})
	if err != nil || fns.NextMarker == nil {
		t.Fatalf("ListFunctions MaxItems 1: %v, NextMarker %v", err, fns)
	}
	f1, err := c.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("f1"), MaxItems: aws.Int32(1)})
	if err != nil || f1.NextMarker == nil {
		t.Fatalf("ListVersionsByFunction f1 MaxItems 1: %v, %v", err, f1)
	}

	_, err = c.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("f1"), Marker: fns.NextMarker})
	apiError(t, err, "InvalidParameterValueException", http.StatusBadRequest)
	_, err = c.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("a4"), Marker: f1.NextMarker})
	apiError(t, err, "InvalidParameterValueException", http.StatusBadRequest)
	_, err = c.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: aws.String("f1"), Marker: f1.NextMarker})
	apiError(t, err, "InvalidParameterValueException", http.StatusBadRequest)
	_, err = c.ListFunctions(ctx, &lambda.ListFunctionsInput{Marker: f1.NextMarker})
	apiError(t, err, "InvalidParameterValueException", http.StatusBadRequest)

	// Each marker still pages its own list, the function named by its ARN too.
	if out, err := c.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{
		FunctionName: aws.String("arn:aws:lambda:us-east-1:000000000000:function:f1"), Marker: f1.NextMarker,
	}); err != nil || len(out.Versions) != 2 {
		t.Errorf("ListVersionsByFunction f1 with its own marker: %v, %d versions, want 2", err, len(out.Versions))
	}
	if out, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{Marker: fns.NextMarker}); err != nil || len(out.Functions) != 1 {
		t.Errorf("ListFunctions with its own marker: %v, want the other function", err)
	}
}
