package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
)

// TestPorticoAPIsErrorsInAPIGatewayShape: Portico's own admin API for APIs
// (/portico/v1/apis and what hangs off it) answers its errors as the
// apigateway routes do, {"message": "..."} with x-amzn-ErrorType
// NotFoundException, BadRequestException, ConflictException..., not in
// Lambda's shape ({"Type": "User", ...}, ResourceNotFoundException).
func TestPorticoAPIsErrorsInAPIGatewayShape(t *testing.T) {
	t.Parallel()
	srv, _ := newGatewayAdmin(t)
	var api struct {
		ID string `json:"id"`
	}
	if c := call(t, srv, "POST", "/portico/v1/apis", `{"name":"x","protocol":"REST","routes":[{"method":"GET","path":"/a","integration":{"type":"MOCK"}}]}`, &api); c != 201 {
		t.Fatalf("create: %d", c)
	}
	if c := call(t, srv, "POST", "/portico/v1/apis/"+api.ID+"/deployments", `{"stageName":"dev"}`, nil); c != 201 {
		t.Fatalf("deploy: %d", c)
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
		typ                string
	}{
		{"GET", "/portico/v1/apis/nosuchapi0", "", 404, "NotFoundException"},
		{"DELETE", "/portico/v1/apis/nosuchapi0", "", 404, "NotFoundException"},
		{"POST", "/portico/v1/apis", `{"name":`, 400, "BadRequestException"},
		{"POST", "/portico/v1/apis/" + api.ID + "/stages", `{"stageName":"dev","deploymentId":"nosuch"}`, 0, ""},
		{"GET", "/portico/v1/apis/" + api.ID + "/deployments/nosuch", "", 404, "NotFoundException"},
		{"GET", "/portico/v1/apis/" + api.ID + "/stages/nosuch/history", "", 404, "NotFoundException"},
		{"PUT", "/portico/v1/apis/" + api.ID + "/stages/nosuch/access-log", `{"format":"json","destinationArn":"stdout"}`, 404, "NotFoundException"},
		{"PUT", "/portico/v1/apis/" + api.ID + "/import", "", 400, "BadRequestException"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		typ := resp.Header.Get("x-amzn-ErrorType")
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("%s %s: %d %s: not JSON", tc.method, tc.path, resp.StatusCode, raw)
			continue
		}
		if resp.StatusCode < 400 {
			t.Errorf("%s %s: %d %s, want an error", tc.method, tc.path, resp.StatusCode, raw)
			continue
		}
		if tc.status != 0 && (resp.StatusCode != tc.status || typ != tc.typ) {
			t.Errorf("%s %s: %d %s %s, want %d %s", tc.method, tc.path, resp.StatusCode, typ, raw, tc.status, tc.typ)
		}
		if _, ok := body["Type"]; ok || len(body) != 1 || body["message"] == "" || strings.HasPrefix(typ, "Resource") || typ == "InvalidParameterValueException" {
			t.Errorf("%s %s: %d %s %s: not in API Gateway's shape ({\"message\"} alone, API Gateway's error types)", tc.method, tc.path, resp.StatusCode, typ, raw)
		}
	}
}

// TestClientMessageJoinedProblems: a 400 that lists several problems (the
// API's validation joins them, one a line) says each without the ": invalid
// parameter" its error ends in, not only the last.
func TestClientMessageJoinedProblems(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("a is bad: %w", errdefs.ErrInvalid), "a is bad"},
		{errors.Join(fmt.Errorf("timeoutInMillis 1 must be between 50 and 30000: %w", errdefs.ErrInvalid),
			fmt.Errorf("payloadFormatVersion \"3.0\" must be 1.0 or 2.0: %w", errdefs.ErrInvalid)),
			"timeoutInMillis 1 must be between 50 and 30000\npayloadFormatVersion \"3.0\" must be 1.0 or 2.0"},
		{fmt.Errorf("x %q not found: %w", "y", errdefs.ErrNotFound), `x "y" not found`},
		{errors.New("plain: invalid parameter"), "plain: invalid parameter"}, // not of the kind
	} {
		if got := clientMessage(tc.err); got != tc.want {
			t.Errorf("clientMessage(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
