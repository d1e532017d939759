package admin

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestNoRouteAnswersInTheAPIsShape: a path no admin route serves, or a
// method its path does not take, is answered in the admin API's JSON error
// shape (Lambda's, API Gateway's under /portico/v1/apis) with
// x-amzn-ErrorType, where ServeMux answered "404 page not found" and
// "Method Not Allowed" as plain text; a 405 keeps its Allow.
func TestNoRouteAnswersInTheAPIsShape(t *testing.T) {
	t.Parallel()
	srv, _ := newGatewayAdmin(t)
	for _, tc := range []struct {
		method, path string
		status       int
		typ, allow   string
		lambdaShape  bool
	}{
		{"GET", "/nope", 404, "NotFoundException", "", true},
		{"GET", "/portico/v1/nope", 404, "NotFoundException", "", true},
		{"GET", "/portico/v1/apis/x/nope", 404, "NotFoundException", "", false},
		{"PATCH", "/portico/v1/apis", 405, "MethodNotAllowedException", "GET, HEAD, POST", false},
		{"POST", "/portico/v1/stats", 405, "MethodNotAllowedException", "GET, HEAD", true},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		var body map[string]string
		if err := json.Unmarshal(raw, &body); err != nil || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %q (%s): not JSON", tc.method, tc.path, resp.StatusCode, raw, resp.Header.Get("Content-Type"))
			continue
		}
		if resp.StatusCode != tc.status || resp.Header.Get("x-amzn-ErrorType") != tc.typ || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d %s Allow %q, want %d %s Allow %q", tc.method, tc.path, resp.StatusCode,
				resp.Header.Get("x-amzn-ErrorType"), resp.Header.Get("Allow"), tc.status, tc.typ, tc.allow)
		}
		if !strings.Contains(body["message"], tc.path) || (body["Type"] == "User") != tc.lambdaShape {
			t.Errorf("%s %s: body %q, want a message naming the path (Lambda's shape %v)", tc.method, tc.path, raw, tc.lambdaShape)
		}
	}
}
