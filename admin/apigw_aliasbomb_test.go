package admin_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/cmd/portico/client"
)

// aliasBombDoc is 1 MB of YAML that its 150 aliases make 150 MB: one 1 MB
// string and a list naming it 150 times (too few aliases for yaml.v3's own
// check).
func aliasBombDoc(title string) string {
	return "openapi: 3.0.1\ninfo: {title: " + title + ", version: \"1\"}\npaths: {}\n" +
		"x-a: &a \"" + strings.Repeat("x", 1_000_000) + "\"\n" +
		"x-b: [" + strings.TrimSuffix(strings.Repeat("*a,", 150), ",") + "]\n"
}

// wantExpansionRefused fails t unless err is AWS's BadRequestException
// saying the aliases expand the document too far.
func wantExpansionRefused(t *testing.T, what string, err error) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" || !strings.Contains(ae.ErrorMessage(), "aliases expand it past") {
		t.Fatalf("%s of a YAML alias bomb: %v; want BadRequestException for the expansion", what, err)
	}
}

// TestImportRefusesAliasExpansion: every import route refuses a document
// whose YAML aliases expand it past the 6 MB document limit with 400
// BadRequestException, and stores nothing: import-rest-api, put-rest-api
// (merge and overwrite), apigatewayv2 import-api and reimport-api, and
// /portico/v1/apis/import.
func TestImportRefusesAliasExpansion(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	doc := aliasBombDoc("bomb")

	c := startControlPlane(t)
	_, err := c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(doc)})
	wantExpansionRefused(t, "import-rest-api", err)
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("kept")}))
	for _, mode := range []string{"merge", "overwrite"} {
		_, err = c.ag.PutRestApi(ctx, &apigateway.PutRestApiInput{RestApiId: api.Id, Body: []byte(doc), Mode: agtypes.PutMode(mode)})
		wantExpansionRefused(t, "put-rest-api "+mode, err)
	}
	got := must[*apigateway.GetRestApiOutput](t, "GetRestApi")(c.ag.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: api.Id}))
	if aws.ToString(got.Name) != "kept" {
		t.Fatalf("after the refused put-rest-api the API is %q, want it unchanged", aws.ToString(got.Name))
	}
	list := must[*apigateway.GetRestApisOutput](t, "GetRestApis")(c.ag.GetRestApis(ctx, &apigateway.GetRestApisInput{}))
	if len(list.Items) != 1 {
		t.Fatalf("%d REST APIs stored, want only the one created", len(list.Items))
	}
	_, err = c.env.Client().Do(ctx, http.MethodPost, "/portico/v1/apis/import", map[string][]string{"name": {"b5"}, "protocol": {"HTTP"}}, []byte(doc), nil)
	var pe *client.APIError
	if !errors.As(err, &pe) || pe.Status != http.StatusBadRequest || !strings.Contains(pe.Message, "aliases expand it past") {
		t.Fatalf("/portico/v1/apis/import of a YAML alias bomb: %v; want 400 for the expansion", err)
	}

	e := startV2(t)
	_, err = e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc)})
	wantExpansionRefused(t, "import-api", err)
	h := must[*apigatewayv2.CreateApiOutput](t, "CreateApi")(e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("kept"), ProtocolType: "HTTP"}))
	_, err = e.ag.ReimportApi(ctx, &apigatewayv2.ReimportApiInput{ApiId: h.ApiId, Body: aws.String(doc)})
	wantExpansionRefused(t, "reimport-api", err)
	apis := must[*apigatewayv2.GetApisOutput](t, "GetApis")(e.ag.GetApis(ctx, &apigatewayv2.GetApisInput{}))
	if len(apis.Items) != 1 || aws.ToString(apis.Items[0].Name) != "kept" {
		t.Fatalf("HTTP APIs stored: %+v, want only the one created, unchanged", apis.Items)
	}
}
