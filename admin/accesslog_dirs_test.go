package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestAccessLogDestinationOutsideAllowedDirsRefused: apigateway update-stage,
// apigatewayv2 create-stage and update-stage and Portico's access-log PUT
// refuse a file destination outside --access-log-dir, the server's own
// store (though its directory is in an allowed one), a link in an allowed
// directory to the data directory, /proc/self/fd/1 and a function's log
// file (DATA-DIR/logs/FUNCTION.log), with a
// BadRequestException (and POST /portico/v1/access-log/check, which
// portico deploy asks at its plan, says so) naming the allowed directories and the setting; a
// file in an allowed directory is taken (obs11).
func TestAccessLogDestinationOutsideAllowedDirsRefused(t *testing.T) {
	t.Parallel()
	allowed, outside := t.TempDir(), t.TempDir()
	data := filepath.Join(allowed, "data")
	env := apptest.Start(t, apptest.Options{DataDir: data, Settings: func(s *app.Settings) {
		s.AdminToken = v2Token
		s.AccessLogDirs = []string{allowed}
	}})
	if err := os.Symlink(data, filepath.Join(allowed, "datalink")); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	cfg := sdkConfig(env.AdminURL, v2Token)
	v1, v2 := apigateway.NewFromConfig(cfg), apigatewayv2.NewFromConfig(cfg)

	rest := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(v1.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("logged")}))
	root := must[*apigateway.GetResourcesOutput](t, "GetResources")(v1.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: rest.Id}))
	rid := root.Items[0].Id
	must[*apigateway.PutMethodOutput](t, "PutMethod")(v1.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: rest.Id, ResourceId: rid,
		HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))
	must[*apigateway.PutIntegrationOutput](t, "PutIntegration")(v1.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: rest.Id, ResourceId: rid,
		HttpMethod: aws.String("GET"), Type: agtypes.IntegrationTypeMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}))
	must[*apigateway.CreateDeploymentOutput](t, "CreateDeployment")(v1.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: rest.Id, StageName: aws.String("dev")}))
	httpAPI := must[*apigatewayv2.CreateApiOutput](t, "CreateApi")(v2.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("h"), ProtocolType: v2types.ProtocolTypeHttp}))
	must[*apigatewayv2.CreateStageOutput](t, "CreateStage")(v2.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: httpAPI.ApiId, StageName: aws.String("dev")}))
	c := env.Client()

	store := filepath.Join(data, "portico.db")
	for dest, want := range map[string]string{
		store:             "Portico's own files",
		"file://" + store: "Portico's own files",
		filepath.Join(allowed, "datalink", "x.db"): "Portico's own files",
		filepath.Join(outside, "authorized_keys"):  "not in a directory access logs may be written to (" + allowed + ")",
		filepath.Join(allowed, "..", "escape.log"): "--access-log-dir",
		"/proc/self/fd/1":                          "is in /proc",
		// A function's log file, or one a function created later would
		// write (obs16).
		filepath.Join(data, "logs", "hello.log"): "is, or would be, a function's log file",
	} {
		var ae smithy.APIError
		_, err := v1.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: rest.Id, StageName: aws.String("dev"),
			PatchOperations: []agtypes.PatchOperation{op(agtypes.OpReplace, "/accessLogSettings/format", "$context.requestId"),
				op(agtypes.OpReplace, "/accessLogSettings/destinationArn", dest)}})
		if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" || !strings.Contains(ae.ErrorMessage(), want) {
			t.Errorf("apigateway update-stage to %q: %v, want BadRequestException: %s", dest, err, want)
		}
		set := &v2types.AccessLogSettings{Format: aws.String("$context.requestId"), DestinationArn: aws.String(dest)}
		_, err = v2.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: httpAPI.ApiId, StageName: aws.String("dev"), AccessLogSettings: set})
		if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" || !strings.Contains(ae.ErrorMessage(), want) {
			t.Errorf("apigatewayv2 update-stage to %q: %v, want BadRequestException: %s", dest, err, want)
		}
		_, err = v2.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: httpAPI.ApiId, StageName: aws.String("other"), AccessLogSettings: set})
		if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" {
			t.Errorf("apigatewayv2 create-stage to %q: %v, want BadRequestException", dest, err)
		}
		_, err = c.Do(ctx, http.MethodPut, "/portico/v1/apis/"+aws.ToString(rest.Id)+"/stages/dev/access-log", nil,
			map[string]string{"format": "clf", "destinationArn": dest}, nil)
		if ce := (*client.APIError)(nil); !errors.As(err, &ce) || ce.Status != http.StatusBadRequest || !strings.Contains(err.Error(), want) {
			t.Errorf("PUT access-log to %q: %v, want 400: %s", dest, err, want)
		}
		// The check portico deploy asks before anything changes.
		_, err = c.Do(ctx, http.MethodPost, "/portico/v1/access-log/check", nil, map[string]string{"destinationArn": dest}, nil)
		if ce := (*client.APIError)(nil); !errors.As(err, &ce) || ce.Status != http.StatusBadRequest || !strings.Contains(err.Error(), want) {
			t.Errorf("POST access-log/check of %q: %v, want 400: %s", dest, err, want)
		}
	}
	for _, dest := range []string{filepath.Join(allowed, "logs", "dev.log"), filepath.Join(data, "logs", "access", "rest.log"), "stdout"} {
		if _, err := c.Do(ctx, http.MethodPost, "/portico/v1/access-log/check", nil, map[string]string{"destinationArn": dest}, nil); err != nil {
			t.Errorf("POST access-log/check of %q: %v, want 200", dest, err)
		}
	}
	ok := filepath.Join(allowed, "logs", "dev.log")
	set := &v2types.AccessLogSettings{Format: aws.String("$context.requestId"), DestinationArn: aws.String(ok)}
	must[*apigatewayv2.UpdateStageOutput](t, "UpdateStage")(v2.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: httpAPI.ApiId, StageName: aws.String("dev"), AccessLogSettings: set}))
	must[*apigateway.UpdateStageOutput](t, "UpdateStage")(v1.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: rest.Id, StageName: aws.String("dev"),
		PatchOperations: []agtypes.PatchOperation{op(agtypes.OpReplace, "/accessLogSettings/format", "$context.requestId"),
			op(agtypes.OpReplace, "/accessLogSettings/destinationArn", filepath.Join(data, "logs", "access", "rest.log"))}}))
}

