// Command codedeployhook is a traffic shift's hook, as SAM users write them:
// it reports its status to CodeDeploy with the AWS SDK for Go v2, the
// status being its HOOK_STATUS (Succeeded or Failed; "none" reports
// nothing). The endpoint comes from AWS_ENDPOINT_URL_CODEDEPLOY, the
// credentials from the sandbox's environment.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// event is CodeDeploy's event for a Lambda hook.
type event struct {
	DeploymentID                  string `json:"DeploymentId"`
	LifecycleEventHookExecutionID string `json:"LifecycleEventHookExecutionId"`
}

func handler(ctx context.Context, ev event) error {
	status := os.Getenv("HOOK_STATUS")
	if status == "none" {
		return nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	_, err = codedeploy.NewFromConfig(cfg).PutLifecycleEventHookExecutionStatus(ctx, &codedeploy.PutLifecycleEventHookExecutionStatusInput{
		DeploymentId:                  aws.String(ev.DeploymentID),
		LifecycleEventHookExecutionId: aws.String(ev.LifecycleEventHookExecutionID),
		Status:                        types.LifecycleEventStatus(status),
	})
	return err
}

func main() { lambda.Start(handler) }
