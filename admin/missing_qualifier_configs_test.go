package admin_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestConfigsOfAMissingQualifierAreFunctionNotFound: Get, Put and Delete of a
// provisioned-concurrency or event-invoke configuration for a version or
// alias that does not exist answer as Lambda does, 404
// ResourceNotFoundException "Function not found" (or "Cannot find alias"),
// naming the versions or aliases there are, all alike; the "no config"
// answers are only for one that exists, whose advice then works.
func TestConfigsOfAMissingQualifierAreFunctionNotFound(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := lambda.NewFromConfig(sdkConfig(env.AdminURL, "secret"))
	createIdle(t, ctx, c, "mq", "hi")
	if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("mq")}); err != nil {
		t.Fatal(err)
	}
	const pc = "/2019-09-30/functions/mq/provisioned-concurrency?Qualifier="
	const eic = "/2019-09-25/functions/mq/event-invoke-config?Qualifier="
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		errType, says            string
	}{
		{"get pc of version 99", "GET", pc + "99", "", 404, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:000000000000:function:mq:99 (versions of mq: $LATEST, 1)"},
		{"get pc of a missing alias", "GET", pc + "nosuch", "", 404, "ResourceNotFoundException", "Cannot find alias arn: arn:aws:lambda:us-east-1:000000000000:function:mq:nosuch (mq has no aliases)"},
		{"delete pc of version 99", "DELETE", pc + "99", "", 404, "ResourceNotFoundException", "(versions of mq: $LATEST, 1)"},
		{"put pc of version 99", "PUT", pc + "99", `{"ProvisionedConcurrentExecutions":1}`, 404, "ResourceNotFoundException", "(versions of mq: $LATEST, 1)"},
		{"get pc of version 1, unset", "GET", pc + "1", "", 404, "ProvisionedConcurrencyConfigNotFoundException", "No Provisioned Concurrency Config found"},
		{"get eic of version 99", "GET", eic + "99", "", 404, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:000000000000:function:mq:99 (versions of mq: $LATEST, 1)"},
		{"delete eic of a missing alias", "DELETE", eic + "nosuch", "", 404, "ResourceNotFoundException", "Cannot find alias arn:"},
		{"put eic of version 99", "PUT", eic + "99", `{"MaximumRetryAttempts":1}`, 404, "ResourceNotFoundException", "(versions of mq: $LATEST, 1)"},
		{"get eic of version 1, unset", "GET", eic + "1", "", 404, "ResourceNotFoundException", "doesn't have an EventInvokeConfig: create one with PutFunctionEventInvokeConfig"},
		{"put eic of version 1", "PUT", eic + "1", `{"MaximumRetryAttempts":1}`, 200, "", `"MaximumRetryAttempts":1`},
	} {
		req, err := http.NewRequestWithContext(ctx, tc.method, env.AdminURL+tc.path, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("X-Amzn-Errortype") != tc.errType || !strings.Contains(string(raw), tc.says) {
			t.Errorf("%s: %d %s %s\nwant %d %s saying %s", tc.name, resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), raw, tc.status, tc.errType, tc.says)
		}
	}
}
