package admin_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/portico-dev/portico/admin"
	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/sigv4/sigv4test"
)

// TestUnservedServiceIsNamed (obs23): `aws logs get-log-events --endpoint-url
// <admin>` (a JSON protocol call, POST / with X-Amz-Target, signed for logs)
// was answered as an IAM call, 403 SignatureDoesNotMatch "Credential should
// be scoped to correct service: 'iam'", which reads as a credentials
// problem. A call of a service Portico does not serve is answered in its
// protocol's shape, naming the service and what Portico has instead.
func TestUnservedServiceIsNamed(t *testing.T) {
	t.Parallel()
	const token = "unserved-test-token"
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	send := func(body, contentType, target, service string) (int, http.Header, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "POST", env.AdminURL+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if target != "" {
			req.Header.Set("X-Amz-Target", target)
		}
		if service != "" {
			sigv4test.SignNow(t, req, aws.Credentials{AccessKeyID: admin.TokenAccessKeyID, SecretAccessKey: token}, []byte(body), service)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	const logsBody = `{"logGroupName":"/aws/lambda/echo","logStreamName":"x"}`
	for _, service := range []string{"logs", ""} { // signed as the CLI signs it, and unsigned
		status, h, b := send(logsBody, "application/x-amz-json-1.1", "Logs_20140328.GetLogEvents", service)
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(b, &e); err != nil || status != 400 || e.Type != "UnknownOperationException" ||
			h.Get("X-Amzn-Errortype") != "UnknownOperationException" ||
			!strings.Contains(e.Message, "does not serve CloudWatch Logs") || !strings.Contains(e.Message, "portico logs FUNCTION") ||
			!strings.Contains(e.Message, "/portico/v1/functions/NAME/logs") {
			t.Errorf("GetLogEvents signed for %q: %d %s", service, status, b)
		}
	}

	// A query protocol call signed for another service: IAM's shape.
	status, _, b := send("Action=Publish&Version=2010-03-31", "application/x-www-form-urlencoded; charset=utf-8", "", "sns")
	a := iamAnswer{status: status, body: string(b)}
	if err := xml.Unmarshal(b, &a); err != nil {
		t.Fatalf("%d %s: %v", status, b, err)
	}
	wantIAMError(t, "signed for sns", a, 400, "InvalidAction", "does not serve sns (signed for service sns)")

	// IAM's own calls are still IAM's.
	status, _, b = send("Action=ListUsers&Version=2010-05-08", "application/x-www-form-urlencoded; charset=utf-8", "", "iam")
	if status != 200 || !strings.Contains(string(b), "ListUsersResult") {
		t.Errorf("ListUsers signed for iam: %d %s", status, b)
	}
}
