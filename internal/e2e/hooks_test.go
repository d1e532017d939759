package e2e_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway"
)

// TestHooksReportOnTheSandboxEndpoint: a traffic shift's hook written for
// CodeDeploy (aws-sdk-go-v2's codedeploy client, no endpoint configured, the
// sandbox's own credentials) reports its status on the gateway's
// sandbox-facing endpoint, which every sandbox is pointed at
// (AWS_ENDPOINT_URL_CODEDEPLOY) and which a container reaches where the
// loopback admin API is out of its reach; on the process runtime and on each
// container runtime whose daemon answers. There only a sandbox's credentials
// are taken, and only for the hook executions addressed to its function: a
// sandbox of another function is refused, as are unsigned calls and the
// admin token.
func TestHooksReportOnTheSandboxEndpoint(t *testing.T) {
	runtimes := append([]struct {
		name    string
		require func(testing.TB)
	}{{"process", func(testing.TB) {}}}, containerRuntimes...)
	for _, rt := range runtimes {
		t.Run(rt.name, func(t *testing.T) {
			rt.require(t)
			dataDir := t.TempDir()
			if rt.name != "process" {
				sweepInstance(t, rt.name, dataDir)
			}
			var (
				conns *connections.Manager
				gw    *gateway.Gateway
			)
			env := apptest.Start(t, apptest.Options{Runtime: rt.name, DataDir: dataDir, Populate: []any{&conns, &gw}})
			c := sdk(env.AdminURL)
			ctx := t.Context()

			createFunction(t, c, zipFunction("target", apptest.ZipSample(t, "hello")))
			publishWithAlias(t, c, "target")
			publish := func(greeting string) string {
				t.Helper()
				if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("target"),
					Environment: &types.Environment{Variables: map[string]string{"GREETING": greeting}}}); err != nil {
					t.Fatal(err)
				}
				v, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("target")})
				if err != nil {
					t.Fatal(err)
				}
				return aws.ToString(v.Version)
			}
			hook := apptest.ZipProgram(t, "./cmd/portico/testdata/codedeployhook")
			for name, status := range map[string]string{"reports": "Succeeded", "silent": "none"} {
				in := zipFunction(name, hook)
				in.Environment = &types.Environment{Variables: map[string]string{"HOOK_STATUS": status}}
				createFunction(t, c, in)
			}
			admin := env.Client()
			shift := func(version, hook string) {
				t.Helper()
				if _, _, err := admin.StartShift(ctx, "target", "live", client.ShiftInput{ToVersion: version, DeploymentType: "AllAtOnce",
					Hooks: client.ShiftHooks{PreTraffic: hook}}); err != nil {
					t.Fatal(err)
				}
			}
			wait := func(what string, done func(*client.Shift) bool) *client.Shift {
				t.Helper()
				deadline := time.Now().Add(2 * time.Minute)
				for {
					sh, _, err := admin.GetShift(ctx, "target", "live")
					if err != nil {
						t.Fatal(err)
					}
					if done(sh) {
						return sh
					}
					if sh.Ended() || time.Now().After(deadline) {
						t.Fatalf("waiting for %s: shift %+v", what, sh)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}

			// The hook reports by itself, with nothing configured.
			shift(publish("two"), "reports")
			sh := wait("the shift to succeed", func(sh *client.Shift) bool { return sh.Status == "Succeeded" })
			if sh.ToVersion != "2" {
				t.Fatalf("shift %+v", sh)
			}

			// A hook that does not report: its execution waits, and the
			// endpoint's rules are checked on it.
			shift(publish("three"), "silent")
			sh = wait("the silent hook's execution", func(sh *client.Shift) bool { return sh.HookExecution != nil && sh.Phase == "PreTraffic" })
			url := gw.SandboxEndpoints()["AWS_ENDPOINT_URL_CODEDEPLOY"]
			if !strings.HasPrefix(url, "https://") {
				t.Fatalf("AWS_ENDPOINT_URL_CODEDEPLOY = %q, want the sandbox-facing endpoint over HTTPS", url)
			}
			plain := "http://" + strings.TrimPrefix(url, "https://") // the same port answers plain HTTP
			report := func(id, secret, token string) error {
				cd := codedeploy.New(codedeploy.Options{Region: "us-east-1", BaseEndpoint: aws.String(plain), RetryMaxAttempts: 1,
					Credentials: credentials.NewStaticCredentialsProvider(id, secret, token)})
				_, err := cd.PutLifecycleEventHookExecutionStatus(ctx, &codedeploy.PutLifecycleEventHookExecutionStatusInput{
					DeploymentId: aws.String(sh.DeploymentID), LifecycleEventHookExecutionId: aws.String(sh.HookExecution.ID),
					Status: cdtypes.LifecycleEventStatusSucceeded})
				return err
			}
			errorCode := func(err error) string {
				if ae, ok := errors.AsType[smithy.APIError](err); ok {
					return ae.ErrorCode()
				}
				return ""
			}
			other := conns.Issue("target")
			if err := report(other.AccessKeyID, other.SecretAccessKey, other.SessionToken); errorCode(err) != "AccessDeniedException" ||
				!strings.Contains(err.Error(), "addressed to function silent") {
				t.Errorf("another function's sandbox reported: %v", err)
			}
			if err := report("portico", "any-token", ""); errorCode(err) != "UnrecognizedClientException" {
				t.Errorf("a key that is not a sandbox's: %v", err)
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, plain+"/", strings.NewReader(`{"deploymentId":"`+sh.DeploymentID+
				`","lifecycleEventHookExecutionId":"`+sh.HookExecution.ID+`","status":"Succeeded"}`))
			req.Header.Set("X-Amz-Target", "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus")
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "MissingAuthenticationTokenException") {
				t.Errorf("unsigned: %d %s", resp.StatusCode, body)
			}
			if sh, _, err := admin.GetShift(ctx, "target", "live"); err != nil || sh.Phase != "PreTraffic" {
				t.Fatalf("a refused report moved the shift: %+v %v", sh, err)
			}
			own := conns.Issue("silent")
			if err := report(own.AccessKeyID, own.SecretAccessKey, own.SessionToken); err != nil {
				t.Fatalf("the hook's own function's credentials: %v", err)
			}
			wait("the shift to succeed", func(sh *client.Shift) bool { return sh.Status == "Succeeded" && sh.ToVersion == "3" })
		})
	}
}
