package admin_test

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
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

// TestV2UpdateIntegrationMergesParameters checks update-integration's map
// semantics, as API Gateway's (and Terraform's aws_apigatewayv2_integration,
// which removes a parameter by sending it with the value ""): requestParameters
// merge and a "" value removes its mapping, so the backend never receives an
// empty mapped header; a responseParameters status given replaces that
// status's mappings, an empty map removes it, the others stay. (Create refuses
// "": TestV2CreateIntegrationRefusesEmptyMappings.)
func TestV2UpdateIntegrationMergesParameters(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	be, seen := headerBackend(t, nil)
	ctx := t.Context()
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("merge"), ProtocolType: "HTTP", Target: aws.String(be.URL + "/m")})
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.ag.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: api.ApiId})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("GetIntegrations: %+v %v", list, err)
	}
	integ := list.Items[0].IntegrationId
	update := func(req map[string]string, resp map[string]map[string]string) *apigatewayv2.GetIntegrationOutput {
		t.Helper()
		if _, err := e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: api.ApiId, IntegrationId: integ,
			RequestParameters: req, ResponseParameters: resp}); err != nil {
			t.Fatalf("UpdateIntegration %v %v: %v", req, resp, err)
		}
		got, err := e.ag.GetIntegration(ctx, &apigatewayv2.GetIntegrationInput{ApiId: api.ApiId, IntegrationId: integ})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	call := func() http.Header {
		t.Helper()
		if status, body, _ := get(t, e.env.GatewayURL+"/"+aws.ToString(api.ApiId)+"/m"); status != http.StatusOK {
			t.Fatalf("GET /m: %d %s", status, body)
		}
		return seen()
	}

	update(map[string]string{"overwrite:header.X-Tenant": "acme", "overwrite:header.X-Region": "eu"},
		map[string]map[string]string{"200": {"overwrite:header.x-a": "1"}, "404": {"overwrite:header.x-b": "2"}})
	got := update(map[string]string{"overwrite:header.X-Region": "", "overwrite:header.X-Zone": "z1"}, nil)
	if want := map[string]string{"overwrite:header.X-Tenant": "acme", "overwrite:header.X-Zone": "z1"}; !maps.Equal(got.RequestParameters, want) {
		t.Errorf("requestParameters after a merge = %v, want %v", got.RequestParameters, want)
	}
	if len(got.ResponseParameters) != 2 {
		t.Errorf("responseParameters not given changed: %v", got.ResponseParameters)
	}
	h := call()
	if _, ok := h["X-Region"]; ok || h.Get("X-Tenant") != "acme" || h.Get("X-Zone") != "z1" {
		t.Errorf("backend headers %v: want X-Tenant acme, X-Zone z1 and no X-Region", h)
	}

	got = update(nil, map[string]map[string]string{"404": {}, "200": {"overwrite:header.x-c": "3"}})
	if len(got.ResponseParameters) != 1 || !maps.Equal(got.ResponseParameters["200"], map[string]string{"overwrite:header.x-c": "3"}) {
		t.Errorf("responseParameters after removing 404 and replacing 200 = %v", got.ResponseParameters)
	}
	if len(got.RequestParameters) != 2 {
		t.Errorf("requestParameters not given changed: %v", got.RequestParameters)
	}
	got = update(map[string]string{"overwrite:header.X-Tenant": "", "overwrite:header.X-Zone": ""}, nil)
	if len(got.RequestParameters) != 0 {
		t.Errorf("requestParameters after removing all = %v", got.RequestParameters)
	}
	if h := call(); h.Get("X-Tenant") != "" || h.Get("X-Zone") != "" {
		t.Errorf("backend headers after the removal %v", h)
	}
}

// TestV2UnbracedMappingReferences: the tester's case. An HTTP_PROXY
// integration overwriting the path with "/$request.path.p" and a header with
// "pre-$request.header.x-src" sends the values, not the text; a reference
// followed by more text without braces is refused with the braced form.
func TestV2UnbracedMappingReferences(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	var mu sync.Mutex
	var path, mix string
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		path, mix = r.URL.Path, r.Header.Get("X-Mix")
		mu.Unlock()
	}))
	t.Cleanup(be.Close)
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("unbraced"), ProtocolType: "HTTP"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: "HTTP_PROXY",
		IntegrationMethod: aws.String("GET"), IntegrationUri: aws.String(be.URL), PayloadFormatVersion: aws.String("1.0"),
		RequestParameters: map[string]string{"overwrite:path": "/$request.path.p/more"}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "/${request.path.p}/more")
	in, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: "HTTP_PROXY",
		IntegrationMethod: aws.String("GET"), IntegrationUri: aws.String(be.URL), PayloadFormatVersion: aws.String("1.0"),
		RequestParameters: map[string]string{"overwrite:path": "/$request.path.p", "overwrite:header.X-Mix": "pre-$request.header.x-src"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("GET /v1/{p}"),
		Target: aws.String("integrations/" + aws.ToString(in.IntegrationId))}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("$default"), AutoDeploy: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if status, _ := e.get(t, "GET", "/"+aws.ToString(api.ApiId)+"/v1/abc", "x-src", "S"); status != http.StatusOK {
		t.Fatalf("GET /v1/abc: %d", status)
	}
	mu.Lock()
	defer mu.Unlock()
	if path != "/abc" || mix != "pre-S" {
		t.Fatalf("backend got path %q, X-Mix %q; want /abc and pre-S", path, mix)
	}
}

