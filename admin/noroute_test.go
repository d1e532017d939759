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

// TestUncleanPathRefusedNotRedirected: a path with an empty or dot segment
// (a script's unset variable: /functions//configuration) is refused with 400
// in its surface's shape, never redirected to the cleaned path as ServeMux
// does: a 307 keeps the method and body, so a client that follows it would
// run another operation (DELETE /functions//configuration becoming
// DeleteFunction of "configuration").
func TestUncleanPathRefusedNotRedirected(t *testing.T) {
	t.Parallel()
	srv, _ := newGatewayAdmin(t)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		method, path string
		typ          string
		lambdaShape  bool
	}{
		{"DELETE", "/2015-03-31/functions//configuration", "ValidationException", true},
		{"POST", "/2015-03-31/functions//", "ValidationException", true},
		{"GET", "/2015-03-31/functions/f1/./aliases", "ValidationException", true},
		{"GET", "/2015-03-31/functions/f1/../f2/aliases", "ValidationException", true},
		{"GET", "/restapis//resources", "BadRequestException", false},
		{"DELETE", "/portico/v1/apis//stages/prod", "BadRequestException", false},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader("{}"))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		var body map[string]string
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || json.Unmarshal(raw, &body) != nil ||
			resp.Header.Get("x-amzn-ErrorType") != tc.typ || (body["Type"] == "User") != tc.lambdaShape ||
			!strings.Contains(body["message"], "empty or dot segment") {
			t.Errorf("%s %s: %d Location %q %s %s, want 400 %s (Lambda's shape %v) saying what is wrong", tc.method, tc.path,
				resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("x-amzn-ErrorType"), raw, tc.typ, tc.lambdaShape)
		}
	}
}
