package admin_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// errorCode is the AWS error code of err ("" when it is not an API error).
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestRevisionPreconditionsHoldUnderConcurrency: RevisionId is an optimistic
// lock and CodeSha256 pins what PublishVersion publishes. Checked before the
// write's own transaction, several callers holding one RevisionId all got
// through, and a code update landing between check and publish was published
// under the other code's name.
func TestRevisionPreconditionsHoldUnderConcurrency(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := lambda.NewFromConfig(sdkConfig(env.AdminURL, "secret"))
	created := createIdle(t, ctx, c, "rev", "hi")
	// Never invoked: two packages of a few bytes, other code each.
	zipA, zipB := testkit.IdleZip(t), testkit.Bootstrap(t, "#!/bin/sh\n# code B\nexit 0\n")

	// race runs n calls at once and returns how many succeeded; every other
	// one must be a PreconditionFailedException.
	race := func(what string, n int, call func(i int) error) int {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { errs[i] = call(i) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch code := errorCode(err); {
			case err == nil:
				ok++
			case code != "PreconditionFailedException":
				t.Errorf("%s: %v, want success or PreconditionFailedException", what, err)
			}
		}
		return ok
	}
	rev := aws.ToString(created.RevisionId)
	if ok := race("UpdateFunctionConfiguration", 8, func(i int) error {
		_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String("rev"), RevisionId: aws.String(rev), Description: aws.String(fmt.Sprint("race ", i))})
		return err
	}); ok != 1 {
		t.Errorf("%d UpdateFunctionConfiguration calls with one RevisionId succeeded, want 1", ok)
	}
	cur, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("rev")})
	if err != nil {
		t.Fatal(err)
	}
	rev = aws.ToString(cur.RevisionId)
	if ok := race("UpdateFunctionCode", 6, func(int) error {
		_, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
			FunctionName: aws.String("rev"), RevisionId: aws.String(rev), ZipFile: zipA})
		return err
	}); ok != 1 {
		t.Errorf("%d UpdateFunctionCode calls with one RevisionId succeeded, want 1", ok)
	}

	// Code A is $LATEST's; B replaces it while A's sha256 is being published:
	// a version published under A's sha256 must hold A.
	for round := range 30 { // cheap with idle packages: more rounds, more chances at the race
		a, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("rev"), ZipFile: zipA})
		if err != nil {
			t.Fatal(err)
		}
		shaA := aws.ToString(a.CodeSha256)
		var wg sync.WaitGroup
		var pub *lambda.PublishVersionOutput
		var pubErr error
		wg.Go(func() {
			_, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("rev"), ZipFile: zipB})
			if err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			pub, pubErr = c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("rev"),
				CodeSha256: aws.String(shaA), Description: aws.String(fmt.Sprint("round ", round))})
		})
		wg.Wait()
		switch {
		case pubErr == nil && aws.ToString(pub.CodeSha256) != shaA:
			t.Errorf("round %d: PublishVersion(CodeSha256 %s) published version %s with CodeSha256 %s", round, shaA, aws.ToString(pub.Version), aws.ToString(pub.CodeSha256))
		case pubErr != nil && errorCode(pubErr) != "InvalidParameterValueException":
			t.Errorf("round %d: PublishVersion: %v, want success or InvalidParameterValueException", round, pubErr)
		}
	}
}

