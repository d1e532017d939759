package admin_test

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
)

// TestV2UpdateRouteKeyKeepsID: update-route with a new routeKey keeps the
// route's id, as apigatewayv2 does; its target and route responses stay with
// it, the stages' route settings move to the new key, and a new route that
// takes the old key gets an id of its own.
func TestV2UpdateRouteKeyKeepsID(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	api := must[*apigatewayv2.CreateApiOutput](t, "CreateApi")(e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("ws"),
		ProtocolType: v2types.ProtocolTypeWebsocket, RouteSelectionExpression: aws.String("$request.body.action")}))
	id := api.ApiId
	integ := must[*apigatewayv2.CreateIntegrationOutput](t, "CreateIntegration")(e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{
		ApiId: id, IntegrationType: v2types.IntegrationTypeMock, RequestTemplates: map[string]string{"$default": `{"statusCode":200}`},
		TemplateSelectionExpression: aws.String("$default")}))
	target := aws.String("integrations/" + aws.ToString(integ.IntegrationId))
	rt := must[*apigatewayv2.CreateRouteOutput](t, "CreateRoute")(e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id,
		RouteKey: aws.String("sendmessage"), Target: target, RouteResponseSelectionExpression: aws.String("$default")}))
	must[*apigatewayv2.CreateRouteResponseOutput](t, "CreateRouteResponse")(e.ag.CreateRouteResponse(ctx, &apigatewayv2.CreateRouteResponseInput{
		ApiId: id, RouteId: rt.RouteId, RouteResponseKey: aws.String("$default")}))
	must[*apigatewayv2.CreateStageOutput](t, "CreateStage")(e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("dev"),
		RouteSettings: map[string]v2types.RouteSettings{"sendmessage": {ThrottlingBurstLimit: aws.Int32(7), ThrottlingRateLimit: aws.Float64(3)}}}))

	up := must[*apigatewayv2.UpdateRouteOutput](t, "UpdateRoute")(e.ag.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: id,
		RouteId: rt.RouteId, RouteKey: aws.String("send")}))
	if aws.ToString(up.RouteId) != aws.ToString(rt.RouteId) || aws.ToString(up.RouteKey) != "send" {
		t.Fatalf("UpdateRoute = id %s key %s, want id %s key send", aws.ToString(up.RouteId), aws.ToString(up.RouteKey), aws.ToString(rt.RouteId))
	}
	got := must[*apigatewayv2.GetRouteOutput](t, "GetRoute")(e.ag.GetRoute(ctx, &apigatewayv2.GetRouteInput{ApiId: id, RouteId: rt.RouteId}))
	if aws.ToString(got.RouteKey) != "send" || aws.ToString(got.Target) != aws.ToString(target) {
		t.Errorf("GetRoute after the key changed = key %s target %s", aws.ToString(got.RouteKey), aws.ToString(got.Target))
	}
	rrs := must[*apigatewayv2.GetRouteResponsesOutput](t, "GetRouteResponses")(e.ag.GetRouteResponses(ctx, &apigatewayv2.GetRouteResponsesInput{ApiId: id, RouteId: rt.RouteId}))
	if len(rrs.Items) != 1 || aws.ToString(rrs.Items[0].RouteResponseKey) != "$default" {
		t.Errorf("route responses after the key changed = %+v", rrs.Items)
	}
	st := must[*apigatewayv2.GetStageOutput](t, "GetStage")(e.ag.GetStage(ctx, &apigatewayv2.GetStageInput{ApiId: id, StageName: aws.String("dev")}))
	if s, ok := st.RouteSettings["send"]; !ok || aws.ToInt32(s.ThrottlingBurstLimit) != 7 {
		t.Errorf("stage route settings after the key changed = %+v, want send's", st.RouteSettings)
	}
	if _, ok := st.RouteSettings["sendmessage"]; ok {
		t.Errorf("stage route settings still hold the old key: %+v", st.RouteSettings)
	}
	// The old key is free again, for a route with another id.
	again := must[*apigatewayv2.CreateRouteOutput](t, "CreateRoute")(e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id,
		RouteKey: aws.String("sendmessage"), Target: target}))
	if aws.ToString(again.RouteId) == aws.ToString(rt.RouteId) || aws.ToString(again.RouteKey) != "sendmessage" {
		t.Errorf("new route on the old key = id %s key %s, want an id other than %s", aws.ToString(again.RouteId), aws.ToString(again.RouteKey), aws.ToString(rt.RouteId))
	}
	list := must[*apigatewayv2.GetRoutesOutput](t, "GetRoutes")(e.ag.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: id}))
	ids := map[string]string{}
	for _, r := range list.Items {
		ids[aws.ToString(r.RouteKey)] = aws.ToString(r.RouteId)
	}
	if len(ids) != 2 || ids["send"] != aws.ToString(rt.RouteId) || ids["sendmessage"] != aws.ToString(again.RouteId) {
		t.Errorf("GetRoutes = %v", ids)
	}
}

