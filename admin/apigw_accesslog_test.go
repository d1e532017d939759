package admin_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/smithy-go"
)

// TestAccessLogThroughUpdateStage sets a stage's access log with update-stage's
// /accessLogSettings/format and /destinationArn (an unknown variable refused,
// named), serves a request, finds its line, and removes the settings.
func TestAccessLogThroughUpdateStage(t *testing.T) {
	re := startRelease(t)
	ctx := context.Background()
	if _, err := re.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod"),
		Variables: map[string]string{"color": "blue"}}); err != nil {
		t.Fatal(err)
	}
	_, err := re.ag.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod"),
		PatchOperations: []agtypes.PatchOperation{op(agtypes.OpReplace, "/accessLogSettings/format", "$context.requestId $context.nope")}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" || !strings.Contains(ae.ErrorMessage(), "$context.nope") {
		t.Fatalf("an unknown variable: %v", err)
	}
	logFile := filepath.Join(t.TempDir(), "prod.log")
	out := re.update(t, op(agtypes.OpReplace, "/accessLogSettings/format", "$context.httpMethod $context.resourcePath $context.status"),
		op(agtypes.OpReplace, "/accessLogSettings/destinationArn", "file://"+logFile))
	if out.AccessLogSettings == nil || aws.ToString(out.AccessLogSettings.DestinationArn) != "file://"+logFile {
		t.Fatalf("access log settings %+v", out.AccessLogSettings)
	}
	if code, body, _ := re.call(t, "/color", nil); code != 200 {
		t.Fatalf("GET /color: %d %s", code, body)
	}
	re.env.Stop() // writes what is queued
	raw, err := os.ReadFile(logFile)
	if err != nil || string(raw) != "GET /color 200\n" {
		t.Fatalf("access log %q, %v", raw, err)
	}
	re.env.Restart()
	if out := re.update(t, op(agtypes.OpRemove, "/accessLogSettings", "")); out.AccessLogSettings != nil {
		t.Errorf("after remove: %+v", out.AccessLogSettings)
	}
}
