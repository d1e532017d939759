package admin_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/testkit"
	"github.com/portico-dev/portico/invoker"
)

// startAccount starts a server whose account concurrency is limit.
func startAccount(t *testing.T, limit int) *apptest.Env {
	t.Helper()
	return apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.Invoker.AccountConcurrency = limit }})
}

// TestProvisionedConcurrencyConfigs: ListProvisionedConcurrencyConfigs lists
// every version's and alias's configuration, paged; Get and List report when
// each was put, across a restart.
func TestProvisionedConcurrencyConfigs(t *testing.T) {
	t.Parallel()
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
		for q := range put {
			awaitProvisioned(t, c, "probe", q, types.ProvisionedConcurrencyStatusEnumReady)
		}
		got := list(t)
		for q, last := range put {
			it, ok := got[functions.ARN("probe", q)]
			if !ok {
				t.Fatalf("no configuration listed for %s: %v", q, got)
			}
			if aws.ToInt32(it.RequestedProvisionedConcurrentExecutions) != 1 || it.Status != types.ProvisionedConcurrencyStatusEnumReady ||
				aws.ToInt32(it.AllocatedProvisionedConcurrentExecutions) != 1 || aws.ToInt32(it.AvailableProvisionedConcurrentExecutions) != 1 {
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
		// "02" is not version 2 (Lambda matches versions as strings), as
		// on every other route: it is a version that does not exist.
		_, err = c.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{
			FunctionName: aws.String("probe"), Qualifier: aws.String("02"),
		})
		apiError(t, err, "ResourceNotFoundException", 404)
		// Deleting the configuration of a version or alias that does not exist.
		for _, q := range []string{"9", "02", "nope"} {
			_, err = c.DeleteProvisionedConcurrencyConfig(ctx, &lambda.DeleteProvisionedConcurrencyConfigInput{
				FunctionName: aws.String("probe"), Qualifier: aws.String(q),
			})
			apiError(t, err, "ResourceNotFoundException", 404)
		}
		// Deleting a configuration that does not exist, on a version that
		// does: 404, as Get answers, but with the one not-found type Lambda's
		// Delete has; a second delete of one that did exist too.
		_, err = c.DeleteProvisionedConcurrencyConfig(ctx, &lambda.DeleteProvisionedConcurrencyConfigInput{
			FunctionName: aws.String("probe"), Qualifier: aws.String("1"),
		})
		apiError(t, err, "ResourceNotFoundException", 404)
		del := func() error {
			_, err := c.DeleteProvisionedConcurrencyConfig(ctx, &lambda.DeleteProvisionedConcurrencyConfigInput{
				FunctionName: aws.String("probe"), Qualifier: aws.String("2"),
			})
			return err
		}
		if err := del(); err != nil {
			t.Fatalf("DeleteProvisionedConcurrencyConfig(2): %v", err)
		}
		apiError(t, del(), "ResourceNotFoundException", 404)
	})
	t.Run("a function with none lists none", func(t *testing.T) {
		createIdle(t, ctx, c, "bare", "x")
		out, err := c.ListProvisionedConcurrencyConfigs(ctx, &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String("bare")})
		if err != nil || len(out.ProvisionedConcurrencyConfigs) != 0 || out.NextMarker != nil {
			t.Fatalf("ListProvisionedConcurrencyConfigs(bare) = %+v, %v", out, err)
		}
	})
}

