package admin_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/functions"
)

// TestProvisionedConcurrencyConfigs: ListProvisionedConcurrencyConfigs lists
// every version's and alias's configuration, paged; Get and List report when
// each was put, across a restart.
func TestProvisionedConcurrencyConfigs(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := sdk(env)
	createHello(t, ctx, c, "probe", "one")
	for i := range 2 {
		if i > 0 {
			if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
				FunctionName: aws.String("probe"), Timeout: aws.Int32(9),
			}); err != nil {
				t.Fatal(err)
			}
		}
		if v, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("probe")}); err != nil {
			t.Fatal(err)
		} else if got := aws.ToString(v.Version); got != string(rune('1'+i)) {
			t.Fatalf("published version %s, want %d", got, i+1)
		}
	}
	if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{
		FunctionName: aws.String("probe"), Name: aws.String("live"), FunctionVersion: aws.String("1"),
	}); err != nil {
		t.Fatal(err)
	}
	put := map[string]string{} // qualifier -> LastModified put answered
	for q, n := range map[string]int32{"2": 1, "live": 1} {
		out, err := c.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{
			FunctionName: aws.String("probe"), Qualifier: aws.String(q), ProvisionedConcurrentExecutions: aws.Int32(n),
		})
		if err != nil || aws.ToString(out.LastModified) == "" {
			t.Fatalf("PutProvisionedConcurrencyConfig %s = %v, %v", q, out, err)
		}
		put[q] = aws.ToString(out.LastModified)
	}

	list := func(t *testing.T) map[string]types.ProvisionedConcurrencyConfigListItem {
		t.Helper()
		got := map[string]types.ProvisionedConcurrencyConfigListItem{}
		pages := 0
		p := lambda.NewListProvisionedConcurrencyConfigsPaginator(c, &lambda.ListProvisionedConcurrencyConfigsInput{
			FunctionName: aws.String("probe"), MaxItems: aws.Int32(1),
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListProvisionedConcurrencyConfigs: %v", err)
			}
			pages++
			for _, it := range out.ProvisionedConcurrencyConfigs {
				got[aws.ToString(it.FunctionArn)] = it
			}
		}
		if pages != 2 || len(got) != 2 {
			t.Fatalf("listed %d configurations in %d pages of 1, want 2 in 2: %v", len(got), pages, got)
		}
		return got
	}
	check := func(t *testing.T) {
		t.Helper()
		got := list(t)
		for q, last := range put {
			it, ok := got[functions.ARN("probe", q)]
			if !ok {
				t.Fatalf("no configuration listed for %s: %v", q, got)
			}
			if aws.ToInt32(it.RequestedProvisionedConcurrentExecutions) != 1 || it.Status != types.ProvisionedConcurrencyStatusEnumReady ||
				it.AllocatedProvisionedConcurrentExecutions == nil || it.AvailableProvisionedConcurrentExecutions == nil {
				t.Errorf("%s listed as %+v", q, it)
			}
			if aws.ToString(it.LastModified) != last {
				t.Errorf("%s listed LastModified %q, want %q, when it was put", q, aws.ToString(it.LastModified), last)
			}
			out, err := c.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{
				FunctionName: aws.String("probe"), Qualifier: aws.String(q),
			})
			if err != nil || aws.ToString(out.LastModified) != last {
				t.Errorf("GetProvisionedConcurrencyConfig %s = %v, %v; want LastModified %q", q, out, err, last)
			}
		}
	}
	check(t)
	env.Restart()
	check(t)

	t.Run("errors", func(t *testing.T) {
		_, err := c.ListProvisionedConcurrencyConfigs(ctx, &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String("nope")})
		apiError(t, err, "ResourceNotFoundException", 404)
		_, err = c.ListProvisionedConcurrencyConfigs(ctx, &lambda.ListProvisionedConcurrencyConfigsInput{
			FunctionName: aws.String("probe"), Marker: aws.String("x"),
		})
		apiError(t, err, "InvalidParameterValueException", 400)
		// Get still wants its qualifier.
		_, err = c.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{
			FunctionName: aws.String("probe"), Qualifier: aws.String("1"),
		})
		apiError(t, err, "ProvisionedConcurrencyConfigNotFoundException", 404)
	})
	t.Run("a function with none lists none", func(t *testing.T) {
		createHello(t, ctx, c, "bare", "x")
		out, err := c.ListProvisionedConcurrencyConfigs(ctx, &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String("bare")})
		if err != nil || len(out.ProvisionedConcurrencyConfigs) != 0 || out.NextMarker != nil {
			t.Fatalf("ListProvisionedConcurrencyConfigs(bare) = %+v, %v", out, err)
		}
	})
}
