package openapi

import (
	"fmt"
	"strings"
	"testing"
)

// TestImportModelRefBomb: r-openapi28 #1's document (M0 an object, Mi an
// allOf of ten $refs to M(i-1), POST /a's body M12 under a validator) is
// refused at import, naming a model and the limit, where before every
// validated request checked the body against 10^12 schemas.
func TestImportModelRefBomb(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`openapi: 3.0.1
info: {title: refbomb, version: "1"}
x-amazon-apigateway-request-validators: {all: {validateRequestBody: true, validateRequestParameters: true}}
x-amazon-apigateway-request-validator: all
paths:
  /a:
    post:
      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/M12'}}}}
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration: {type: mock, requestTemplates: {application/json: '{"statusCode": 200}'}, responses: {default: {statusCode: "200"}}}
components:
  schemas:
    M0: {type: object, properties: {x: {type: string}}}
`)
	for i := 1; i <= 12; i++ {
		fmt.Fprintf(&b, "    M%d:\n      allOf:\n", i)
		for range 10 {
			fmt.Fprintf(&b, "        - $ref: '#/components/schemas/M%d'\n", i-1)
		}
	}
	_, err := Import(t.Context(), []byte(b.String()), Options{})
	if err == nil || !strings.Contains(err.Error(), "more than 1000 schemas") || !strings.Contains(err.Error(), `model "M`) {
		t.Fatalf("import: %v, want refused naming the model and the limit", err)
	}
}
