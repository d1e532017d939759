package admin_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"

	"github.com/portico-dev/portico/internal/testkit"
)

// TestStageZeroThrottleAWSCLI drives `aws apigateway update-stage` with a
// throttle of rateLimit 0 and burstLimit 0, for every method (*/*) and then
// for one (/~1items/GET over a */* taken off again with -1): the methods it
// covers answer 429 {"message":"Too Many Requests"}, the others pass, and
// get-stage shows 0 for what was set and -1 for what was not. The gateway
// read 0/0 as "not set" and let every request through.
func TestStageZeroThrottleAWSCLI(t *testing.T) {
	t.Parallel()
	aws2 := testkit.AWSCLI(t)
	re := startRelease(t)
	if _, err := re.ag.CreateDeployment(context.Background(), &apigateway.CreateDeploymentInput{RestApiId: aws.String(re.apiID),
		StageName: aws.String("prod"), Variables: map[string]string{"color": "blue"}}); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), aws2, append([]string{"--endpoint-url", re.env.AdminURL, "--output", "text", "apigateway"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=portico", "AWS_SECRET_ACCESS_KEY="+releaseToken, "AWS_DEFAULT_REGION=us-east-1",
			"AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws apigateway %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	status := func(path string) (int, string) {
		t.Helper()
		code, body, _ := re.call(t, path, nil)
		return code, body
	}
	const tooMany = `{"message":"Too Many Requests"}`
	if code, body := status("/color"); code != 200 {
		t.Fatalf("GET /color before the throttle: %d %s", code, body)
	}

	cli("update-stage", "--rest-api-id", re.apiID, "--stage-name", "prod", "--patch-operations",
		"op=replace,path=/*/*/throttling/rateLimit,value=0", "op=replace,path=/*/*/throttling/burstLimit,value=0")
	for _, path := range []string{"/color", "/items"} {
		if code, body := status(path); code != 429 || body != tooMany {
			t.Fatalf("GET %s under */* 0/0: %d %s, want 429 %s", path, code, body, tooMany)
		}
	}
	if got := cli("get-stage", "--rest-api-id", re.apiID, "--stage-name", "prod",
		"--query", `methodSettings."*/*".[throttlingRateLimit,throttlingBurstLimit]`); strings.Join(strings.Fields(got), " ") != "0 0" {
		t.Fatalf("get-stage */* throttle: %q, want 0 0", got)
	}

	cli("update-stage", "--rest-api-id", re.apiID, "--stage-name", "prod", "--patch-operations",
		"op=replace,path=/*/*/throttling/rateLimit,value=-1", "op=replace,path=/*/*/throttling/burstLimit,value=-1",
		"op=replace,path=/~1items/GET/throttling/rateLimit,value=0", "op=replace,path=/~1items/GET/throttling/burstLimit,value=0")
	if code, body := status("/items"); code != 429 || body != tooMany {
		t.Fatalf("GET /items under its own 0/0: %d %s, want 429 %s", code, body, tooMany)
	}
	if code, body := status("/color"); code != 200 {
		t.Fatalf("GET /color after */* went back to -1: %d %s", code, body)
	}
	got := cli("get-stage", "--rest-api-id", re.apiID, "--stage-name", "prod",
		"--query", `[methodSettings."*/*".[throttlingRateLimit,throttlingBurstLimit], methodSettings."~1items/GET".[throttlingRateLimit,throttlingBurstLimit]]`)
	if strings.Join(strings.Fields(got), " ") != "-1 -1 0 0" {
		t.Fatalf("get-stage throttles: %q, want */* -1 -1 and /items/GET 0 0", got)
	}
}

// TestStageRateWithoutBurstServes: a method whose throttle rate alone is set
// (update-stage .../throttling/rateLimit, the burst left out) reads back
// throttlingBurstLimit -1 ("not set") and is served: the burst it does not
// set is inherited ("*/*", then the account's 5,000), as a new method-settings
// entry on API Gateway takes the values it does not set from the defaults.
// It answered 429 to every request. An HTTP API route whose rate alone is set
// is served the same way.
func TestStageRateWithoutBurstServes(t *testing.T) {
	t.Parallel()
	re := startRelease(t)
	ctx := t.Context()
	if _, err := re.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(re.apiID),
		StageName: aws.String("prod"), Variables: map[string]string{"color": "blue"}}); err != nil {
		t.Fatal(err)
	}
	out := re.update(t, op(agtypes.OpReplace, "/~1items/GET/throttling/rateLimit", "100"))
	ms := out.MethodSettings["~1items/GET"]
	if ms.ThrottlingRateLimit != 100 || ms.ThrottlingBurstLimit != -1 {
		t.Fatalf("readback rate %v burst %v, want 100 and -1", ms.ThrottlingRateLimit, ms.ThrottlingBurstLimit)
	}
	for range 5 {
		if code, body, _ := re.call(t, "/items", nil); code != 200 {
			t.Fatalf("GET /items under a rate without burst: %d %s, want 200", code, body)
		}
	}

	e, id := startV2HTTPRoutes(t)
	if _, err := e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: aws.String(id), StageName: aws.String("prod"),
		RouteSettings: map[string]v2types.RouteSettings{"GET /a": {ThrottlingRateLimit: aws.Float64(50)}}}); err != nil {
		t.Fatal(err)
	}
	wantStatuses(t, "GET /a under a rate without burst", gets(t, e, "/"+id+"/prod/a", 3), 200, 200, 200)
}