// TestStoredAccessLogOutsideAllowedDirsDropped: a destination stored
// outside the allowed directories (as by an older build, which did not check)
// is not written after a restart with --access-log-dir elsewhere: the stage
// still serves, and one error names it (obs11).
func TestStoredAccessLogOutsideAllowedDirsDropped(t *testing.T) {
	t.Parallel()
	old, allowed := t.TempDir(), t.TempDir()
	data := t.TempDir()
	logFile := filepath.Join(old, "dev.log")
	first := apptest.Start(t, apptest.Options{DataDir: data, Settings: func(s *app.Settings) { s.AccessLogDirs = []string{old} }})
	c := first.Client()
	ctx := context.Background()
	var api struct {
		ID string `json:"id"`
	}
	do := func(method, path string, body, out any) {
		t.Helper()
		resp, err := c.Do(ctx, method, path, nil, body, nil)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		if out != nil {
			if err := json.Unmarshal(resp.Body, out); err != nil {
				t.Fatal(err)
			}
		}
	}
	do(http.MethodPost, "/portico/v1/apis", map[string]any{"name": "logged", "protocol": "REST"}, &api)
	base := "/portico/v1/apis/" + api.ID
	do(http.MethodPost, base+"/routes", map[string]any{"method": "GET", "path": "/pets", "integration": map[string]any{"type": "MOCK",
		"requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
		"responses":        map[string]any{"default": map[string]any{"statusCode": "200"}}}}, nil)
	do(http.MethodPost, base+"/deployments", map[string]any{"stageName": "dev"}, nil)
	do(http.MethodPut, base+"/stages/dev/access-log", map[string]string{"format": "$context.requestId", "destinationArn": logFile}, nil)
	first.Stop()

	logs := &testkit.LockedBuffer{}
	second := apptest.Start(t, apptest.Options{DataDir: data, LogWriter: logs, Settings: func(s *app.Settings) { s.AccessLogDirs = []string{allowed} }})
	for range 2 {
		resp, err := http.Get(second.GatewayURL + "/" + api.ID + "/dev/pets")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /pets: %d", resp.StatusCode)
		}
	}
	second.Stop()
	if raw, err := os.ReadFile(logFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stored destination outside the allowed directories was written: %q, %v", raw, err)
	}
	if n := strings.Count(logs.String(), "stage access log destination is outside the allowed directories"); n != 1 || !strings.Contains(logs.String(), "stage=dev") {
		t.Errorf("%d errors, want 1 naming the stage:\n%s", n, logs.String())
	}
}
