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

// TestLambdaMemberNamesAreCaseSensitive: Lambda's JSON protocol matches member
// names exactly and ignores members it does not know. encoding/json matched
// them in any case, so {"timeout":7} set the timeout, which Lambda leaves as
// it is: a key naming a member in another case is now refused (400, naming
// the member), anywhere in the body; unknown members are still ignored, as
// Lambda ignores them; map keys (environment variable names) are data.
func TestLambdaMemberNamesAreCaseSensitive(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := lambda.NewFromConfig(sdkConfig(env.AdminURL, "secret"))
	createIdle(t, ctx, c, "mc", "hi")
	if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("mc")}); err != nil {
		t.Fatal(err)
	}
	fn := "/2015-03-31/functions/mc"
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		says                     string
	}{
		{"a miscased member", "PUT", fn + "/configuration", `{"timeout":7}`, 400, `"timeout" is not one of Lambda's`},
		{"beside its right case", "PUT", fn + "/configuration", `{"Timeout":5,"TIMEOUT":7}`, 400, `send "Timeout"`},
		{"nested", "PUT", fn + "/configuration", `{"Environment":{"variables":{"A":"b"}}}`, 400, `send "Variables"`},
		{"in a list", "PUT", fn + "/configuration", `{"FileSystemConfigs":[{"arn":"v","LocalMountPath":"/mnt/v"}]}`, 400, `send "Arn"`},
		{"an alias's routing", "POST", fn + "/aliases", `{"Name":"a","FunctionVersion":"1","RoutingConfig":{"additionalVersionWeights":{"1":0.5}}}`, 400, `send "AdditionalVersionWeights"`},
		{"a code member", "PUT", fn + "/code", `{"zipFile":"aGVsbG8="}`, 400, `send "ZipFile"`},
		{"an unknown member is ignored", "PUT", fn + "/configuration", `{"Timeout":8,"Enviroment":{"Variables":{"A":"b"}}}`, 200, `"Timeout":8`},
		{"a variable's name is data", "PUT", fn + "/configuration", `{"Environment":{"Variables":{"timeout":"x","Timeout":"y"}}}`, 200, `"timeout":"x"`},
		{"VpcConfig as Lambda spells it", "PUT", fn + "/configuration", `{"VpcConfig":{"SubnetIds":["s"],"SecurityGroupIds":["g"]}}`, 400, "Portico does not support VpcConfig"},
		{"an unknown member elsewhere", "PUT", "/2017-10-31/functions/mc/concurrency", `{"ReservedConcurrentExecutions":2,"Bogus":1}`, 200, `"ReservedConcurrentExecutions":2`},
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
		if resp.StatusCode != tc.status || !strings.Contains(strings.ReplaceAll(string(raw), `\"`, `"`), tc.says) {
			t.Errorf("%s: %d %s\nwant %d saying %s", tc.name, resp.StatusCode, raw, tc.status, tc.says)
		}
	}
	cur, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("mc")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(cur.Timeout) != 8 {
		t.Errorf("Timeout %d after the refused miscased updates, want 8 (the one accepted)", aws.ToInt32(cur.Timeout))
	}
}