// TestLambdaRefusesWhatItWouldNotHonour: settings Portico would accept and
// then not honour, or honour by failing every call, are refused where they
// are set.
func TestLambdaRefusesWhatItWouldNotHonour(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := lambda.NewFromConfig(sdkConfig(env.AdminURL, "secret"))
	createHello(t, ctx, c, "honour", "hi")
	v1, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("honour")})
	if err != nil {
		t.Fatal(err)
	}
	want := func(what string, err error, code string) {
		t.Helper()
		if errorCode(err) != code {
			t.Errorf("%s: %v, want %s", what, err, code)
		}
	}

	// A runtime other than a custom one would still run the bootstrap.
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("node"), Role: aws.String("arn:aws:iam::000000000000:role/any"),
		Runtime: types.RuntimeNodejs22x, Handler: aws.String("index.handler"),
		Code: &types.FunctionCode{ZipFile: testkit.IdleZip(t)},
	})
	want("CreateFunction(nodejs22.x)", err, "InvalidParameterValueException")
	// Settings Portico has nothing to honour them with.
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("layered"), Role: aws.String("arn:aws:iam::000000000000:role/any"),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Code:   &types.FunctionCode{ZipFile: testkit.IdleZip(t)},
		Layers: []string{"arn:aws:lambda:us-east-1:000000000000:layer:deps:1"}, Tags: map[string]string{"team": "a"},
	})
	want("CreateFunction(Layers, Tags)", err, "InvalidParameterValueException")
	if err != nil && (!strings.Contains(err.Error(), "Layers") || !strings.Contains(err.Error(), "Tags")) {
		t.Errorf("the refusal names neither Layers nor Tags: %v", err)
	}
	other := types.ArchitectureArm64
	if runtime.GOARCH == "arm64" {
		other = types.ArchitectureX8664
	}
	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("honour"), TracingConfig: &types.TracingConfig{Mode: types.TracingModeActive},
		DeadLetterConfig: &types.DeadLetterConfig{TargetArn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")}})
	want("UpdateFunctionConfiguration(TracingConfig Active, DeadLetterConfig)", err, "InvalidParameterValueException")
	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("honour"), VpcConfig: &types.VpcConfig{SubnetIds: []string{"subnet-1"}}})
	want("UpdateFunctionConfiguration(VpcConfig)", err, "InvalidParameterValueException")
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("otherarch"), Role: aws.String("arn:aws:iam::000000000000:role/any"),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Architectures: []types.Architecture{other},
		Code: &types.FunctionCode{ZipFile: testkit.IdleZip(t)},
	})
	want("CreateFunction(the other architecture)", err, "InvalidParameterValueException")
	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("honour"), Runtime: types.RuntimePython312})
	want("UpdateFunctionConfiguration(python3.12)", err, "InvalidParameterValueException")
	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("honour"), Runtime: types.RuntimeProvidedal2})
	want("UpdateFunctionConfiguration(provided.al2)", err, "")

	// A NUL byte cannot be in a process's environment: every call would fail.
	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("honour"), Environment: &types.Environment{Variables: map[string]string{"XY": "a\x00b"}}})
	want("UpdateFunctionConfiguration(NUL in a value)", err, "InvalidParameterValueException")

	// A client context must be a JSON object: the runtime decodes it.
	for _, cc := range []string{"notjson", `"a string"`, "[1]"} {
		_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("honour"),
			ClientContext: aws.String(base64.StdEncoding.EncodeToString([]byte(cc)))})
		want("Invoke(ClientContext "+cc+")", err, "InvalidParameterValueException")
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("honour"),
		ClientContext: aws.String(base64.StdEncoding.EncodeToString([]byte(`{"custom":{"k":"v"}}`)))})
	if err != nil || out.FunctionError != nil {
		t.Errorf("Invoke with a JSON client context: %v %v", err, out)
	}

	// Provisioned concurrency is for published versions, through an alias too.
	if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("honour"), Name: aws.String("edge"), FunctionVersion: aws.String("$LATEST")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("honour"), Qualifier: aws.String("edge"), ProvisionedConcurrentExecutions: aws.Int32(1)})
	want("PutProvisionedConcurrencyConfig(alias of $LATEST)", err, "InvalidParameterValueException")
	if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("honour"), Name: aws.String("live"), FunctionVersion: v1.Version}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("honour"), Qualifier: aws.String("live"), ProvisionedConcurrentExecutions: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String("honour"), Name: aws.String("live"), FunctionVersion: aws.String("$LATEST")})
	want("UpdateAlias(provisioned alias to $LATEST)", err, "InvalidParameterValueException")
	a, err := c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("honour"), Name: aws.String("live")})
	if err != nil || aws.ToString(a.FunctionVersion) != aws.ToString(v1.Version) {
		t.Errorf("alias live after the refused update: %v %v", a, err)
	}
	if _, err := c.DeleteProvisionedConcurrencyConfig(ctx, &lambda.DeleteProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("honour"), Qualifier: aws.String("live")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String("honour"), Name: aws.String("live"), FunctionVersion: aws.String("$LATEST")})
	want("UpdateAlias(to $LATEST without provisioned concurrency)", err, "")
}
