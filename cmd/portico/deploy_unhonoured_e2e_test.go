package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestDeployRefusesUnhonouredFunctionSettings: the function settings Portico
// cannot honour, and that would change what the function runs or what
// protects it if dropped (and ImageConfig on a Zip function, which runs its
// bootstrap), fail `portico deploy` before anything is made,
// naming the property and why, as the Lambda API refuses them; their
// harmless values deploy. An AWS::Lambda::Permission whose SourceArn would
// narrow which APIs may call the function is refused too (it would not be
// applied), one that grants the gateway what it has anyway deploys with a
// warning.
func TestDeployRefusesUnhonouredFunctionSettings(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := t.TempDir()
	boot, err := os.ReadFile(filepath.Join(apptest.Sample(t, "hello"), "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "hello", "bootstrap"), boot, 0o755)
	host, other := "x86_64", "arm64"
	if runtime.GOARCH == "arm64" {
		host, other = other, host
	}
	template := func(props, extra string) string {
		return "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n" +
			"      FunctionName: unhonoured\n      CodeUri: hello\n      Runtime: provided.al2023\n      Handler: bootstrap\n" + props + extra
	}
	deploy := func(text string) (string, error) {
		path := filepath.Join(dir, "template.yaml")
		writeFile(t, path, []byte(text), 0o600)
		return cliErr(env, "deploy", "--template", path, "--stack", "u")
	}
	exists := func() bool {
		_, err := cliErr(env, "fn", "get", "unhonoured")
		return err == nil
	}
	permission := func(props string) string {
		return "  Perm:\n    Type: AWS::Lambda::Permission\n    Properties:\n      FunctionName: !Ref Fn\n" +
			"      Action: lambda:InvokeFunction\n" + props
	}

	for _, tc := range []struct{ name, props, extra, want string }{
		{"ImageConfig on a Zip function", "      ImageConfig: {EntryPoint: [/bin/other], Command: [x], WorkingDirectory: /tmp}\n", "", "ImageConfig is only for PackageType Image"},
		{"CodeSigningConfigArn", "      CodeSigningConfigArn: arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef0\n", "", "does not verify code signatures"},
		{"DeadLetterQueue", "      DeadLetterQueue: {Type: SQS, TargetArn: arn:aws:sqs:us-east-1:000000000000:dlq}\n", "", "failed asynchronous events"},
		{"VpcConfig", "      VpcConfig: {SubnetIds: [subnet-1], SecurityGroupIds: [sg-1]}\n", "", "no VPC"},
		{"KmsKeyArn", "      KmsKeyArn: arn:aws:kms:us-east-1:000000000000:key/k\n", "", "KMS"},
		{"Tracing", "      Tracing: Active\n", "", "X-Ray"},
		{"EphemeralStorage", "      EphemeralStorage: {Size: 2048}\n", "", "/tmp"},
		{"SnapStart", "      SnapStart: {ApplyOn: PublishedVersions}\n", "", "snapshots"},
		{"Layers", "      Layers: [arn:aws:lambda:us-east-1:000000000000:layer:l:1]\n", "", "/opt"},
		{"Architectures", "      Architectures: [" + other + "]\n", "", "Architectures"},
		{"Permission", "", permission("      Principal: apigateway.amazonaws.com\n      SourceArn: arn:aws:execute-api:us-east-1:000000000000:abc/*\n"), "add-permission"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := deploy(template(tc.props, tc.extra))
			if err == nil || !strings.Contains(out+err.Error(), tc.want) {
				t.Fatalf("deploy: %v, want a refusal naming %q\n%s", err, tc.want, out)
			}
			if exists() {
				t.Fatal("the refused deploy made the function")
			}
		})
	}

	// What asks for nothing Portico lacks deploys; an inert setting warns.
	harmless := "      Architectures: [" + host + "]\n      Tracing: PassThrough\n      EphemeralStorage: {Size: 512}\n" +
		"      SnapStart: {ApplyOn: None}\n      LoggingConfig: {LogFormat: JSON}\n"
	out, err := deploy(template(harmless, permission("      Principal: apigateway.amazonaws.com\n")))
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	for _, want := range []string{"property LoggingConfig is not supported by Portico and is ignored: the function's log stays text",
		"Perm (AWS::Lambda::Permission): accepted and ignored"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	if !exists() {
		t.Fatal("the function was not made")
	}
}
