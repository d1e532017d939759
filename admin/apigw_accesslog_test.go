package admin_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/smithy-go"
)

// TestAccessLogThroughUpdateStage sets a stage's access log with update-stage's
// /accessLogSettings/format and /destinationArn (an unknown variable refused,
// named; a format without a request id and a directory refused, as API
// Gateway refuses them), serves a request, finds its line, and removes the
// settings.
func TestAccessLogThroughUpdateStage(t *testing.T) {
	t.Parallel()
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
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo") // nobody reads it: its writer would block for good (obs6)
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ path, value, want string }{
		{"/accessLogSettings/format", "$context.httpMethod $context.resourcePath $context.status",
			"must include at least $context.requestId or $context.extendedRequestId: add $context.requestId"},
		// A format's own line breaks and escape sequences made one request
		// several lines and reached a terminal running tail -f (obs26).
		{"/accessLogSettings/format", "{\"id\":\"$context.requestId\",\n\"st\":\"$context.status\"}", `holds a line feed (\n) at byte 27: remove it`},
		{"/accessLogSettings/format", "$context.requestId \x1b[2J", "holds an escape character (ESC, U+001B) at byte 19: remove it"},
		{"/accessLogSettings/destinationArn", dir, "is a directory"},
		{"/accessLogSettings/destinationArn", "file://" + dir, "is a directory"},
		{"/accessLogSettings/destinationArn", fifo, "is not a regular file (a FIFO)"},
	} {
		_, err = re.ag.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod"),
			PatchOperations: []agtypes.PatchOperation{op(agtypes.OpReplace, bad.path, bad.value)}})
		if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" || !strings.Contains(ae.ErrorMessage(), bad.want) {
			t.Errorf("replace %s %q: %v, want BadRequestException: %s", bad.path, bad.value, err, bad.want)
		}
	}
	logFile := filepath.Join(dir, "prod.log")
	// A format without a destination (or the reverse) would be stored and
	// write nothing: refused, as Portico's own access-log route refuses it,
	// naming what to set in the same patch (r-stages28 #5).
	for _, half := range []struct{ path, value, want string }{
		{"/accessLogSettings/format", "$context.requestId", "replace /accessLogSettings/destinationArn in the same patch"},
		{"/accessLogSettings/destinationArn", "file://" + logFile, "replace /accessLogSettings/format in the same patch"},
	} {
		_, err = re.ag.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod"),
			PatchOperations: []agtypes.PatchOperation{op(agtypes.OpReplace, half.path, half.value)}})
		if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" || !strings.Contains(ae.ErrorMessage(), half.want) {
			t.Errorf("replace %s alone: %v, want BadRequestException: %s", half.path, err, half.want)
		}
	}
	if st, err := re.ag.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod")}); err != nil || st.AccessLogSettings != nil {
		t.Fatalf("after the refusals: access log settings %+v, %v", st.AccessLogSettings, err)
	}
	re.update(t, op(agtypes.OpReplace, "/accessLogSettings/format", "$context.requestId"),
		op(agtypes.OpReplace, "/accessLogSettings/destinationArn", "file://"+logFile))
	// With a destination set, the format alone may change.
	out := re.update(t, op(agtypes.OpReplace, "/accessLogSettings/format", "$context.httpMethod $context.resourcePath $context.status $context.extendedRequestId"))
	if out.AccessLogSettings == nil || aws.ToString(out.AccessLogSettings.DestinationArn) != "file://"+logFile {
		t.Fatalf("access log settings %+v", out.AccessLogSettings)
	}
	code, body, hdr := re.call(t, "/color", nil)
	if code != 200 {
		t.Fatalf("GET /color: %d %s", code, body)
	}
	re.env.Stop() // writes what is queued
	raw, err := os.ReadFile(logFile)
	if err != nil || string(raw) != "GET /color 200 "+hdr.Get("x-amz-apigw-id")+"\n" {
		t.Fatalf("access log %q, %v", raw, err)
	}
	re.env.Restart()
	if out := re.update(t, op(agtypes.OpRemove, "/accessLogSettings", "")); out.AccessLogSettings != nil {
		t.Errorf("after remove: %+v", out.AccessLogSettings)
	}
}

// TestV2AccessLogNeedsRequestID: apigatewayv2 create-stage and update-stage
// refuse an access log format without $context.requestId (what AWS requires
// of HTTP APIs; $context.extendedRequestId alone is not enough there) and a
// directory as destination, with BadRequestException; a preset is taken.
func TestV2AccessLogNeedsRequestID(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	api := must[*apigatewayv2.CreateApiOutput](t, "CreateApi")(e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("logged"), ProtocolType: "HTTP"}))
	dir := t.TempDir()
	var ae smithy.APIError
	for _, bad := range []struct{ format, dest, want string }{
		{"$context.httpMethod $context.routeKey $context.status", "stdout", "must include at least $context.requestId: add $context.requestId"},
		{"$context.extendedRequestId $context.status", "stdout", "must include at least $context.requestId"},
		{"$context.requestId $context.status\r $context.path", "stdout", `holds a carriage return (\r) at byte 34: remove it`},
		{"$context.requestId", dir, "is a directory"},
		// A port syslog can never reach, and credentials it cannot use,
		// were taken, and every line then failed or went without them (obs9).
		{"$context.requestId", "syslog://127.0.0.1:99999", "port 99999 is not a port number"},
		{"$context.requestId", "syslog://127.0.0.1:0", "port 0 is not a port number"},
		{"$context.requestId", "syslog://u:PASS_obs9@127.0.0.1:514", "syslog carries no user or password"},
	} {
		set := &v2types.AccessLogSettings{Format: aws.String(bad.format), DestinationArn: aws.String(bad.dest)}
		_, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("dev"), AccessLogSettings: set})
		if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" || !strings.Contains(ae.ErrorMessage(), bad.want) {
			t.Errorf("create-stage with %q to %q: %v, want BadRequestException: %s", bad.format, bad.dest, err, bad.want)
		}
		if err != nil && strings.Contains(err.Error(), "PASS_obs9") {
			t.Errorf("create-stage to %q: the refusal shows the password: %v", bad.dest, err)
		}
	}
	must[*apigatewayv2.CreateStageOutput](t, "CreateStage")(e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("dev"),
		AccessLogSettings: &v2types.AccessLogSettings{Format: aws.String("clf"), DestinationArn: aws.String(filepath.Join(dir, "dev.log"))}}))
	_, err := e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: api.ApiId, StageName: aws.String("dev"),
		AccessLogSettings: &v2types.AccessLogSettings{Format: aws.String("$context.status"), DestinationArn: aws.String("stdout")}})
	if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" || !strings.Contains(ae.ErrorMessage(), "add $context.requestId") {
		t.Errorf("update-stage without a request id: %v, want BadRequestException", err)
	}
}
