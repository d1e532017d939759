package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestAPIExportWarnings runs `portico api export --format swagger2` on an
// API whose POST validates two body types against two models, which Swagger
// 2.0 cannot say: the document comes out on stdout as before and the CLI
// says on stderr what an import of it would make of the second type. The
// OpenAPI 3 export says everything and warns of nothing.
func TestAPIExportWarnings(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	doc := `openapi: "3.0.1"
info: {title: two-bodies}
components:
  schemas:
    A: {type: object, required: [a]}
    B: {type: object, required: [b]}
x-amazon-apigateway-request-validators:
  body: {validateRequestBody: true, validateRequestParameters: false}
paths:
  /things:
    post:
      x-amazon-apigateway-request-validator: body
      requestBody:
        content:
          application/json: {schema: {$ref: "#/components/schemas/A"}}
          application/vnd.b+json: {schema: {$ref: "#/components/schemas/B"}}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
`
	file := filepath.Join(t.TempDir(), "api.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(cli(t, env, "api", "import", file))
	export := func(format string) (stdout, stderr string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := runRoot(&out, &errOut, "--endpoint", env.AdminURL, "api", "export", id, "--format", format); err != nil {
			t.Fatalf("api export --format %s: %v (%s)", format, err, errOut.String())
		}
		if !json.Valid(out.Bytes()) {
			t.Fatalf("api export --format %s printed no JSON document:\n%s", format, out.String())
		}
		return out.String(), errOut.String()
	}
	_, stderr := export("swagger2")
	want := `warning: POST /things: Swagger 2.0 has one body schema per operation: the document's body parameter has model "A" for every type it consumes, so an import of it validates application/vnd.b+json bodies against "A", not "B"`
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr of the swagger2 export:\n%s\nwant it to say:\n%s", stderr, want)
	}
	if _, stderr := export("oas3"); stderr != "" {
		t.Errorf("stderr of the oas3 export: %q, want nothing", stderr)
	}
}
