package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestHealthzIsGETOnly: the gateway's /healthz answers GET and HEAD; other
// methods get 405 with Allow: GET, HEAD, as the admin API's GET-only paths
// answer (obs11: POST answered 200 {"status":"ok"}).
func TestHealthzIsGETOnly(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete} {
		req, _ := http.NewRequest(m, env.GatewayURL+"/healthz", strings.NewReader(""))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		switch m {
		case http.MethodGet, http.MethodHead:
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s /healthz: %d %s", m, resp.StatusCode, body)
			}
		default:
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s /healthz: %d %v %s", m, resp.StatusCode, resp.Header, body)
			}
		}
	}
}