// TestAccountSettingsAndReservations: GetAccountSettings reports the account
// concurrency and what reservations leave of it, and PutFunctionConcurrency
// refuses a reservation that would leave less than the minimum unreserved (a
// tenth of the account's: 5 of 50).
func TestAccountSettingsAndReservations(t *testing.T) {
	t.Parallel()
	env := startAccount(t, 50)
	ctx := t.Context()
	c := sdk(env)
	a := createIdle(t, ctx, c, "alpha", "a")
	createIdle(t, ctx, c, "bravo", "b") // the same package: stored once

	settings := func(t *testing.T) *lambda.GetAccountSettingsOutput {
		t.Helper()
		out, err := c.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
		if err != nil || out.AccountLimit == nil || out.AccountUsage == nil {
			t.Fatalf("GetAccountSettings = %+v, %v", out, err)
		}
		return out
	}
	got := settings(t)
	l, u := got.AccountLimit, got.AccountUsage
	if l.ConcurrentExecutions != 50 || aws.ToInt32(l.UnreservedConcurrentExecutions) != 50 ||
		l.CodeSizeZipped != functions.MaxZipSize || l.CodeSizeUnzipped != functions.MaxUnzippedSize || l.TotalCodeSize == 0 {
		t.Errorf("AccountLimit = %+v", l)
	}
	if u.FunctionCount != 2 || u.TotalCodeSize != a.CodeSize {
		t.Errorf("AccountUsage = %+v, want 2 functions and %d bytes", u, a.CodeSize)
	}

	reserve := func(name string, n int32) error {
		_, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{
			FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(n),
		})
		return err
	}
	if err := reserve("alpha", 10); err != nil {
		t.Fatal(err)
	}
	err := reserve("bravo", 36) // 46 of 50 would leave 4
	apiError(t, err, "InvalidParameterValueException", 400)
	if err == nil || !strings.Contains(err.Error(), "decreases account's UnreservedConcurrentExecution below its minimum value of [5].") {
		t.Errorf("PutFunctionConcurrency over the minimum: %v", err)
	}
	if err := reserve("bravo", 35); err != nil {
		t.Fatalf("a reservation leaving exactly the minimum: %v", err)
	}
	if got := settings(t).AccountLimit.UnreservedConcurrentExecutions; aws.ToInt32(got) != 5 {
		t.Errorf("UnreservedConcurrentExecutions = %d, want 5", aws.ToInt32(got))
	}
	// Lowering is always allowed; deleting gives the reservation back.
	if err := reserve("bravo", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("alpha")}); err != nil {
		t.Fatal(err)
	}
	if got := settings(t).AccountLimit.UnreservedConcurrentExecutions; aws.ToInt32(got) != 49 {
		t.Errorf("UnreservedConcurrentExecutions = %d, want 49", aws.ToInt32(got))
	}
}

// TestUnknownLambdaOperation: a path under a Lambda API version that Portico
// does not serve answers in Lambda's JSON error shape, not a plain-text 404.
func TestUnknownLambdaOperation(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := sdk(env)
	_, err := c.ListLayers(ctx, &lambda.ListLayersInput{})
	apiError(t, err, "UnknownOperationException", 404)
	_, err = c.InvokeWithResponseStream(ctx, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("probe")})
	apiError(t, err, "UnknownOperationException", 404)

	for _, rq := range []struct{ method, path string }{
		{"GET", "/2015-03-31/nothing-here"},
		{"PATCH", "/2015-03-31/functions/probe"}, // a method the resource lacks
		{"GET", "/2016-08-19/account-settings/extra"},
		{"POST", "/2021-11-15/functions/probe/response-streaming-invocations"}, // InvokeWithResponseStream
	} {
		req, _ := http.NewRequestWithContext(ctx, rq.method, env.AdminURL+rq.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Type, Message string }
		derr := json.NewDecoder(resp.Body).Decode(&body)
		_ = resp.Body.Close()
		if resp.StatusCode != 404 || resp.Header.Get("x-amzn-ErrorType") != "UnknownOperationException" ||
			resp.Header.Get("Content-Type") != "application/json" || derr != nil || body.Message == "" {
			t.Errorf("%s %s = %d %q %q %+v (%v)", rq.method, rq.path, resp.StatusCode,
				resp.Header.Get("x-amzn-ErrorType"), resp.Header.Get("Content-Type"), body, derr)
		}
	}
}

