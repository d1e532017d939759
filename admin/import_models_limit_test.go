package admin_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"

	"github.com/portico-dev/portico/gateway/apis"
)

// manyModelsDoc is an OpenAPI 3 document with n one-property models.
func manyModelsDoc(t *testing.T, n int) []byte {
	t.Helper()
	schemas := map[string]any{}
	for i := range n {
		schemas[fmt.Sprintf("M%d", i)] = map[string]any{"type": "object", "properties": map[string]any{"a": map[string]any{"type": "string"}}}
	}
	b, err := json.Marshal(map[string]any{"openapi": "3.0.1", "info": map[string]any{"title": "many", "version": "1"},
		"paths": map[string]any{}, "components": map[string]any{"schemas": schemas}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestImportRefusesTooManyModels: import-rest-api, put-rest-api and
// apigatewayv2's import-api refuse a document with more models than an API may
// have with a 400 naming the limit, before compiling any.
func TestImportRefusesTooManyModels(t *testing.T) {
	t.Parallel()
	doc := manyModelsDoc(t, apis.MaxModels+1)
	want := fmt.Sprintf("document has %d models (components.schemas); at most %d are allowed per API", apis.MaxModels+1, apis.MaxModels)
	t.Run("apigateway", func(t *testing.T) {
		t.Parallel()
		c := startControlPlane(t)
		_, err := c.ag.ImportRestApi(t.Context(), &apigateway.ImportRestApiInput{Body: doc})
		wantV2Error(t, err, 400, "BadRequestException", want)
		imp, err := c.ag.ImportRestApi(t.Context(), &apigateway.ImportRestApiInput{Body: manyModelsDoc(t, 2)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ag.PutRestApi(t.Context(), &apigateway.PutRestApiInput{RestApiId: imp.Id, Body: doc})
		wantV2Error(t, err, 400, "BadRequestException", want)
	})
	t.Run("apigatewayv2", func(t *testing.T) {
		t.Parallel()
		c := startV2(t)
		body := string(doc)
		_, err := c.ag.ImportApi(t.Context(), &apigatewayv2.ImportApiInput{Body: &body})
		wantV2Error(t, err, 400, "BadRequestException", want)
	})
}
