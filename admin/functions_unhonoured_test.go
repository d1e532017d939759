package admin_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestLambdaRefusesDroppedSettings: the settings of CreateFunction,
// UpdateFunctionConfiguration and UpdateFunctionCode that Portico used to
// accept and then read back as their defaults (EphemeralStorage, LoggingConfig's
// LogGroup and log levels, UpdateFunctionCode's Architectures, SourceKMSKeyArn,
// PublishTo, the newer Managed Instances, durable and tenancy settings) are
// refused with InvalidParameterValueException naming them; their defaults are
// taken, and GetFunction shows the LoggingConfig Lambda shows by default and
// the architecture sandboxes run on. A refusal of one setting says "remove
// it", of several "remove them" (it said "them" of one too).
func TestLambdaRefusesDroppedSettings(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := lambda.NewFromConfig(sdkConfig(env.AdminURL, "secret"))
	zip := testkit.IdleZip(t)
	host, other := types.ArchitectureX8664, types.ArchitectureArm64
	if runtime.GOARCH == "arm64" {
		host, other = other, host
	}
	create := func(name string, edit func(*lambda.CreateFunctionInput)) error {
		in := &lambda.CreateFunctionInput{FunctionName: aws.String(name), Role: aws.String("arn:aws:iam::000000000000:role/any"),
			Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zip}}
		edit(in)
		_, err := c.CreateFunction(ctx, in)
		return err
	}
	refused := func(what string, err error, names ...string) {
		t.Helper()
		if errorCode(err) != "InvalidParameterValueException" {
			t.Errorf("%s: %v, want InvalidParameterValueException", what, err)
			return
		}
		for _, n := range names {
			if !strings.Contains(err.Error(), n) {
				t.Errorf("%s: the refusal does not name %s: %v", what, n, err)
			}
		}
	}

	// The defaults, sent explicitly, are taken.
	err := create("f", func(in *lambda.CreateFunctionInput) {
		in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(512)}
		in.LoggingConfig = &types.LoggingConfig{LogFormat: types.LogFormatText, LogGroup: aws.String("/aws/lambda/f")}
	})
	if err != nil {
		t.Fatalf("CreateFunction with the defaults: %v", err)
	}
	got, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("f")})
	if err != nil {
		t.Fatal(err)
	}
	if a := got.Configuration.Architectures; len(a) != 1 || a[0] != host {
		t.Errorf("GetFunction Architectures = %v, want this host's", a)
	}
	if lc := got.Configuration.LoggingConfig; lc == nil || lc.LogFormat != types.LogFormatText || aws.ToString(lc.LogGroup) != "/aws/lambda/f" {
		t.Errorf("GetFunction LoggingConfig = %+v, want Text in /aws/lambda/f", lc)
	}

	for _, c := range []struct {
		what  string
		edit  func(*lambda.CreateFunctionInput)
		names []string
	}{
		{"CodeSigningConfigArn", func(in *lambda.CreateFunctionInput) {
			in.CodeSigningConfigArn = aws.String("arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef0")
		},
			[]string{"CodeSigningConfigArn", "does not verify code signatures"}},
		{"EphemeralStorage 1024", func(in *lambda.CreateFunctionInput) {
			in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(1024)}
		},
			[]string{"EphemeralStorage"}},
		{"LogGroup", func(in *lambda.CreateFunctionInput) {
			in.LoggingConfig = &types.LoggingConfig{LogFormat: types.LogFormatText, LogGroup: aws.String("/aws/lambda/custom")}
		}, []string{"LogGroup", "/aws/lambda/custom"}},
		{"log levels", func(in *lambda.CreateFunctionInput) {
			in.LoggingConfig = &types.LoggingConfig{ApplicationLogLevel: types.ApplicationLogLevelDebug, SystemLogLevel: types.SystemLogLevelWarn}
		}, []string{"ApplicationLogLevel", "SystemLogLevel", "remove them from the request"}},
		{"Code.SourceKMSKeyArn", func(in *lambda.CreateFunctionInput) {
			in.Code.SourceKMSKeyArn = aws.String("arn:aws:kms:us-east-1:000000000000:key/k")
		}, []string{"SourceKMSKeyArn"}},
		{"PublishTo", func(in *lambda.CreateFunctionInput) {
			in.PublishTo = types.FunctionVersionLatestPublishedLatestPublished
		},
			[]string{"PublishTo"}},
		{"DurableConfig", func(in *lambda.CreateFunctionInput) {
			in.DurableConfig = &types.DurableConfig{ExecutionTimeout: aws.Int32(60)}
		},
			[]string{"DurableConfig"}},
		{"TenancyConfig", func(in *lambda.CreateFunctionInput) {
			in.TenancyConfig = &types.TenancyConfig{TenantIsolationMode: types.TenantIsolationModePerTenant}
		}, []string{"TenancyConfig", "remove it from the request"}},
	} {
		refused("CreateFunction("+c.what+")", create("g", c.edit), c.names...)
	}
	// Out of the model's range 512..10240 Lambda refuses it too: its ValidationException.
	err = create("g", func(in *lambda.CreateFunctionInput) {
		in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(20000)}
	})
	if errorCode(err) != "ValidationException" || !strings.Contains(err.Error(), "at 'ephemeralStorage.size'") {
		t.Errorf("CreateFunction(EphemeralStorage 20000): %v, want ValidationException at 'ephemeralStorage.size'", err)
	}

	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("f"),
		EphemeralStorage: &types.EphemeralStorage{Size: aws.Int32(1024)}})
	refused("UpdateFunctionConfiguration(EphemeralStorage 1024)", err, "EphemeralStorage")
	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("f"),
		LoggingConfig: &types.LoggingConfig{LogFormat: types.LogFormatText, LogGroup: aws.String("/aws/lambda/custom"), ApplicationLogLevel: types.ApplicationLogLevelInfo}})
	refused("UpdateFunctionConfiguration(LoggingConfig)", err, "LogGroup", "ApplicationLogLevel")
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("f"),
		LoggingConfig:    &types.LoggingConfig{LogFormat: types.LogFormatText, LogGroup: aws.String("/aws/lambda/f")},
		EphemeralStorage: &types.EphemeralStorage{Size: aws.Int32(512)}}); err != nil {
		t.Errorf("UpdateFunctionConfiguration with the defaults: %v", err)
	}

	_, err = c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("f"), ZipFile: zip,
		Architectures: []types.Architecture{other}})
	refused("UpdateFunctionCode(the other architecture)", err, "Architectures")
	_, err = c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("f"), ZipFile: zip,
		SourceKMSKeyArn: aws.String("arn:aws:kms:us-east-1:000000000000:key/k")})
	refused("UpdateFunctionCode(SourceKMSKeyArn)", err, "SourceKMSKeyArn", "remove it from the request")
	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("f"),
		KMSKeyArn: aws.String("arn:aws:kms:us-east-1:000000000000:key/x")})
	refused("UpdateFunctionConfiguration(KMSKeyArn)", err, "Portico does not support KMSKeyArn: remove it from the request")
	_, err = c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("f"), ZipFile: zip,
		PublishTo: types.FunctionVersionLatestPublishedLatestPublished})
	refused("UpdateFunctionCode(PublishTo)", err, "PublishTo")
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("f"), ZipFile: zip,
		Architectures: []types.Architecture{host}}); err != nil {
		t.Errorf("UpdateFunctionCode(the host's architecture): %v", err)
	}
}
