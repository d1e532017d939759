package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestInvokeContinuesCallersTrace checks that Invoke continues the trace the
// caller's X-Amzn-Trace-Id names, as Lambda does in PassThrough mode: the
// runtime gets it as Lambda-Runtime-Trace-Id (aws-lambda-go sets
// _X_AMZN_TRACE_ID from it). A header of the wrong shape is ignored: the
// function gets a trace of its own.
func TestInvokeContinuesCallersTrace(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	if _, err := sdk(env).CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("traced"),
		Role:         aws.String("arn:aws:iam::000000000000:role/any"),
		Runtime:      types.RuntimeProvidedal2023,
		Handler:      aws.String("bootstrap"),
		Code:         &types.FunctionCode{ZipFile: apptest.ZipProgram(t, "./invoker/testdata/fn")},
	}); err != nil {
		t.Fatal(err)
	}
	const root = "Root=1-5759e988-bd862e3fe1be46a994272793"
	newTrace := regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$`)
	for _, tc := range []struct {
		name, header string // header: its lines, "\n" between them
		want         *regexp.Regexp
	}{
		{"root, parent, sampled", root + ";Parent=53995c3f42cd8ad8;Sampled=1", regexp.MustCompile(`^` + regexp.QuoteMeta(root+";Parent=53995c3f42cd8ad8;Sampled=1") + `$`)},
		{"not sampled", root + ";Parent=53995c3f42cd8ad8;Sampled=0", regexp.MustCompile(`^` + regexp.QuoteMeta(root+";Parent=53995c3f42cd8ad8;Sampled=0") + `$`)},
		{"root only", root, regexp.MustCompile(`^` + regexp.QuoteMeta(root) + `;Parent=[0-9a-f]{16};Sampled=0$`)},
		{"malformed", "Root=1-nothex;Parent=53995c3f42cd8ad8;Sampled=1", newTrace},
		{"none", "", newTrace},
		// Of two lines, the last, as the gateway continues them (obs9).
		{"two lines", "Root=1-11111111-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1\n" + root + ";Parent=53995c3f42cd8ad8;Sampled=1",
			regexp.MustCompile(`^` + regexp.QuoteMeta(root+";Parent=53995c3f42cd8ad8;Sampled=1") + `$`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, env.AdminURL+"/2015-03-31/functions/traced/invocations",
				strings.NewReader(`{"env":"_X_AMZN_TRACE_ID"}`))
			if err != nil {
				t.Fatal(err)
			}
			if tc.header != "" {
				for l := range strings.SplitSeq(tc.header, "\n") {
					req.Header.Add("X-Amzn-Trace-Id", l)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var out struct {
				Env string `json:"env"`
			}
			if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Amz-Function-Error") != "" || json.Unmarshal(body, &out) != nil {
				t.Fatalf("invoke: %d %s", resp.StatusCode, body)
			}
			if !tc.want.MatchString(out.Env) {
				t.Errorf("the function's trace for %q is %q, want %s", tc.header, out.Env, tc.want)
			}
		})
	}
}
