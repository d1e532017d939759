package admin_test

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
)

// TestV2IntegrationResponseParameters checks that update-integration takes an
// HTTP API integration's responseParameters (the gateway applies them, as it
// does an OpenAPI import's) instead of refusing them: get-integration shows
// them and the auto-deployed $default stage answers with the mapped header
// and status.
func TestV2IntegrationResponseParameters(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	be := newBackend(t)
	api, err := e.ag.CreateApi(t.Context(), &apigatewayv2.CreateApiInput{Name: aws.String("mapped"), ProtocolType: "HTTP",
		Target: aws.String(be.srv.URL + "/m")})
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.ag.GetIntegrations(t.Context(), &apigatewayv2.GetIntegrationsInput{ApiId: api.ApiId})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("GetIntegrations: %+v %v", list, err)
	}
	integ := list.Items[0].IntegrationId
	params := map[string]map[string]string{"200": {"overwrite:header.x-mapped": "yes", "overwrite:statuscode": "202"}}
	if _, err := e.ag.UpdateIntegration(t.Context(), &apigatewayv2.UpdateIntegrationInput{ApiId: api.ApiId, IntegrationId: integ,
		ResponseParameters: params}); err != nil {
		t.Fatalf("UpdateIntegration with responseParameters: %v", err)
	}
	got, err := e.ag.GetIntegration(t.Context(), &apigatewayv2.GetIntegrationInput{ApiId: api.ApiId, IntegrationId: integ})
	if err != nil || got.ResponseParameters["200"]["overwrite:header.x-mapped"] != "yes" {
		t.Fatalf("GetIntegration: %+v %v", got, err)
	}
	status, body, h := get(t, e.env.GatewayURL+"/"+aws.ToString(api.ApiId)+"/m")
	if status != http.StatusAccepted || h.Get("X-Mapped") != "yes" {
		t.Fatalf("GET /m: %d %v %s, want 202 with x-mapped: yes", status, h, body)
	}
}
