package admin_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// TestImportErrorsWithoutInternalSuffix: import-rest-api and put-rest-api
// name each problem of a refused document in the client's words, without the
// ": invalid parameter" Portico's errors end in (before, every problem kept
// it, in the middle of the message and at its end).
func TestImportErrorsWithoutInternalSuffix(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	doc := []byte(`openapi: 3.0.1
info: {title: twoerrs, version: "1"}
paths:
  /a:
    get:
      x-amazon-apigateway-integration: {type: bogus1}
  /b:
    get:
      x-amazon-apigateway-integration: {type: bogus2}
`)
	check := func(what string, err error) {
		t.Helper()
		var br *agtypes.BadRequestException
		if !errors.As(err, &br) {
			t.Fatalf("%s: %v, want BadRequestException", what, err)
		}
		msg := aws.ToString(br.Message)
		if strings.Contains(msg, "invalid parameter") || !strings.HasPrefix(msg, "Errors found during import:\n\t") ||
			!strings.Contains(msg, "bogus1") || !strings.Contains(msg, "bogus2") {
			t.Errorf("%s: message %q, want both problems and no \"invalid parameter\"", what, msg)
		}
	}
	_, err := c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: doc})
	check("import-rest-api", err)
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("m")}))
	_, err = c.ag.PutRestApi(ctx, &apigateway.PutRestApiInput{RestApiId: api.Id, Body: doc, Mode: agtypes.PutModeOverwrite})
	check("put-rest-api", err)
	// One problem alone (a path item cycle, refused as the document loads).
	_, err = c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte("openapi: 3.0.1\ninfo: {title: c1, version: \"1\"}\npaths:\n  /a: {$ref: \"#/paths/~1b\"}\n  /b: {$ref: \"#/paths/~1a\"}\n")})
	var br *agtypes.BadRequestException
	if !errors.As(err, &br) || strings.HasSuffix(aws.ToString(br.Message), "invalid parameter") {
		t.Errorf("cycle: %v, want BadRequestException not ending in invalid parameter", err)
	}
}
