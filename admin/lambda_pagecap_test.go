package admin_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestLambdaListsAnswerAtMost50: ListFunctions and ListVersionsByFunction
// answer at most 50 items per response, even for a higher MaxItems, as
// Lambda does, with NextMarker for the rest; before, MaxItems 1000 answered
// every function (and version) in one page with no NextMarker.
func TestLambdaListsAnswerAtMost50(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := sdk(env)
	for i := range 51 {
		createIdle(t, ctx, c, fmt.Sprintf("f%02d", i), "x")
	}
	for i := range 50 {
		if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String("f00"), Description: aws.String(fmt.Sprint("v", i)),
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("f00")}); err != nil {
			t.Fatal(err)
		}
	}

	fns, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(1000)})
	if err != nil {
		t.Fatal(err)
	}
	if len(fns.Functions) != 50 || fns.NextMarker == nil {
		t.Fatalf("ListFunctions MaxItems 1000: %d functions, NextMarker %v; want 50 and a NextMarker", len(fns.Functions), fns.NextMarker)
	}
	rest, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(1000), Marker: fns.NextMarker})
	if err != nil || len(rest.Functions) != 1 || aws.ToString(rest.Functions[0].FunctionName) != "f50" || rest.NextMarker != nil {
		t.Fatalf("ListFunctions second page: %v, %d functions, NextMarker %v; want f50 alone", err, len(rest.Functions), rest.NextMarker)
	}

	vs, err := c.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("f00"), MaxItems: aws.Int32(10000)})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs.Versions) != 50 || vs.NextMarker == nil {
		t.Fatalf("ListVersionsByFunction MaxItems 10000: %d versions, NextMarker %v; want 50 ($LATEST, 1..49) and a NextMarker", len(vs.Versions), vs.NextMarker)
	}
	last, err := c.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("f00"), MaxItems: aws.Int32(10000), Marker: vs.NextMarker})
	if err != nil || len(last.Versions) != 1 || aws.ToString(last.Versions[0].Version) != "50" {
		t.Fatalf("ListVersionsByFunction second page: %v, %+v; want version 50 alone", err, last.Versions)
	}

	// The paginators every SDK offers still see every item.
	n := 0
	for p := lambda.NewListFunctionsPaginator(c, &lambda.ListFunctionsInput{MaxItems: aws.Int32(1000)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Functions)
	}
	if n != 51 {
		t.Errorf("ListFunctions paginator: %d functions, want 51", n)
	}
}

// TestLambdaSmallListsRefuseMaxItemsAbove50: ListProvisionedConcurrencyConfigs
// and ListFunctionEventInvokeConfigs take MaxItems 1..50 on Lambda (its API
// reference); Portico took 1..10000. 51 is a ValidationException naming the
// constraint, 50 a page.
func TestLambdaSmallListsRefuseMaxItemsAbove50(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := sdk(env)
	createIdle(t, ctx, c, "small", "x")
	if _, err := c.ListProvisionedConcurrencyConfigs(ctx, &lambda.ListProvisionedConcurrencyConfigsInput{
		FunctionName: aws.String("small"), MaxItems: aws.Int32(50)}); err != nil {
		t.Errorf("ListProvisionedConcurrencyConfigs MaxItems 50: %v", err)
	}
	if _, err := c.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{
		FunctionName: aws.String("small"), MaxItems: aws.Int32(50)}); err != nil {
		t.Errorf("ListFunctionEventInvokeConfigs MaxItems 50: %v", err)
	}
	const want = "Member must have value less than or equal to 50"
	_, err := c.ListProvisionedConcurrencyConfigs(ctx, &lambda.ListProvisionedConcurrencyConfigsInput{
		FunctionName: aws.String("small"), MaxItems: aws.Int32(51)})
	if err == nil || !strings.Contains(err.Error(), "ValidationException") || !strings.Contains(err.Error(), want) {
		t.Errorf("ListProvisionedConcurrencyConfigs MaxItems 51: %v; want a ValidationException saying %q", err, want)
	}
	_, err = c.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{
		FunctionName: aws.String("small"), MaxItems: aws.Int32(51)})
	if err == nil || !strings.Contains(err.Error(), "ValidationException") || !strings.Contains(err.Error(), want) {
		t.Errorf("ListFunctionEventInvokeConfigs MaxItems 51: %v; want a ValidationException saying %q", err, want)
	}
}
