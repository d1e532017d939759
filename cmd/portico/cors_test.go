package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestAPICORSEnable runs `portico api cors enable` as a user would and checks
// what a browser sees through the real listener: the preflight answered by the
// OPTIONS MOCK method and the header on the actual response.
func TestAPICORSEnable(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	doc := `openapi: "3.0.1"
info: {title: cors}
paths:
  /pets:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses:
          default:
            statusCode: "200"
            responseTemplates: {application/json: '[{"name": "rex"}]'}
    post:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 201}'}
        responses:
          default: {statusCode: "201"}
  /other:
    get:
      x-amazon-apigateway-integration: {type: mock}
`
	file := filepath.Join(t.TempDir(), "api.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(cli(t, env, "api", "import", file))
	if out := cli(t, env, "api", "cors", "enable", id, "--path", "/pets", "--origin", "https://app.example", "--gateway-responses"); !strings.Contains(out, "CORS enabled") {
		t.Fatalf("cors enable printed %q", out)
	}
	cli(t, env, "api", "deploy", id, "--stage", "dev")

	type answer struct {
		StatusCode int
		Header     http.Header
	}
	do := func(method, path string, hdr ...string) answer {
		t.Helper()
		req, err := http.NewRequest(method, env.GatewayURL+"/"+id+"/dev"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return answer{resp.StatusCode, resp.Header}
	}
	pre := do("OPTIONS", "/pets", "Origin", "https://app.example", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type", "Accept", "*/*")
	if pre.StatusCode != 200 || pre.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		pre.Header.Get("Access-Control-Allow-Methods") != "GET,OPTIONS,POST" ||
		pre.Header.Get("Access-Control-Allow-Headers") != "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token" {
		t.Fatalf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
	for _, m := range []string{"GET", "POST"} {
		if r := do(m, "/pets", "Origin", "https://app.example"); r.StatusCode/100 != 2 || r.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Errorf("%s /pets: %d %v", m, r.StatusCode, r.Header)
		}
	}
	// Only /pets was enabled: /other has no OPTIONS method (REST answers 403).
	if r := do("OPTIONS", "/other", "Origin", "https://app.example"); r.StatusCode != 403 || r.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("OPTIONS /other: %d %v (want 403 with the DEFAULT_4XX CORS header)", r.StatusCode, r.Header)
	}
}