// TestV2ContentHandlingRefused: contentHandlingStrategy is refused on HTTP
// APIs, as apigatewayv2 does (it is for WebSocket APIs only), and on WebSocket
// integrations and integration responses, where Portico would not convert the
// payload, rather than kept and not applied.
func TestV2ContentHandlingRefused(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	fn := aws.String("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f/invocations")
	httpAPI := must[*apigatewayv2.CreateApiOutput](t, "CreateApi")(e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("h"),
		ProtocolType: v2types.ProtocolTypeHttp}))
	_, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: httpAPI.ApiId, IntegrationType: v2types.IntegrationTypeAwsProxy,
		IntegrationUri: fn, PayloadFormatVersion: aws.String("2.0"), ContentHandlingStrategy: v2types.ContentHandlingStrategyConvertToText})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "supported only for WebSocket APIs")

	ws := must[*apigatewayv2.CreateApiOutput](t, "CreateApi")(e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("w"),
		ProtocolType: v2types.ProtocolTypeWebsocket, RouteSelectionExpression: aws.String("$request.body.action")}))
	_, err = e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: ws.ApiId, IntegrationType: v2types.IntegrationTypeAwsProxy,
		IntegrationUri: fn, ContentHandlingStrategy: v2types.ContentHandlingStrategyConvertToBinary})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "not supported on WebSocket integrations yet")
	integ := must[*apigatewayv2.CreateIntegrationOutput](t, "CreateIntegration")(e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{
		ApiId: ws.ApiId, IntegrationType: v2types.IntegrationTypeAwsProxy, IntegrationUri: fn}))
	_, err = e.ag.CreateIntegrationResponse(ctx, &apigatewayv2.CreateIntegrationResponseInput{ApiId: ws.ApiId, IntegrationId: integ.IntegrationId,
		IntegrationResponseKey: aws.String("$default"), ContentHandlingStrategy: v2types.ContentHandlingStrategyConvertToText})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "not supported on WebSocket integration responses yet")
}

// TestV2TemplateSelectionExpressionReadBack: a WebSocket integration's
// templateSelectionExpression is read back as it was written (Terraform's
// aws_apigatewayv2_integration planned it again on every run).
func TestV2TemplateSelectionExpressionReadBack(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	ws := must[*apigatewayv2.CreateApiOutput](t, "CreateApi")(e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("w"),
		ProtocolType: v2types.ProtocolTypeWebsocket, RouteSelectionExpression: aws.String("$request.body.action")}))
	integ := must[*apigatewayv2.CreateIntegrationOutput](t, "CreateIntegration")(e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{
		ApiId: ws.ApiId, IntegrationType: v2types.IntegrationTypeMock, RequestTemplates: map[string]string{"$default": `{"statusCode":200}`},
		TemplateSelectionExpression: aws.String(`\$default`)}))
	if got := aws.ToString(integ.TemplateSelectionExpression); got != `\$default` {
		t.Errorf("CreateIntegration templateSelectionExpression = %q, want %q", got, `\$default`)
	}
	got := must[*apigatewayv2.GetIntegrationOutput](t, "GetIntegration")(e.ag.GetIntegration(ctx, &apigatewayv2.GetIntegrationInput{
		ApiId: ws.ApiId, IntegrationId: integ.IntegrationId}))
	if v := aws.ToString(got.TemplateSelectionExpression); v != `\$default` {
		t.Errorf("GetIntegration templateSelectionExpression = %q, want %q", v, `\$default`)
	}
	up := must[*apigatewayv2.UpdateIntegrationOutput](t, "UpdateIntegration")(e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{
		ApiId: ws.ApiId, IntegrationId: integ.IntegrationId, TemplateSelectionExpression: aws.String("$default")}))
	if v := aws.ToString(up.TemplateSelectionExpression); v != "$default" {
		t.Errorf("UpdateIntegration templateSelectionExpression = %q, want $default", v)
	}
}

