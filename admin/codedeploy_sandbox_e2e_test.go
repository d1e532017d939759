package admin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestCodeDeploySandboxReportOnUnknownDeployment: a hook's sandbox reporting
// with the SDK's CodeDeploy client, signed with its own credentials (session
// token included), on a deployment that does not exist gets CodeDeploy's
// DeploymentDoesNotExistException, not a refused signature, whether or not
// the admin API has a token.
func TestCodeDeploySandboxReportOnUnknownDeployment(t *testing.T) {
	t.Parallel()
	zip := apptest.ZipProgram(t, "./cmd/portico/testdata/codedeployhook")
	for _, tok := range []string{"", "admin-token-for-codedeploy-tests-0123456789"} {
		env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = tok }})
		c := sdk(env)
		if tok != "" {
			c = lambda.NewFromConfig(sdkConfig(env.AdminURL, tok))
		}
		_, err := c.CreateFunction(context.Background(), &lambda.CreateFunctionInput{FunctionName: aws.String("hook"), Runtime: types.RuntimeProvidedal2023,
			Handler: aws.String("bootstrap"), Role: aws.String("arn:aws:iam::000000000000:role/x"), Code: &types.FunctionCode{ZipFile: zip},
			Environment: &types.Environment{Variables: map[string]string{"HOOK_STATUS": "Succeeded", "AWS_ENDPOINT_URL_CODEDEPLOY": env.AdminURL}}})
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("hook"),
			Payload: []byte(`{"DeploymentId":"d-NOSUCHONE","LifecycleEventHookExecutionId":"x"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if p := string(out.Payload); !strings.Contains(p, "StatusCode: 400") || !strings.Contains(p, "DeploymentDoesNotExistException") {
			t.Errorf("admin token %v: the hook got %s", tok != "", p)
		}
	}
}
