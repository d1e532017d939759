package admin_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestInvokePayloadErrorSaysWhere: a payload that is not JSON got
// "Could not parse request body into json" and no more, so that a person
// could not tell what to fix. As Lambda's, the message goes on with why and
// where: the line and column (1-based, in characters) the parse stopped at.
func TestInvokePayloadErrorSaysWhere(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := lambda.NewFromConfig(sdkConfig(env.AdminURL, "secret"))
	for _, tc := range []struct{ payload, want string }{
		{`{"a":1`, "Could not parse request body into json: Could not parse payload into json: unexpected end of JSON input\n at [line: 1, column: 7]"},
		{"{\n  \"é\": tru\n}", "Could not parse request body into json: Could not parse payload into json: invalid character '\\n' in literal true (expecting 'e')\n at [line: 2, column: 11]"},
		{`{"a":1} x`, "Could not parse request body into json: Could not parse payload into json: invalid character 'x' after top-level value\n at [line: 1, column: 9]"},
		// A BOM (Notepad's UTF-8) is named, not shown as the character 'ï'.
		{"\ufeff{\"a\":1}", "Could not parse request body into json: Could not parse payload into json: the payload begins with a UTF-8 byte order mark (EF BB BF), which JSON does not allow: save or send it without one\n at [line: 1, column: 1]"},
	} {
		_, err := c.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String("nofn"), Payload: []byte(tc.payload)})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidRequestContentException" || ae.ErrorMessage() != tc.want {
			t.Errorf("payload %q: %v\nwant InvalidRequestContentException: %q", tc.payload, err, tc.want)
		}
	}
	if _, err := c.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String("nofn"), Payload: []byte(`{"ok":true}`)}); err == nil || strings.Contains(err.Error(), "parse") {
		t.Errorf("a JSON payload: %v, want the function's not-found", err)
	}
}
