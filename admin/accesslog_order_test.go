package admin

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestAccessLogMissingStageIsNotFoundFirst: setting the access log of a
// stage that does not exist, to a destination outside the allowed
// directories, is 404 NotFoundException (Portico's PUT .../access-log and
// apigateway update-stage alike), as API Gateway checks the resource before
// the settings: it was 400 for the destination.
func TestAccessLogMissingStageIsNotFoundFirst(t *testing.T) {
	t.Parallel()
	srv, _ := newGatewayAdmin(t)
	var api struct {
		ID string `json:"id"`
	}
	if c := call(t, srv, "POST", "/portico/v1/apis", `{"name":"x","protocol":"REST","routes":[{"method":"GET","path":"/a","integration":{"type":"MOCK"}}]}`, &api); c != 201 {
		t.Fatalf("create: %d", c)
	}
	outside := filepath.Join(t.TempDir(), "access.log")
	for _, tc := range []struct{ method, path, body string }{
		{"PUT", "/portico/v1/apis/" + api.ID + "/stages/NOSUCH/access-log", `{"format":"json","destinationArn":"` + outside + `"}`},
		{"PATCH", "/restapis/" + api.ID + "/stages/NOSUCH", `{"patchOperations":[{"op":"replace","path":"/accessLogSettings/destinationArn","value":"` + outside + `"}]}`},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 404 || resp.Header.Get("x-amzn-ErrorType") != "NotFoundException" {
			t.Errorf("%s %s: %d %s %s, want 404 NotFoundException", tc.method, tc.path, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), raw)
		}
	}
}
