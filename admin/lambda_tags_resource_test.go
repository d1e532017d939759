package admin_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestLambdaTagsTakeAnARN: ListTags, TagResource and UntagResource take
// Resource, an ARN, as Lambda's model says: a bare function name or a
// layer's ARN is refused with ValidationException at 'resource' (not at
// 'functionName'); a code signing configuration's ARN, valid in Lambda, is
// not found; a function's ARN is served.
func TestLambdaTagsTakeAnARN(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := lambda.NewFromConfig(sdkConfig(env.AdminURL, "secret"))
	createIdle(t, ctx, c, "tg", "hi")
	const tags = "/2017-03-31/tags/"
	for _, tc := range []struct {
		name, method, path string
		status             int
		errType, says      string
	}{
		{"ListTags of a bare name", "GET", tags + "tg", 400, "ValidationException", "Value 'tg' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:"},
		{"UntagResource of a bare name", "DELETE", tags + "tg?tagKeys=a", 400, "ValidationException", "at 'resource'"},
		{"TagResource of a bare name", "POST", tags + "tg", 400, "ValidationException", "at 'resource'"},
		{"a layer's ARN", "GET", tags + "arn:aws:lambda:us-east-1:000000000000:layer:x", 400, "ValidationException", "at 'resource'"},
		{"a code signing configuration", "GET", tags + "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef0", 404, "ResourceNotFoundException", "Portico has functions only"},
		{"a function's ARN", "GET", tags + "arn:aws:lambda:us-east-1:000000000000:function:tg", 200, "", `"Tags":{}`},
	} {
		req, err := http.NewRequestWithContext(ctx, tc.method, env.AdminURL+tc.path, strings.NewReader(`{"Tags":{"a":"b"}}`))
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