// awaitProvisioned polls GetProvisionedConcurrencyConfig until the status of
// fn:q is want, failing on any other final status; it returns the answer. The
// invoker starts provisioned sandboxes in the background: the wait is for
// that work, bounded by a hang guard, not for a clock.
func awaitProvisioned(t *testing.T, c *lambda.Client, fn, q string, want types.ProvisionedConcurrencyStatusEnum) *lambda.GetProvisionedConcurrencyConfigOutput {
	t.Helper()
	guard := time.Now().Add(60 * time.Second)
	for {
		out, err := c.GetProvisionedConcurrencyConfig(t.Context(), &lambda.GetProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(fn), Qualifier: aws.String(q),
		})
		if err != nil {
			t.Fatalf("GetProvisionedConcurrencyConfig %s:%s: %v", fn, q, err)
		}
		switch {
		case out.Status == want:
			return out
		case out.Status != types.ProvisionedConcurrencyStatusEnumInProgress:
			t.Fatalf("%s:%s is %s (%s), want %s", fn, q, out.Status, aws.ToString(out.StatusReason), want)
		case time.Now().After(guard):
			t.Fatalf("%s:%s still %s after 60 s (allocated %d), want %s", fn, q, out.Status,
				aws.ToInt32(out.AllocatedProvisionedConcurrentExecutions), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProvisionedConcurrencyStatus: a configuration reports what the invoker
// has done with it. It is IN_PROGRESS until its sandboxes finished their init,
// READY then; FAILED, with the init's failure as StatusReason, when they cannot
// start. On a weighted alias the sandboxes are spread over both versions by
// weight, as Lambda spreads them, not all on whichever version one draw picked.
func TestProvisionedConcurrencyStatus(t *testing.T) {
	t.Parallel()
	var inv *invoker.Invoker
	env := apptest.Start(t, apptest.Options{Populate: []any{&inv}})
	ctx := t.Context()
	c := sdk(env)

	t.Run("an init that fails", func(t *testing.T) {
		if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String("broken"), Role: aws.String("arn:aws:iam::000000000000:role/any"),
			Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
			Code:    &types.FunctionCode{ZipFile: testkit.Bootstrap(t, "#!/bin/sh\necho 'no configuration' >&2\nexit 3\n")},
			Publish: true,
		}); err != nil {
			t.Fatal(err)
		}
		out, err := c.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{
			FunctionName: aws.String("broken"), Qualifier: aws.String("1"), ProvisionedConcurrentExecutions: aws.Int32(1),
		})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status == types.ProvisionedConcurrencyStatusEnumReady || aws.ToInt32(out.AllocatedProvisionedConcurrentExecutions) != 0 {
			t.Errorf("put answered %s with %d allocated, before any sandbox could start", out.Status, aws.ToInt32(out.AllocatedProvisionedConcurrentExecutions))
		}
		got := awaitProvisioned(t, c, "broken", "1", types.ProvisionedConcurrencyStatusEnumFailed)
		if r := aws.ToString(got.StatusReason); !strings.Contains(r, "exited during init") {
			t.Errorf("StatusReason = %q, want the init's failure", r)
		}
		if n := aws.ToInt32(got.AllocatedProvisionedConcurrentExecutions); n != 0 {
			t.Errorf("%d allocated of a version whose init always fails", n)
		}
	})

	t.Run("a weighted alias", func(t *testing.T) {
		createHello(t, ctx, c, "split", "x")
		for _, timeout := range []int32{3, 9} {
			if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
				FunctionName: aws.String("split"), Timeout: aws.Int32(timeout),
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("split")}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{
			FunctionName: aws.String("split"), Name: aws.String("live"), FunctionVersion: aws.String("1"),
			RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.5}},
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{
			FunctionName: aws.String("split"), Qualifier: aws.String("live"), ProvisionedConcurrentExecutions: aws.Int32(4),
		}); err != nil {
			t.Fatal(err)
		}
		got := awaitProvisioned(t, c, "split", "live", types.ProvisionedConcurrencyStatusEnumReady)
		if n := aws.ToInt32(got.AllocatedProvisionedConcurrentExecutions); n != 4 {
			t.Errorf("%d allocated, want 4", n)
		}
		// Several maintenance rounds have run by now; each version holds half.
		want := map[string]int{"1": 2, "2": 2}
		for _, v := range inv.Stats().Versions {
			if v.Function == "split" && v.Provisioned != want[v.Version] {
				t.Errorf("version %s keeps %d provisioned, want %d", v.Version, v.Provisioned, want[v.Version])
			}
			if v.Function == "split" {
				delete(want, v.Version)
			}
		}
		if len(want) != 0 {
			t.Errorf("no sandboxes kept for versions %v", want)
		}
	})
}
