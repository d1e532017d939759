package main

import (
	"bytes"
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

// TestAPICORSEnableNotesSetResponses: with --gateway-responses, the gateway
// responses set explicitly without Access-Control-Allow-Origin keep only their
// own settings, so the command names them in a note with the way to add the
// header, which works as given; a type that has the header is not named.
func TestAPICORSEnableNotesSetResponses(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	doc := `openapi: "3.0.1"
info: {title: cors}
x-amazon-apigateway-gateway-responses:
  BAD_REQUEST_PARAMETERS:
    responseTemplates: {application/json: '{"error": $context.error.messageString}'}
  UNAUTHORIZED:
    responseParameters: {gatewayresponse.header.Access-Control-Allow-Origin: "'*'"}
  ACCESS_DENIED: {statusCode: "403"}
paths:
  /pets:
    get:
      x-amazon-apigateway-integration: {type: mock}
`
	file := filepath.Join(t.TempDir(), "api.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(cli(t, env, "api", "import", file))
	var out, errOut bytes.Buffer
	if err := runRoot(&out, &errOut, "--endpoint", env.AdminURL, "api", "cors", "enable", id, "--origin", "https://app.example", "--gateway-responses"); err != nil {
		t.Fatalf("cors enable: %v (%s)", err, errOut.String())
	}
	cmd := `aws apigateway update-gateway-response --rest-api-id ` + id + ` --response-type ACCESS_DENIED --patch-operations ` +
		`"op=replace,path=/responseParameters/gatewayresponse.header.Access-Control-Allow-Origin,value='https://app.example'"`
	note := errOut.String()
	if !strings.Contains(note, "note: gateway responses ACCESS_DENIED, BAD_REQUEST_PARAMETERS are set explicitly") || !strings.Contains(note, cmd) ||
		strings.Contains(note, "UNAUTHORIZED") || strings.Count(note, "note:") != 1 {
		t.Errorf("cors enable --gateway-responses: stderr %q, want one note naming ACCESS_DENIED and BAD_REQUEST_PARAMETERS with %s", note, cmd)
	}
	// The patch the note gives works (the AWS CLI's request, sent as is).
	resp, err := env.Client().Do(t.Context(), http.MethodPatch, "/restapis/"+id+"/gatewayresponses/ACCESS_DENIED", nil,
		map[string]any{"patchOperations": []map[string]string{{"op": "replace",
			"path": "/responseParameters/gatewayresponse.header.Access-Control-Allow-Origin", "value": "'https://app.example'"}}}, nil)
	if err != nil {
		t.Fatalf("the note's update-gateway-response: %v", err)
	}
	if !strings.Contains(string(resp.Body), `"gatewayresponse.header.Access-Control-Allow-Origin":"'https://app.example'"`) ||
		!strings.Contains(string(resp.Body), `"statusCode":"403"`) {
		t.Fatalf("the note's update-gateway-response: %s", resp.Body)
	}
	// Without --gateway-responses, no such note.
	out.Reset()
	errOut.Reset()
	if err := runRoot(&out, &errOut, "--endpoint", env.AdminURL, "api", "cors", "enable", id); err != nil || strings.Contains(errOut.String(), "gateway response") {
		t.Errorf("cors enable: %v, stderr %q", err, errOut.String())
	}
}
