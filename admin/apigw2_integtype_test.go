package admin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestV2IntegrationTypeMessages: create-integration on an HTTP API names an
// unknown integrationType ("HTTP_PROXI") instead of giving the proxy-only
// refusal meant for MOCK, HTTP and AWS, and an HTTP_PROXY without a URI
// names the field, integrationUri (r-httpapi25 finding 5).
func TestV2IntegrationTypeMessages(t *testing.T) {
	t.Parallel()
	srv, _ := newGatewayAdmin(t)
	var a struct {
		APIID string `json:"apiId"`
	}
	if c := call(t, srv, "POST", "/v2/apis", `{"name":"x","protocolType":"HTTP"}`, &a); c != 201 {
		t.Fatalf("create-api: %d", c)
	}
	for body, want := range map[string]string{
		`{"integrationType":"HTTP_PROXI"}`: `integrationType "HTTP_PROXI" must be AWS_PROXY or HTTP_PROXY`,
		`{"integrationType":"MOCK"}`:       "may only be associated with proxy integrations",
		`{"integrationType":"HTTP_PROXY"}`: "integrationUri is required for an HTTP_PROXY integration",
		`{"integrationType":"http_proxy"}`: "integrationUri is required",
		`{"integrationType":"HTTP_PROXY","integrationMethod":"GET","integrationUri":"https://example.com"}`: "",
	} {
		resp, err := http.Post(srv.URL+"/v2/apis/"+a.APIID+"/integrations", "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Message string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if want == "" {
			if resp.StatusCode != 201 {
				t.Errorf("%s: %d %s", body, resp.StatusCode, e.Message)
			}
			continue
		}
		if resp.StatusCode != 400 || !strings.Contains(e.Message, want) {
			t.Errorf("%s: %d %q, want 400 with %q", body, resp.StatusCode, e.Message, want)
		}
	}
}