// TestV2TemplateSelectionExpressionBody: a WebSocket integration takes a
// templateSelectionExpression that selects its request template from the
// message ($request.body.kind), as apigatewayv2 does, and reads it back; one
// that is no selection expression is refused, and so is one on an HTTP API.
// Before, anything but $default was refused.
func TestV2TemplateSelectionExpressionBody(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	ws := must[*apigatewayv2.CreateApiOutput](t, "CreateApi")(e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("w"),
		ProtocolType: v2types.ProtocolTypeWebsocket, RouteSelectionExpression: aws.String("$request.body.action")}))
	integ := must[*apigatewayv2.CreateIntegrationOutput](t, "CreateIntegration")(e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{
		ApiId: ws.ApiId, IntegrationType: v2types.IntegrationTypeMock,
		RequestTemplates:            map[string]string{"$default": `{"statusCode":200}`, "bad": `{"statusCode":400}`},
		TemplateSelectionExpression: aws.String("$request.body.kind")}))
	if got := aws.ToString(integ.TemplateSelectionExpression); got != "$request.body.kind" {
		t.Errorf("CreateIntegration templateSelectionExpression = %q, want $request.body.kind", got)
	}
	_, err := e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{
		ApiId: ws.ApiId, IntegrationId: integ.IntegrationId, TemplateSelectionExpression: aws.String("$request.header.x")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "templateSelectionExpression")
	h := must[*apigatewayv2.CreateApiOutput](t, "CreateApi")(e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("h"),
		ProtocolType: v2types.ProtocolTypeHttp}))
	_, err = e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: h.ApiId, IntegrationType: v2types.IntegrationTypeHttpProxy,
		IntegrationUri: aws.String("http://127.0.0.1:1/"), IntegrationMethod: aws.String("GET"), PayloadFormatVersion: aws.String("1.0"),
		TemplateSelectionExpression: aws.String("$request.body.kind")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "only for WebSocket APIs")
}

// TestV2ModelSchemaAndDescriptionReadBack: a model's schema is read back as the
// JSON written (without the description put into it) and its description beside it, through create, get, list, update
// (description alone, schema alone, a rename) and a restart of the API service.
func TestV2ModelSchemaAndDescriptionReadBack(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	api := must[*apigatewayv2.CreateApiOutput](t, "CreateApi")(e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("ws"),
		ProtocolType: v2types.ProtocolTypeWebsocket, RouteSelectionExpression: aws.String("$request.body.action")}))
	schema := `{"type":"object","properties":{"action":{"type":"string"}}}`
	m := must[*apigatewayv2.CreateModelOutput](t, "CreateModel")(e.ag.CreateModel(ctx, &apigatewayv2.CreateModelInput{ApiId: api.ApiId,
		Name: aws.String("Msg"), Schema: aws.String(schema), Description: aws.String("a message"), ContentType: aws.String("application/json")}))
	if !sameJSON(aws.ToString(m.Schema), schema) || aws.ToString(m.Description) != "a message" {
		t.Fatalf("CreateModel = schema %s description %q; want the schema as written and its description", aws.ToString(m.Schema), aws.ToString(m.Description))
	}
	got := must[*apigatewayv2.GetModelOutput](t, "GetModel")(e.ag.GetModel(ctx, &apigatewayv2.GetModelInput{ApiId: api.ApiId, ModelId: m.ModelId}))
	if !sameJSON(aws.ToString(got.Schema), schema) || aws.ToString(got.Description) != "a message" {
		t.Fatalf("GetModel = schema %s description %q", aws.ToString(got.Schema), aws.ToString(got.Description))
	}
	up := must[*apigatewayv2.UpdateModelOutput](t, "UpdateModel")(e.ag.UpdateModel(ctx, &apigatewayv2.UpdateModelInput{ApiId: api.ApiId,
		ModelId: m.ModelId, Description: aws.String("changed")}))
	if !sameJSON(aws.ToString(up.Schema), schema) || aws.ToString(up.Description) != "changed" {
		t.Fatalf("UpdateModel description = schema %s description %q", aws.ToString(up.Schema), aws.ToString(up.Description))
	}
	schema2 := `{"type":"object"}`
	up = must[*apigatewayv2.UpdateModelOutput](t, "UpdateModel")(e.ag.UpdateModel(ctx, &apigatewayv2.UpdateModelInput{ApiId: api.ApiId,
		ModelId: m.ModelId, Schema: aws.String(schema2), Name: aws.String("Msg2")}))
	if !sameJSON(aws.ToString(up.Schema), schema2) || aws.ToString(up.Description) != "changed" || aws.ToString(up.Name) != "Msg2" {
		t.Fatalf("UpdateModel schema and name = %s %s description %q", aws.ToString(up.Name), aws.ToString(up.Schema), aws.ToString(up.Description))
	}
	list := must[*apigatewayv2.GetModelsOutput](t, "GetModels")(e.ag.GetModels(ctx, &apigatewayv2.GetModelsInput{ApiId: api.ApiId}))
	if len(list.Items) != 1 || aws.ToString(list.Items[0].Description) != "changed" || !sameJSON(aws.ToString(list.Items[0].Schema), schema2) {
		t.Fatalf("GetModels = %+v", list.Items)
	}
}