// TestV2CreateIntegrationRefusesEmptyMappings: the tester's case. A mapping
// given the value "" on create-integration (or in an imported HTTP API) was
// dropped without a word, so "remove:header.x-rm": "" left the header going to
// the backend and "remove:header.set-cookie": "" left it going to the client.
// Nothing is there to delete on create, so "" is refused (a remove takes two
// single quotes), as API Gateway refuses a mapping without a source; two single
// quotes are kept and applied;
// on update-integration "" still deletes a mapping.
func TestV2CreateIntegrationRefusesEmptyMappings(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	be, seen := headerBackend(t, func(w http.ResponseWriter) { http.SetCookie(w, &http.Cookie{Name: "s", Value: "secret"}) })
	ctx := t.Context()
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("rm"), ProtocolType: "HTTP"})
	if err != nil {
		t.Fatal(err)
	}
	create := func(req map[string]string, resp map[string]map[string]string) (*apigatewayv2.CreateIntegrationOutput, error) {
		return e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: "HTTP_PROXY",
			IntegrationMethod: aws.String("GET"), IntegrationUri: aws.String(be.URL + "/n"), PayloadFormatVersion: aws.String("1.0"),
			RequestParameters: req, ResponseParameters: resp})
	}
	_, err = create(map[string]string{"remove:header.x-rm": ""}, nil)
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `"remove:header.x-rm" has the value "": a remove mapping takes the value ''`)
	_, err = create(nil, map[string]map[string]string{"200": {"remove:header.set-cookie": ""}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `"remove:header.set-cookie" has the value ""`)
	_, err = create(map[string]string{"overwrite:header.x-tenant": "", "overwrite:header.x-kept": "k"}, nil)
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `"overwrite:header.x-tenant" has the value "": give a value`)
	if list, err := e.ag.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: api.ApiId}); err != nil || len(list.Items) != 0 {
		t.Fatalf("after refused creates: %+v %v, want no integration", list, err)
	}

	integ, err := create(map[string]string{"remove:header.x-rm": "''"}, map[string]map[string]string{"200": {"remove:header.set-cookie": "''"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("GET /n"),
		Target: aws.String("integrations/" + aws.ToString(integ.IntegrationId))}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("$default"), AutoDeploy: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.env.GatewayURL+"/"+aws.ToString(api.ApiId)+"/n", nil)
	req.Header.Set("X-Rm", "gone")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	rm := seen().Values("X-Rm")
	if res.StatusCode != http.StatusOK || len(rm) != 0 || len(res.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("GET /n: %d, backend X-Rm %q, client Set-Cookie %q; want 200 and both removed", res.StatusCode, rm, res.Header.Values("Set-Cookie"))
	}

	// update-integration: "" deletes the mapping, as API Gateway's does.
	up, err := e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: api.ApiId, IntegrationId: integ.IntegrationId,
		RequestParameters: map[string]string{"remove:header.x-rm": ""}})
	if err != nil || len(up.RequestParameters) != 0 {
		t.Fatalf("UpdateIntegration deleting the mapping: %+v %v", up, err)
	}

	doc := `{"openapi":"3.0.1","info":{"title":"rmimp","version":"1"},
	  "paths":{"/n":{"get":{"x-amazon-apigateway-integration":{"type":"http_proxy","httpMethod":"GET","uri":"` + be.URL + `/n",
	    "payloadFormatVersion":"1.0","requestParameters":{"remove:header.x-rm":""}}}}}}`
	_, err = e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `"remove:header.x-rm" has the value ""`)
}

// headerBackend is a backend answering "ok" (after before, when given, sets
// its headers) and a function returning the headers of the last request it
// got.
func headerBackend(t *testing.T, before func(http.ResponseWriter)) (*httptest.Server, func() http.Header) {
	t.Helper()
	var mu sync.Mutex
	var seen http.Header
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r.Header.Clone()
		mu.Unlock()
		if before != nil {
			before(w)
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(be.Close)
	return be, func() http.Header {
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}
