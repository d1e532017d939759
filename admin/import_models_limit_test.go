package admin_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/apis"
)

// TestImportRefusesTooManyModels: import-rest-api, put-rest-api and
// apigatewayv2's import-api refuse a document with more models than an API may
// have with a 400 naming the limit, before compiling any.
func TestImportRefusesTooManyModels(t *testing.T) {
	t.Parallel()
	doc := apptest.ModelsDoc(t, apis.MaxModels+1)
	want := fmt.Sprintf("document has %d models (components.schemas); at most %d are allowed per API", apis.MaxModels+1, apis.MaxModels)
	t.Run("apigateway", func(t *testing.T) {
		t.Parallel()
		c := startControlPlane(t)
		_, err := c.ag.ImportRestApi(t.Context(), &apigateway.ImportRestApiInput{Body: doc})
		wantV2Error(t, err, 400, "BadRequestException", want)
		imp, err := c.ag.ImportRestApi(t.Context(), &apigateway.ImportRestApiInput{Body: apptest.ModelsDoc(t, 2)})
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
