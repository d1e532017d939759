package admin_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestLambdaErrorMessageKeyPerType: every Lambda error body said "message",
// where Lambda spells it per type. Source (REFERENCE): Lambda's API model,
// the AWS SDKs' models/apis/lambda/2015-03-31/api-2.json, declares
// ResourceNotFoundException and ServiceException (and ResourceInUse,
// InvalidRuntime, InvalidZipFile, KMS*, ...) with members Type and
// "Message", and InvalidParameterValue, InvalidRequestContent,
// ResourceConflict, PreconditionFailed, RequestTooLarge, TooManyRequests and
// UnsupportedMediaType with "message"; a real 404 reads {"Message":"Function
// not found: arn:...","Type":"User"} (localstack/localstack#702). A client
// reading the raw JSON (jq .Message, a case-sensitive model) got nothing.
// The SDK reads both spellings, and still gets every message.
func TestLambdaErrorMessageKeyPerType(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	arn := "arn:aws:lambda:us-east-1:000000000000:function:nofn"
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		typ, key                 string
	}{
		{"invoke of a missing function", "POST", "/2015-03-31/functions/nofn/invocations", "{}", 404, "ResourceNotFoundException", "Message"},
		{"get of a missing function", "GET", "/2015-03-31/functions/nofn", "", 404, "ResourceNotFoundException", "Message"},
		{"a bad MaxItems", "GET", "/2015-03-31/functions?MaxItems=abc", "", 400, "ValidationException", "message"},
		{"a qualifier that is no version or alias", "GET", "/2015-03-31/functions/nofn?Qualifier=%24x", "", 400, "InvalidParameterValueException", "message"},
		{"a payload that is not JSON", "POST", "/2015-03-31/functions/nofn/invocations", "{", 400, "InvalidRequestContentException", "message"},
	} {
		req, err := http.NewRequestWithContext(t.Context(), tc.method, env.AdminURL+tc.path, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		var body map[string]string
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("%s: %v: %s", tc.name, err, raw)
		}
		other := map[string]string{"Message": "message", "message": "Message"}[tc.key]
		if resp.StatusCode != tc.status || resp.Header.Get("x-amzn-ErrorType") != tc.typ || body["Type"] != "User" ||
			body[tc.key] == "" || body[other] != "" {
			t.Errorf("%s: %d %s %s\nwant %d %s with its message under %q only", tc.name, resp.StatusCode,
				resp.Header.Get("x-amzn-ErrorType"), raw, tc.status, tc.typ, tc.key)
		}
		if tc.status == 404 && body["Message"] != "Function not found: "+arn {
			t.Errorf("%s: Message %q, want Lambda's %q", tc.name, body["Message"], "Function not found: "+arn)
		}
	}

	// The SDK reads both spellings.
	c := lambda.NewFromConfig(sdkConfig(env.AdminURL, "secret"))
	_, err := c.GetFunction(t.Context(), &lambda.GetFunctionInput{FunctionName: aws.String("nofn")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || nf.ErrorMessage() != "Function not found: "+arn || aws.ToString(nf.Type) != "User" {
		t.Errorf("SDK GetFunction of a missing function: %v, want ResourceNotFoundException with its Message", err)
	}
	_, err = c.ListFunctions(t.Context(), &lambda.ListFunctionsInput{Marker: aws.String("bogus")})
	var iv *types.InvalidParameterValueException
	if !errors.As(err, &iv) || iv.ErrorMessage() == "" || aws.ToString(iv.Type) != "User" {
		t.Errorf("SDK ListFunctions with a bogus Marker: %v, want InvalidParameterValueException with its message", err)
	}
}
