package admin_test

import (
	"errors"
	"github.com/portico-dev/portico/internal/testkit"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
)

// createFunction creates function name from a sample (or, for "./path", the
// main package there), with env variables and volume chat mounted at /mnt/chat.
func (e *sdkEnv[C]) createFunction(t *testing.T, name, sample string, vars map[string]string) {
	t.Helper()
	var zip []byte
	if strings.HasPrefix(sample, "./") {
		var err error
		if zip, err = client.ZipDir(apptest.Program(t, sample)); err != nil {
			t.Fatal(err)
		}
	} else {
		zip = apptest.ZipSample(t, sample)
	}
	_, err := e.fn.CreateFunction(t.Context(), &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String("arn:aws:iam::000000000000:role/any"),
		Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), PackageType: ltypes.PackageTypeZip,
		Code:              &ltypes.FunctionCode{ZipFile: zip},
		Environment:       &ltypes.Environment{Variables: vars},
		Timeout:           aws.Int32(10),
		FileSystemConfigs: []ltypes.FileSystemConfig{{Arn: aws.String("portico:volume:chat"), LocalMountPath: aws.String("/mnt/chat")}},
	})
	if err != nil {
		t.Fatalf("CreateFunction %s: %v", name, err)
	}
}

// get calls the gateway and returns the status and body.
func (e *sdkEnv[C]) get(t *testing.T, method, path string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.env.GatewayURL+path, nil)
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
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// wantV2Error checks an SDK error's status, error code and message.
func wantV2Error(t *testing.T, err error, status int, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("got %s %q, want %s containing %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Fatalf("status %d, want %d", re.HTTPStatusCode(), status)
	}
}

const helloARN = "arn:aws:lambda:us-east-1:000000000000:function:hello"

// TestV2QuickCreate quick-creates HTTP APIs with --target, a function and an
// HTTP URL, and calls them through the gateway at once: quick create makes
// the route, the integration and an auto-deploying $default stage.
func TestV2QuickCreate(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	e.createFunction(t, "hello", "hello", map[string]string{"GREETING": "quick"})

	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("quick"),
		ProtocolType: v2types.ProtocolTypeHttp, Target: aws.String(helloARN)})
	if err != nil {
		t.Fatalf("CreateApi: %v", err)
	}
	id := aws.ToString(api.ApiId)
	if aws.ToString(api.RouteSelectionExpression) != "$request.method $request.path" || api.CreatedDate == nil ||
		!strings.HasSuffix(aws.ToString(api.ApiEndpoint), "/"+id) {
		t.Errorf("api = %+v", api)
	}
	status, body := e.get(t, http.MethodGet, "/"+id+"/any/path?name=x")
	if status != http.StatusOK || !strings.Contains(body, `"greeting":"quick"`) {
		t.Fatalf("quick-created api answered %d %s", status, body)
	}

	stages, err := e.ag.GetStages(ctx, &apigatewayv2.GetStagesInput{ApiId: aws.String(id)})
	if err != nil || len(stages.Items) != 1 {
		t.Fatalf("GetStages: %+v %v", stages, err)
	}
	if st := stages.Items[0]; aws.ToString(st.StageName) != "$default" || !aws.ToBool(st.AutoDeploy) || aws.ToString(st.DeploymentId) == "" {
		t.Errorf("stage = %+v", st)
	}
	def, err := e.ag.GetStage(ctx, &apigatewayv2.GetStageInput{ApiId: aws.String(id), StageName: aws.String("$default")})
	if err != nil || aws.ToString(def.StageName) != "$default" {
		t.Fatalf("GetStage $default: %+v %v", def, err)
	}
	routes, err := e.ag.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: aws.String(id)})
	if err != nil || len(routes.Items) != 1 || aws.ToString(routes.Items[0].RouteKey) != "$default" {
		t.Fatalf("GetRoutes: %+v %v", routes, err)
	}
	integID, _ := strings.CutPrefix(aws.ToString(routes.Items[0].Target), "integrations/")
	integ, err := e.ag.GetIntegration(ctx, &apigatewayv2.GetIntegrationInput{ApiId: aws.String(id), IntegrationId: aws.String(integID)})
	if err != nil || integ.IntegrationType != v2types.IntegrationTypeAwsProxy || aws.ToString(integ.PayloadFormatVersion) != "2.0" ||
		aws.ToString(integ.IntegrationUri) != helloARN {
		t.Fatalf("GetIntegration: %+v %v", integ, err)
	}

	// disableExecuteApiEndpoint turns the default endpoint off (custom domains only).
	up, err := e.ag.UpdateApi(ctx, &apigatewayv2.UpdateApiInput{ApiId: aws.String(id), DisableExecuteApiEndpoint: aws.Bool(true)})
	if err != nil || !aws.ToBool(up.DisableExecuteApiEndpoint) {
		t.Fatalf("UpdateApi: %+v %v", up, err)
	}
	if status, body := e.get(t, http.MethodGet, "/"+id+"/any/path"); status == http.StatusOK {
		t.Fatalf("the disabled default endpoint answered %d %s", status, body)
	}

	// An HTTP URL target, with a route key.
	be := newBackend(t)
	api2, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("proxy"),
		ProtocolType: v2types.ProtocolTypeHttp, Target: aws.String(be.srv.URL + "/items"), RouteKey: aws.String("GET /items")})
	if err != nil {
		t.Fatalf("CreateApi: %v", err)
	}
	status, body = e.get(t, http.MethodGet, "/"+aws.ToString(api2.ApiId)+"/items")
	if status != http.StatusOK || !strings.Contains(body, `"path":"/items"`) || be.count("/items") != 1 {
		t.Fatalf("proxy api answered %d %s", status, body)
	}
	if status, _ := e.get(t, http.MethodPost, "/"+aws.ToString(api2.ApiId)+"/items"); status != http.StatusNotFound {
		t.Errorf("a route the api lacks answered %d, want 404", status)
	}

	// A WebSocket API has no quick create.
	_, err = e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("ws"), ProtocolType: v2types.ProtocolTypeWebsocket,
		RouteSelectionExpression: aws.String("$request.body.action"), Target: aws.String(helloARN)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "Quick create")
	// Without a route selection expression too: the answer is that quick
	// create is for HTTP APIs, not that the expression is missing.
	_, err = e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("ws"), ProtocolType: v2types.ProtocolTypeWebsocket,
		Target: aws.String(helloARN)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "Quick create (target) is for HTTP APIs")

	// --credentials-arn is refused, said once, without an error kind's text.
	_, err = e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("cred"), ProtocolType: v2types.ProtocolTypeHttp,
		Target: aws.String(helloARN), CredentialsArn: aws.String("arn:aws:iam::000000000000:role/r")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" {
		t.Fatalf("CreateApi --credentials-arn: %v", err)
	}
	if msg := ae.ErrorMessage(); strings.Contains(msg, "invalid parameter") || len(msg) > 0 && strings.Count(msg, msg[:min(len(msg), 30)]) > 1 {
		t.Errorf("CreateApi --credentials-arn says %q", msg)
	}
}

// TestV2SharedIntegration builds an HTTP API route by route with one
// integration that two routes target: a change to it reaches both routes at
// the next deployment, it cannot be deleted while in use, and it survives a
// restart, an export and an import.
func TestV2SharedIntegration(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	be := newBackend(t)
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("shared"), ProtocolType: v2types.ProtocolTypeHttp})
	if err != nil {
		t.Fatal(err)
	}
	id := api.ApiId
	integ, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: id,
		IntegrationType: v2types.IntegrationTypeHttpProxy, IntegrationMethod: aws.String("ANY"),
		IntegrationUri: aws.String(be.srv.URL + "/one"), PayloadFormatVersion: aws.String("1.0"), Description: aws.String("backend")})
	if err != nil {
		t.Fatalf("CreateIntegration: %v", err)
	}
	target := aws.String("integrations/" + aws.ToString(integ.IntegrationId))
	for _, key := range []string{"GET /a", "POST /b"} {
		rt, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String(key), Target: target})
		if err != nil || aws.ToString(rt.Target) != aws.ToString(target) || rt.AuthorizationType != v2types.AuthorizationTypeNone {
			t.Fatalf("CreateRoute %s: %+v %v", key, rt, err)
		}
	}
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("prod"),
		StageVariables: map[string]string{"v": "1"}}); err != nil {
		t.Fatalf("CreateStage: %v", err)
	}
	if status, _ := e.get(t, http.MethodGet, "/"+aws.ToString(id)+"/prod/a"); status != http.StatusNotFound {
		t.Errorf("a stage with no deployment answered %d", status)
	}
	dep, err := e.ag.CreateDeployment(ctx, &apigatewayv2.CreateDeploymentInput{ApiId: id, StageName: aws.String("prod")})
	if err != nil || dep.DeploymentStatus != v2types.DeploymentStatusDeployed || aws.ToBool(dep.AutoDeployed) {
		t.Fatalf("CreateDeployment: %+v %v", dep, err)
	}
	call := func(method, path, wantBackend string) {
		t.Helper()
		status, body := e.get(t, method, "/"+aws.ToString(id)+"/prod"+path)
		if status != http.StatusOK || !strings.Contains(body, `"path":"`+wantBackend+`"`) {
			t.Fatalf("%s %s answered %d %s, want the backend's %s", method, path, status, body, wantBackend)
		}
	}
	call(http.MethodGet, "/a", "/one")
	call(http.MethodPost, "/b", "/one")

	// One change to the integration reaches both routes at the next deployment.
	if _, err := e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: id, IntegrationId: integ.IntegrationId,
		IntegrationUri: aws.String(be.srv.URL + "/two")}); err != nil {
		t.Fatalf("UpdateIntegration: %v", err)
	}
	call(http.MethodGet, "/a", "/one") // the stage serves its deployment until redeployed
	if _, err := e.ag.CreateDeployment(ctx, &apigatewayv2.CreateDeploymentInput{ApiId: id, StageName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	call(http.MethodGet, "/a", "/two")
	call(http.MethodPost, "/b", "/two")

	_, err = e.ag.DeleteIntegration(ctx, &apigatewayv2.DeleteIntegrationInput{ApiId: id, IntegrationId: integ.IntegrationId})
	wantV2Error(t, err, http.StatusConflict, "ConflictException", "GET /a")

	e.env.Restart()
	call(http.MethodPost, "/b", "/two")
	list, err := e.ag.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: id})
	if err != nil || len(list.Items) != 1 || aws.ToString(list.Items[0].Description) != "backend" {
		t.Fatalf("GetIntegrations after restart: %+v %v", list, err)
	}

	// Export, and import the export: the two routes share one integration again.
	out, err := e.ag.ExportApi(ctx, &apigatewayv2.ExportApiInput{ApiId: id, Specification: aws.String("OAS30"),
		OutputType: aws.String("YAML"), StageName: aws.String("prod")})
	if err != nil {
		t.Fatalf("ExportApi: %v", err)
	}
	if !strings.Contains(string(out.Body), "openapi: 3.0.1") || strings.Count(string(out.Body), be.srv.URL+"/two") != 2 {
		t.Fatalf("export:\n%s", out.Body)
	}
	imp, err := e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(string(out.Body))})
	if err != nil {
		t.Fatalf("ImportApi: %v", err)
	}
	routes, err := e.ag.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: imp.ApiId})
	if err != nil || len(routes.Items) != 2 || aws.ToString(routes.Items[0].Target) != aws.ToString(routes.Items[1].Target) {
		t.Fatalf("imported routes: %+v %v", routes, err)
	}
	list, err = e.ag.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: imp.ApiId})
	if err != nil || len(list.Items) != 1 || aws.ToString(list.Items[0].IntegrationUri) != be.srv.URL+"/two" {
		t.Fatalf("imported integrations: %+v %v", list, err)
	}

	// Reimport replaces the definition and keeps the name.
	doc := `{"openapi":"3.0.1","info":{"title":"other","version":"2"},"paths":{"/c":{"get":{"x-amazon-apigateway-integration":` +
		`{"type":"http_proxy","httpMethod":"GET","uri":"` + be.srv.URL + `/c","payloadFormatVersion":"1.0"}}}}}`
	re, err := e.ag.ReimportApi(ctx, &apigatewayv2.ReimportApiInput{ApiId: imp.ApiId, Body: aws.String(doc)})
	if err != nil || aws.ToString(re.Name) != "shared" {
		t.Fatalf("ReimportApi: %+v %v", re, err)
	}
	routes, err = e.ag.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: imp.ApiId})
	if err != nil || len(routes.Items) != 1 || aws.ToString(routes.Items[0].RouteKey) != "GET /c" {
		t.Fatalf("reimported routes: %+v %v", routes, err)
	}
}

// TestV2AutoDeploy shows a stage with autoDeploy following every change of
// its API without a deployment call.
func TestV2AutoDeploy(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	be := newBackend(t)
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("auto"), ProtocolType: v2types.ProtocolTypeHttp})
	if err != nil {
		t.Fatal(err)
	}
	id := api.ApiId
	st, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("live"), AutoDeploy: aws.Bool(true),
		DefaultRouteSettings: &v2types.RouteSettings{ThrottlingBurstLimit: aws.Int32(50), ThrottlingRateLimit: aws.Float64(100)}})
	if err != nil {
		t.Fatalf("CreateStage: %v", err)
	}
	if aws.ToString(st.DeploymentId) != "" || !strings.Contains(aws.ToString(st.LastDeploymentStatusMessage), "no routes") ||
		aws.ToInt32(st.DefaultRouteSettings.ThrottlingBurstLimit) != 50 {
		t.Errorf("a stage of an api without routes: %+v", st)
	}
	integ, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: id,
		IntegrationType: v2types.IntegrationTypeHttpProxy, IntegrationMethod: aws.String("GET"),
		IntegrationUri: aws.String(be.srv.URL + "/v1"), PayloadFormatVersion: aws.String("1.0")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("GET /x"),
		Target: aws.String("integrations/" + aws.ToString(integ.IntegrationId))}); err != nil {
		t.Fatal(err)
	}
	if status, body := e.get(t, http.MethodGet, "/"+aws.ToString(id)+"/live/x"); status != http.StatusOK || !strings.Contains(body, `"/v1"`) {
		t.Fatalf("after create-route: %d %s", status, body)
	}
	if _, err := e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: id, IntegrationId: integ.IntegrationId,
		IntegrationUri: aws.String(be.srv.URL + "/v2")}); err != nil {
		t.Fatal(err)
	}
	if status, body := e.get(t, http.MethodGet, "/"+aws.ToString(id)+"/live/x"); status != http.StatusOK || !strings.Contains(body, `"/v2"`) {
		t.Fatalf("after update-integration: %d %s", status, body)
	}
	deps, err := e.ag.GetDeployments(ctx, &apigatewayv2.GetDeploymentsInput{ApiId: id})
	if err != nil || len(deps.Items) != 2 || !aws.ToBool(deps.Items[1].AutoDeployed) {
		t.Fatalf("GetDeployments: %+v %v", deps, err)
	}
	got, err := e.ag.GetStage(ctx, &apigatewayv2.GetStageInput{ApiId: id, StageName: aws.String("live")})
	if err != nil || aws.ToString(got.DeploymentId) != aws.ToString(deps.Items[1].DeploymentId) ||
		aws.ToString(got.LastDeploymentStatusMessage) != "Successfully deployed stage with deployment ID '"+aws.ToString(got.DeploymentId)+"'" {
		t.Fatalf("GetStage: %+v %v", got, err)
	}
	_, err = e.ag.CreateDeployment(ctx, &apigatewayv2.CreateDeploymentInput{ApiId: id, StageName: aws.String("live")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "autoDeploy")

	// Turned off, the stage stays on its deployment.
	if _, err := e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: id, StageName: aws.String("live"), AutoDeploy: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: id, IntegrationId: integ.IntegrationId,
		IntegrationUri: aws.String(be.srv.URL + "/v3")}); err != nil {
		t.Fatal(err)
	}
	if status, body := e.get(t, http.MethodGet, "/"+aws.ToString(id)+"/live/x"); status != http.StatusOK || !strings.Contains(body, `"/v2"`) {
		t.Fatalf("with autoDeploy off: %d %s", status, body)
	}
	// Route settings throttle one route: a bucket of one request that refills
	// once in 1000 s.
	up, err := e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: id, StageName: aws.String("live"),
		RouteSettings: map[string]v2types.RouteSettings{"GET /x": {ThrottlingBurstLimit: aws.Int32(1), ThrottlingRateLimit: aws.Float64(0.001)}}})
	if err != nil || aws.ToInt32(up.RouteSettings["GET /x"].ThrottlingBurstLimit) != 1 || aws.ToInt32(up.DefaultRouteSettings.ThrottlingBurstLimit) != 50 {
		t.Fatalf("UpdateStage routeSettings: %+v %v", up, err)
	}
	if status, _ := e.get(t, http.MethodGet, "/"+aws.ToString(id)+"/live/x"); status != http.StatusOK {
		t.Fatalf("first call: %d", status)
	}
	if status, _ := e.get(t, http.MethodGet, "/"+aws.ToString(id)+"/live/x"); status != http.StatusTooManyRequests {
		t.Fatalf("second call: %d, want 429", status)
	}
	if _, err := e.ag.DeleteRouteSettings(ctx, &apigatewayv2.DeleteRouteSettingsInput{ApiId: id, StageName: aws.String("live"),
		RouteKey: aws.String("GET /x")}); err != nil {
		t.Fatalf("DeleteRouteSettings: %v", err)
	}
	if got, err := e.ag.GetStage(ctx, &apigatewayv2.GetStageInput{ApiId: id, StageName: aws.String("live")}); err != nil ||
		len(got.RouteSettings) != 0 || got.DefaultRouteSettings == nil {
		t.Fatalf("after DeleteRouteSettings: %+v %v", got, err)
	}
	_, err = e.ag.DeleteRouteSettings(ctx, &apigatewayv2.DeleteRouteSettingsInput{ApiId: id, StageName: aws.String("live"),
		RouteKey: aws.String("GET /x")})
	wantV2Error(t, err, http.StatusNotFound, "NotFoundException", "RouteSettings")
}

// TestV2WebSocketChat builds the chat sample's WebSocket API with apigatewayv2
// calls and has two clients exchange a message through @connections.
func TestV2WebSocketChat(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	for _, fn := range []string{"chat-connect", "chat-disconnect", "chat-sendmessage"} {
		e.createFunction(t, fn, "chat/cmd/"+fn, nil)
	}
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("chat"), ProtocolType: v2types.ProtocolTypeWebsocket,
		RouteSelectionExpression: aws.String("$request.body.action")})
	if err != nil {
		t.Fatalf("CreateApi: %v", err)
	}
	id := api.ApiId
	if !strings.HasPrefix(aws.ToString(api.ApiEndpoint), "ws://") || aws.ToString(api.ApiKeySelectionExpression) != "$request.header.x-api-key" {
		t.Errorf("api = %+v", api)
	}
	for key, fn := range map[string]string{"$connect": "chat-connect", "$disconnect": "chat-disconnect", "sendmessage": "chat-sendmessage"} {
		integ, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: id, IntegrationType: v2types.IntegrationTypeAwsProxy,
			IntegrationUri: aws.String("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:" + fn + "/invocations")})
		if err != nil {
			t.Fatalf("CreateIntegration %s: %v", fn, err)
		}
		rt, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String(key),
			Target: aws.String("integrations/" + aws.ToString(integ.IntegrationId))})
		if err != nil {
			t.Fatalf("CreateRoute %s: %v", key, err)
		}
		if key == "sendmessage" {
			if _, err := e.ag.CreateRouteResponse(ctx, &apigatewayv2.CreateRouteResponseInput{ApiId: id, RouteId: rt.RouteId,
				RouteResponseKey: aws.String("$default")}); err != nil {
				t.Fatalf("CreateRouteResponse: %v", err)
			}
			// Another key is refused for what it is, not as a conflict with $default.
			_, err := e.ag.CreateRouteResponse(ctx, &apigatewayv2.CreateRouteResponseInput{ApiId: id, RouteId: rt.RouteId,
				RouteResponseKey: aws.String("other")})
			wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `routeResponseKey "other"`)
			if _, err := e.ag.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: id, RouteId: rt.RouteId,
				RouteResponseSelectionExpression: aws.String("$default")}); err != nil {
				t.Fatalf("UpdateRoute: %v", err)
			}
		}
	}
	dep, err := e.ag.CreateDeployment(ctx, &apigatewayv2.CreateDeploymentInput{ApiId: id, Description: aws.String("first")})
	if err != nil {
		t.Fatalf("CreateDeployment: %v", err)
	}
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("dev"), DeploymentId: dep.DeploymentId}); err != nil {
		t.Fatalf("CreateStage: %v", err)
	}
	if up, err := e.ag.UpdateDeployment(ctx, &apigatewayv2.UpdateDeploymentInput{ApiId: id, DeploymentId: dep.DeploymentId,
		Description: aws.String("chat v1")}); err != nil || aws.ToString(up.Description) != "chat v1" {
		t.Fatalf("UpdateDeployment: %+v %v", up, err)
	}
	_, err = e.ag.DeleteDeployment(ctx, &apigatewayv2.DeleteDeploymentInput{ApiId: id, DeploymentId: dep.DeploymentId})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "Active stages pointing to this deployment must be moved or deleted")

	ws := "ws" + strings.TrimPrefix(e.env.GatewayURL, "http") + "/" + aws.ToString(id) + "/dev"
	dial := func() *websocket.Conn {
		t.Helper()
		c, resp, err := websocket.DefaultDialer.DialContext(ctx, ws, nil)
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if err != nil {
			t.Fatalf("dial %s: %v", ws, err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	c1 := dial()
	c2 := dial()
	// $connect holds the handshake until its function has recorded the member.
	if n := members(t, e.env.DataDir, aws.ToString(id), "dev"); n != 2 {
		t.Fatalf("%d chat members after two handshakes, want 2", n)
	}
	if err := c1.WriteMessage(websocket.TextMessage, []byte(`{"action":"sendmessage","data":"hello over v2"}`)); err != nil {
		t.Fatal(err)
	}
	_ = c2.SetReadDeadline(time.Now().Add(60 * time.Second))
	_, msg, err := c2.ReadMessage()
	if err != nil || string(msg) != "hello over v2" {
		t.Fatalf("c2 read %q %v", msg, err)
	}
	// sendmessage is a two-way route: the sender gets the function's answer.
	_ = c1.SetReadDeadline(time.Now().Add(60 * time.Second))
	if _, msg, err = c1.ReadMessage(); err != nil || string(msg) != "Data sent." {
		t.Fatalf("c1 read %q %v", msg, err)
	}
}

// TestV2WebSocketAPIKeyAndMock builds a WebSocket API whose $connect route
// requires an API key (apiKeySelectionExpression $request.header.x-api-key)
// and whose $default route is a two-way MOCK answered by its integration
// response's template; the key comes from an apigateway (v1) usage plan.
func TestV2WebSocketAPIKeyAndMock(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("keyed"), ProtocolType: v2types.ProtocolTypeWebsocket,
		RouteSelectionExpression: aws.String("$request.body.action"), ApiKeySelectionExpression: aws.String("$request.header.x-api-key")})
	if err != nil {
		t.Fatal(err)
	}
	id := api.ApiId
	integ, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: id, IntegrationType: v2types.IntegrationTypeMock,
		RequestTemplates: map[string]string{"$default": `{"statusCode": 200}`}, TemplateSelectionExpression: aws.String(`\$default`)})
	if err != nil {
		t.Fatalf("CreateIntegration: %v", err)
	}
	ir, err := e.ag.CreateIntegrationResponse(ctx, &apigatewayv2.CreateIntegrationResponseInput{ApiId: id, IntegrationId: integ.IntegrationId,
		IntegrationResponseKey: aws.String("$default"), ResponseTemplates: map[string]string{"$default": `pong`}})
	if err != nil || aws.ToString(ir.IntegrationResponseKey) != "$default" {
		t.Fatalf("CreateIntegrationResponse: %+v %v", ir, err)
	}
	_, err = e.ag.CreateIntegrationResponse(ctx, &apigatewayv2.CreateIntegrationResponseInput{ApiId: id, IntegrationId: integ.IntegrationId,
		IntegrationResponseKey: aws.String("$default")})
	wantV2Error(t, err, http.StatusConflict, "ConflictException", "already exists")
	target := aws.String("integrations/" + aws.ToString(integ.IntegrationId))
	if _, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("$connect"), Target: target,
		ApiKeyRequired: aws.Bool(true)}); err != nil {
		t.Fatalf("CreateRoute $connect: %v", err)
	}
	if _, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("$default"), Target: target,
		RouteResponseSelectionExpression: aws.String("$default")}); err != nil {
		t.Fatalf("CreateRoute $default: %v", err)
	}
	_, err = e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("other"), Target: target,
		ApiKeyRequired: aws.Bool(true)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "$connect")
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("prod"), AutoDeploy: aws.Bool(true)}); err != nil {
		t.Fatalf("CreateStage: %v", err)
	}

	v1 := apigateway.New(apigateway.Options{BaseEndpoint: aws.String(e.env.AdminURL), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("portico", v2Token, "")})
	key, err := v1.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("k"), Enabled: true, Value: aws.String("key-0123456789abcdefghij")})
	if err != nil {
		t.Fatalf("CreateApiKey: %v", err)
	}
	plan, err := v1.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("p"),
		ApiStages: []agtypes.ApiStage{{ApiId: id, Stage: aws.String("prod")}}})
	if err != nil {
		t.Fatalf("CreateUsagePlan: %v", err)
	}
	if _, err := v1.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: plan.Id, KeyId: key.Id, KeyType: aws.String("API_KEY")}); err != nil {
		t.Fatalf("CreateUsagePlanKey: %v", err)
	}

	ws := "ws" + strings.TrimPrefix(e.env.GatewayURL, "http") + "/" + aws.ToString(id) + "/prod"
	_, resp, err := websocket.DefaultDialer.DialContext(ctx, ws, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("dial without a key: %v %+v", err, resp)
	}
	_ = resp.Body.Close()
	c, resp, err := websocket.DefaultDialer.DialContext(ctx, ws, http.Header{"X-Api-Key": {"key-0123456789abcdefghij"}})
	if err != nil {
		t.Fatalf("dial with the key: %v", err)
	}
	_ = resp.Body.Close()
	defer c.Close()
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"action":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
	if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "pong" {
		t.Fatalf("read %q %v", msg, err)
	}
}

// members counts the connections the chat functions keep in their volume for
// the API's stage (its room).
func members(t *testing.T, dataDir, apiID, stage string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dataDir, "volumes", "chat", apiID, stage, "connections"))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestV2Pagination pages through more APIs and routes than one page holds.
func TestV2Pagination(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	var want []string
	for i := range 7 {
		api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("p" + string(rune('a'+i))), ProtocolType: v2types.ProtocolTypeHttp})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, aws.ToString(api.ApiId))
	}
	var got []string
	var token *string
	pages := 0
	for {
		out, err := e.ag.GetApis(ctx, &apigatewayv2.GetApisInput{MaxResults: aws.String("3"), NextToken: token})
		if err != nil {
			t.Fatalf("GetApis: %v", err)
		}
		pages++
		if len(out.Items) > 3 {
			t.Fatalf("page of %d items", len(out.Items))
		}
		for _, a := range out.Items {
			got = append(got, aws.ToString(a.ApiId))
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if pages != 3 || !slices.Equal(got, want) {
		t.Fatalf("%d pages of %v, want 3 pages of %v", pages, got, want)
	}

	id := aws.String(want[0])
	for _, p := range []string{"/a", "/b", "/c", "/d", "/e"} {
		if _, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("GET " + p)}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := e.ag.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: id, MaxResults: aws.String("2")})
	if err != nil || len(first.Items) != 2 || first.NextToken == nil {
		t.Fatalf("GetRoutes: %+v %v", first, err)
	}
	rest, err := e.ag.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: id, NextToken: first.NextToken})
	if err != nil || len(rest.Items) != 3 || rest.NextToken != nil {
		t.Fatalf("GetRoutes page 2: %+v %v", rest, err)
	}
	_, err = e.ag.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: id, NextToken: aws.String("bogus")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "nextToken")
	// A long token is quoted cut short with a mark, not as if the client
	// had sent it cut.
	long := strings.Repeat("A", 51)
	_, err = e.ag.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: id, NextToken: aws.String(long)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `Invalid nextToken "`+long[:50]+`..."`)
	_, err = e.ag.GetApis(ctx, &apigatewayv2.GetApisInput{MaxResults: aws.String("0")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "maxResults")
}

// TestV2Errors checks apigatewayv2's error shapes and that what the gateway
// does not enforce is refused.
func TestV2Errors(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	_, err := e.ag.GetApi(ctx, &apigatewayv2.GetApiInput{ApiId: aws.String("nosuchapi0")})
	wantV2Error(t, err, http.StatusNotFound, "NotFoundException", "Invalid API identifier specified 000000000000:nosuchapi0")
	_, err = e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("r"), ProtocolType: "REST"})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "protocolType")
	_, err = e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("w"), ProtocolType: v2types.ProtocolTypeWebsocket,
		RouteSelectionExpression: aws.String("$request.header.x")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "routeSelectionExpression")
	// An empty one is refused too, not replaced with the default.
	_, err = e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("w"), ProtocolType: v2types.ProtocolTypeWebsocket,
		RouteSelectionExpression: aws.String("")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "routeSelectionExpression must not be empty")
	wsAPI, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("w"), ProtocolType: v2types.ProtocolTypeWebsocket,
		RouteSelectionExpression: aws.String("$request.body.type")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.ag.UpdateApi(ctx, &apigatewayv2.UpdateApiInput{ApiId: wsAPI.ApiId, RouteSelectionExpression: aws.String("")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "routeSelectionExpression must not be empty")
	if got, err := e.ag.GetApi(ctx, &apigatewayv2.GetApiInput{ApiId: wsAPI.ApiId}); err != nil || aws.ToString(got.RouteSelectionExpression) != "$request.body.type" {
		t.Fatalf("after a refused update-api: %+v %v", got, err)
	}
	// CORS wildcards other than *, https://* and http://* are refused, not
	// stored to match no origin.
	for _, o := range []string{"https://*.example.com", "https://ex*mple.com/"} {
		_, err = e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("h2"), ProtocolType: v2types.ProtocolTypeHttp,
			CorsConfiguration: &v2types.Cors{AllowOrigins: []string{o}, AllowMethods: []string{"*"}}})
		wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "the wildcard origins are * (any origin), https://* and http://*")
	}

	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("errors"), ProtocolType: v2types.ProtocolTypeHttp})
	if err != nil {
		t.Fatal(err)
	}
	id := api.ApiId
	_, err = e.ag.GetRoute(ctx, &apigatewayv2.GetRouteInput{ApiId: id, RouteId: aws.String("nope")})
	wantV2Error(t, err, http.StatusNotFound, "NotFoundException", "Invalid Route identifier specified")
	// A routeSettings key that is no route key is named as such, not as an
	// account-qualified id.
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("rs")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: id, StageName: aws.String("rs"),
		RouteSettings: map[string]v2types.RouteSettings{"GET /h": {ThrottlingBurstLimit: aws.Int32(1)}}})
	wantV2Error(t, err, http.StatusNotFound, "NotFoundException", "Unable to find Route by key GET /h within the provided RouteSettings; create the route first, or name one of the API's route keys")
	_, err = e.ag.GetIntegration(ctx, &apigatewayv2.GetIntegrationInput{ApiId: id, IntegrationId: aws.String("nope")})
	wantV2Error(t, err, http.StatusNotFound, "NotFoundException", "Invalid Integration identifier specified")
	_, err = e.ag.GetStage(ctx, &apigatewayv2.GetStageInput{ApiId: id, StageName: aws.String("nope")})
	wantV2Error(t, err, http.StatusNotFound, "NotFoundException", "Invalid Stage identifier specified")
	_, err = e.ag.GetDeployment(ctx, &apigatewayv2.GetDeploymentInput{ApiId: id, DeploymentId: aws.String("nope00")})
	wantV2Error(t, err, http.StatusNotFound, "NotFoundException", "Invalid Deployment identifier specified")
	_, err = e.ag.GetAuthorizer(ctx, &apigatewayv2.GetAuthorizerInput{ApiId: id, AuthorizerId: aws.String("nope")})
	wantV2Error(t, err, http.StatusNotFound, "NotFoundException", "Invalid Authorizer identifier specified")

	if _, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("GET /x")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("GET /x")})
	wantV2Error(t, err, http.StatusConflict, "ConflictException", "Route with key GET /x already exists")
	_, err = e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("GET x")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "Invalid route key")
	_, err = e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("GET /y"), Target: aws.String("integrations/nope")})
	wantV2Error(t, err, http.StatusNotFound, "NotFoundException", "Invalid Integration identifier specified")
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("s")})
	wantV2Error(t, err, http.StatusConflict, "ConflictException", "Stage s already exists")
	_, err = e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: id, IntegrationType: v2types.IntegrationTypeHttpProxy,
		IntegrationUri: aws.String("not a url"), PayloadFormatVersion: aws.String("1.0")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "absolute http or https URL")

	// A request signed with another secret is refused in API Gateway's shape.
	bad := apigatewayv2.New(apigatewayv2.Options{BaseEndpoint: aws.String(e.env.AdminURL), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("portico", "wrong", "")})
	_, err = bad.GetApis(ctx, &apigatewayv2.GetApisInput{})
	wantV2Error(t, err, http.StatusForbidden, "InvalidSignatureException", "admin token as the secret access key")

	// AWS_IAM routes are taken as an OpenAPI import with IAM is (the gateway
	// enforces them); a JWT scope on one is refused and nothing is half-applied.
	iam, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("GET /iam"),
		AuthorizationType: v2types.AuthorizationTypeAwsIam})
	if err != nil || iam.AuthorizationType != v2types.AuthorizationTypeAwsIam {
		t.Fatalf("CreateRoute(AWS_IAM) = %+v, %v", iam, err)
	}
	_, err = e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("GET /iam2"),
		AuthorizationType: v2types.AuthorizationTypeAwsIam, AuthorizationScopes: []string{"read"}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "")
	routes, err := e.ag.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: id})
	if err != nil || len(routes.Items) != 2 {
		t.Fatalf("routes after a refused create: %+v %v", routes, err)
	}
	// HTTP APIs have no API keys; required WebSocket parameters are not checked.
	_, err = e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("GET /k"), ApiKeyRequired: aws.Bool(true)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "apiKeyRequired")
}

// TestV2Authorizers attaches a JWT and a Lambda REQUEST authorizer to routes:
// a call without a token is refused by the gateway.
func TestV2Authorizers(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	e.createFunction(t, "hello", "hello", map[string]string{"GREETING": "auth"})
	e.createFunction(t, "authfn", "./gateway/auth/testdata/authfn", nil)
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("auth"), ProtocolType: v2types.ProtocolTypeHttp, Target: aws.String(helloARN)})
	if err != nil {
		t.Fatal(err)
	}
	id := api.ApiId
	jwt, err := e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: id, Name: aws.String("jwt"),
		AuthorizerType: v2types.AuthorizerTypeJwt, IdentitySource: []string{"$request.header.Authorization"},
		JwtConfiguration: &v2types.JWTConfiguration{Issuer: aws.String("https://issuer.example"), Audience: []string{"me"}}})
	if err != nil {
		t.Fatalf("CreateAuthorizer: %v", err)
	}
	_, err = e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: id, Name: aws.String("jwt"),
		AuthorizerType: v2types.AuthorizerTypeJwt, IdentitySource: []string{"$request.header.Authorization"},
		JwtConfiguration: &v2types.JWTConfiguration{Issuer: aws.String("https://issuer.example"), Audience: []string{"me"}}})
	wantV2Error(t, err, http.StatusConflict, "ConflictException", "already exists")
	_, err = e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: id, Name: aws.String("bad"),
		AuthorizerType: v2types.AuthorizerTypeJwt, IdentitySource: []string{"$request.header.Authorization"},
		JwtConfiguration: &v2types.JWTConfiguration{Issuer: aws.String("https://issuer.example")}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "audience")
	lam, err := e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: id, Name: aws.String("lambda"),
		AuthorizerType: v2types.AuthorizerTypeRequest, IdentitySource: []string{"$request.header.Authorization"},
		AuthorizerUri:                  aws.String("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:authfn/invocations"),
		AuthorizerPayloadFormatVersion: aws.String("2.0"), EnableSimpleResponses: aws.Bool(true), AuthorizerResultTtlInSeconds: aws.Int32(0)})
	if err != nil {
		t.Fatalf("CreateAuthorizer lambda: %v", err)
	}
	list, err := e.ag.GetAuthorizers(ctx, &apigatewayv2.GetAuthorizersInput{ApiId: id})
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("GetAuthorizers: %+v %v", list, err)
	}
	routes, err := e.ag.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: id})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := e.ag.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: id, RouteId: routes.Items[0].RouteId,
		AuthorizationType: v2types.AuthorizationTypeJwt, AuthorizerId: jwt.AuthorizerId, AuthorizationScopes: []string{"read"}})
	if err != nil || aws.ToString(rt.AuthorizerId) != aws.ToString(jwt.AuthorizerId) || !slices.Equal(rt.AuthorizationScopes, []string{"read"}) {
		t.Fatalf("UpdateRoute: %+v %v", rt, err)
	}
	// The $default stage deploys automatically: the route now needs a token.
	if status, _ := e.get(t, http.MethodGet, "/"+aws.ToString(id)+"/x"); status != http.StatusUnauthorized {
		t.Fatalf("a call without a token answered %d, want 401", status)
	}
	_, err = e.ag.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: id, RouteId: routes.Items[0].RouteId,
		AuthorizationType: v2types.AuthorizationTypeCustom, AuthorizerId: jwt.AuthorizerId})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "JWT authorizer")
	_, err = e.ag.DeleteAuthorizer(ctx, &apigatewayv2.DeleteAuthorizerInput{ApiId: id, AuthorizerId: jwt.AuthorizerId})
	wantV2Error(t, err, http.StatusConflict, "ConflictException", "$default")
	rt, err = e.ag.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: id, RouteId: routes.Items[0].RouteId,
		AuthorizationType: v2types.AuthorizationTypeCustom, AuthorizerId: lam.AuthorizerId, AuthorizationScopes: []string{}})
	if err != nil || rt.AuthorizationType != v2types.AuthorizationTypeCustom {
		t.Fatalf("UpdateRoute to CUSTOM: %+v %v", rt, err)
	}
	if status, _ := e.get(t, http.MethodGet, "/"+aws.ToString(id)+"/x"); status != http.StatusUnauthorized {
		t.Fatalf("a call without the identity source answered %d, want 401", status)
	}
	if status, _ := e.get(t, http.MethodGet, "/"+aws.ToString(id)+"/x", "Authorization", "bad"); status != http.StatusForbidden {
		t.Fatalf("a call the authorizer refuses answered %d, want 403", status)
	}
	if status, body := e.get(t, http.MethodGet, "/"+aws.ToString(id)+"/x", "Authorization", "good"); status != http.StatusOK ||
		!strings.Contains(body, `"greeting":"auth"`) {
		t.Fatalf("a call the authorizer allows answered %d %s", status, body)
	}
	if _, err := e.ag.DeleteAuthorizer(ctx, &apigatewayv2.DeleteAuthorizerInput{ApiId: id, AuthorizerId: jwt.AuthorizerId}); err != nil {
		t.Fatalf("DeleteAuthorizer: %v", err)
	}

	// A WebSocket API's $connect authorizer, with a query string identity.
	ws, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("wsauth"), ProtocolType: v2types.ProtocolTypeWebsocket,
		RouteSelectionExpression: aws.String("$request.body.action")})
	if err != nil {
		t.Fatal(err)
	}
	wsAuth, err := e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: ws.ApiId, Name: aws.String("token"),
		AuthorizerType: v2types.AuthorizerTypeRequest, IdentitySource: []string{"route.request.querystring.token"},
		AuthorizerUri: aws.String("function:authfn")})
	if err != nil {
		t.Fatalf("CreateAuthorizer (WebSocket): %v", err)
	}
	// A WebSocket authorizer runs on every $connect: a result TTL (HTTP API
	// Lambda authorizers only, on API Gateway) is refused at create and at
	// update, not ignored.
	_, err = e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: ws.ApiId, Name: aws.String("cached"),
		AuthorizerType: v2types.AuthorizerTypeRequest, IdentitySource: []string{"route.request.querystring.token"},
		AuthorizerUri: aws.String("function:authfn"), AuthorizerResultTtlInSeconds: aws.Int32(300)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "runs on every $connect")
	_, err = e.ag.UpdateAuthorizer(ctx, &apigatewayv2.UpdateAuthorizerInput{ApiId: ws.ApiId, AuthorizerId: wsAuth.AuthorizerId,
		AuthorizerResultTtlInSeconds: aws.Int32(60)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "runs on every $connect")
	if got, err := e.ag.GetAuthorizer(ctx, &apigatewayv2.GetAuthorizerInput{ApiId: ws.ApiId, AuthorizerId: wsAuth.AuthorizerId}); err != nil || got.AuthorizerResultTtlInSeconds != nil {
		t.Fatalf("the WebSocket authorizer after a refused update: %+v %v", got, err)
	}
	mock, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: ws.ApiId, IntegrationType: v2types.IntegrationTypeMock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: ws.ApiId, RouteKey: aws.String("$connect"),
		Target: aws.String("integrations/" + aws.ToString(mock.IntegrationId)), AuthorizationType: v2types.AuthorizationTypeCustom,
		AuthorizerId: wsAuth.AuthorizerId}); err != nil {
		t.Fatalf("CreateRoute $connect: %v", err)
	}
	_, err = e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: ws.ApiId, RouteKey: aws.String("other"),
		Target: aws.String("integrations/" + aws.ToString(mock.IntegrationId)), AuthorizationType: v2types.AuthorizationTypeCustom,
		AuthorizerId: wsAuth.AuthorizerId})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "$connect only")
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: ws.ApiId, StageName: aws.String("prod"), AutoDeploy: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	wsURL := "ws" + strings.TrimPrefix(e.env.GatewayURL, "http") + "/" + aws.ToString(ws.ApiId) + "/prod?token="
	_, resp, err := websocket.DefaultDialer.DialContext(ctx, wsURL+"bad", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("dial with a bad token: %v %+v", err, resp)
	}
	_ = resp.Body.Close()
	c, resp, err := websocket.DefaultDialer.DialContext(ctx, wsURL+"good", nil)
	if err != nil {
		t.Fatalf("dial with a good token: %v", err)
	}
	_ = resp.Body.Close()
	_ = c.Close()

	// Models are JSON schemas by name.
	m, err := e.ag.CreateModel(ctx, &apigatewayv2.CreateModelInput{ApiId: id, Name: aws.String("Msg"), Description: aws.String("a message"),
		Schema: aws.String(`{"type":"object","properties":{"action":{"type":"string"}}}`)})
	if err != nil || aws.ToString(m.Description) != "a message" {
		t.Fatalf("CreateModel: %+v %v", m, err)
	}
	_, err = e.ag.CreateModel(ctx, &apigatewayv2.CreateModelInput{ApiId: id, Name: aws.String("Bad"), Schema: aws.String(`{"type":7}`)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "Bad")
	got, err := e.ag.GetModel(ctx, &apigatewayv2.GetModelInput{ApiId: id, ModelId: m.ModelId})
	if err != nil || !strings.Contains(aws.ToString(got.Schema), `"action"`) {
		t.Fatalf("GetModel: %+v %v", got, err)
	}
}

// TestV2AWSCLI drives `aws apigatewayv2` against the admin API.
func TestV2AWSCLI(t *testing.T) {
	t.Parallel()
	testkit.AWSCLI(t)
	e := startV2(t)
	be := newBackend(t)
	script := `set -e
api=$(aws apigatewayv2 create-api --name cli --protocol-type HTTP --target "$BACKEND/cli" --query '[ApiId,Name]' --output text)
set -- $api
echo "api=$1 name=$2"
integ=$(aws apigatewayv2 create-integration --api-id "$1" --integration-type HTTP_PROXY --integration-method GET --integration-uri "$BACKEND/second" --payload-format-version 1.0 --query IntegrationId --output text)
aws apigatewayv2 create-route --api-id "$1" --route-key 'GET /second' --target "integrations/$integ" --query RouteKey --output text
aws apigatewayv2 get-api --api-id nosuchapi0 2>&1 || true
`
	cmd := exec.CommandContext(t.Context(), "sh", "-c", script)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=portico", "AWS_SECRET_ACCESS_KEY="+v2Token, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ENDPOINT_URL="+e.env.AdminURL, "AWS_PAGER=", "BACKEND="+be.srv.URL, "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	cmd.Args = append(cmd.Args[:2], strings.ReplaceAll(script, "aws apigatewayv2", "aws --endpoint-url "+e.env.AdminURL+" apigatewayv2"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("script: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{" name=cli\n", "GET /second\n", "NotFoundException", "Invalid API identifier specified"} {
		if !strings.Contains(text, want) {
			t.Fatalf("output lacks %q:\n%s", want, text)
		}
	}
	_, apiID, _ := strings.Cut(text, "api=")
	apiID, _, _ = strings.Cut(apiID, " ")
	for path, backendPath := range map[string]string{"/anything": "/cli", "/second": "/second"} {
		status, body := e.get(t, http.MethodGet, "/"+apiID+path)
		if status != http.StatusOK || !strings.Contains(body, `"path":"`+backendPath+`"`) {
			t.Fatalf("GET %s answered %d %s", path, status, body)
		}
	}
}

// TestV2RouteSettingsUnsetThrottle shows -1, API Gateway's "not configured",
// taking a stage default's throttle off again (portico deploy resets a
// dropped DefaultRouteSettings this way); below -1 is refused; 0/0 is kept.
func TestV2RouteSettingsUnsetThrottle(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("unset"), ProtocolType: v2types.ProtocolTypeHttp})
	if err != nil {
		t.Fatal(err)
	}
	id, stage := api.ApiId, aws.String("dev")
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: stage,
		DefaultRouteSettings: &v2types.RouteSettings{ThrottlingBurstLimit: aws.Int32(5), ThrottlingRateLimit: aws.Float64(2)}}); err != nil {
		t.Fatal(err)
	}
	up, err := e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: id, StageName: stage,
		DefaultRouteSettings: &v2types.RouteSettings{ThrottlingBurstLimit: aws.Int32(-1), ThrottlingRateLimit: aws.Float64(-1)}})
	if err != nil {
		t.Fatalf("UpdateStage with -1: %v", err)
	}
	if d := up.DefaultRouteSettings; d == nil || d.ThrottlingBurstLimit != nil || d.ThrottlingRateLimit != nil {
		t.Fatalf("default route settings after -1: %+v, want no throttle", d)
	}
	_, err = e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: id, StageName: stage,
		DefaultRouteSettings: &v2types.RouteSettings{ThrottlingBurstLimit: aws.Int32(-2)}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "throttlingBurstLimit")
	_, err = e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: id, StageName: stage,
		DefaultRouteSettings: &v2types.RouteSettings{ThrottlingRateLimit: aws.Float64(-0.5)}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "throttlingRateLimit")
	// 0/0, which API Gateway reads as blocking every request, is a limit
	// (TestV2ZeroRouteThrottle shows it enforced), not "not set".
	up, err = e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: id, StageName: stage,
		DefaultRouteSettings: &v2types.RouteSettings{ThrottlingBurstLimit: aws.Int32(0), ThrottlingRateLimit: aws.Float64(0)}})
	if err != nil {
		t.Fatalf("UpdateStage with 0/0: %v", err)
	}
	if d := up.DefaultRouteSettings; d == nil || d.ThrottlingBurstLimit == nil || *d.ThrottlingBurstLimit != 0 ||
		d.ThrottlingRateLimit == nil || *d.ThrottlingRateLimit != 0 {
		t.Fatalf("default route settings after 0/0: %+v, want burst 0 and rate 0", d)
	}
}

// TestV2ImportBasePath: import-api and reimport-api read basepath as
// import-rest-api does: ignore (the default) leaves the document's base path
// out, prepend puts it before every route's path, split without its first
// segment; $default stays as it is. Other values are refused.
func TestV2ImportBasePath(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	doc := `{"openapi":"3.0.1","info":{"title":"based","version":"1"},"servers":[{"url":"https://example.com/v1/api"}],"paths":{
	  "/pets":{"get":{"x-amazon-apigateway-integration":{"type":"http_proxy","httpMethod":"GET","uri":"https://example.com/pets","payloadFormatVersion":"1.0"}}},
	  "$default":{"x-amazon-apigateway-any-method":{"isDefaultRoute":true,"x-amazon-apigateway-integration":{"type":"http_proxy","httpMethod":"ANY","uri":"https://example.com/","payloadFormatVersion":"1.0"}}}}}`
	keys := func(id *string) []string {
		t.Helper()
		routes, err := e.ag.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: id})
		if err != nil {
			t.Fatalf("GetRoutes: %v", err)
		}
		var out []string
		for _, r := range routes.Items {
			out = append(out, aws.ToString(r.RouteKey))
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		mode string
		want []string
	}{
		{"", []string{"$default", "GET /pets"}},
		{"ignore", []string{"$default", "GET /pets"}},
		{"prepend", []string{"$default", "GET /v1/api/pets"}},
		{"split", []string{"$default", "GET /api/pets"}},
	} {
		in := &apigatewayv2.ImportApiInput{Body: aws.String(doc)}
		if tc.mode != "" {
			in.Basepath = aws.String(tc.mode)
		}
		imp, err := e.ag.ImportApi(ctx, in)
		if err != nil {
			t.Fatalf("ImportApi basepath=%q: %v", tc.mode, err)
		}
		if got := keys(imp.ApiId); !slices.Equal(got, tc.want) {
			t.Errorf("basepath=%q: routes %v, want %v", tc.mode, got, tc.want)
		}
		if tc.mode == "prepend" {
			if _, err := e.ag.ReimportApi(ctx, &apigatewayv2.ReimportApiInput{ApiId: imp.ApiId, Body: aws.String(doc), Basepath: aws.String("split")}); err != nil {
				t.Fatalf("ReimportApi basepath=split: %v", err)
			}
			if got, want := keys(imp.ApiId), []string{"$default", "GET /api/pets"}; !slices.Equal(got, want) {
				t.Errorf("reimported with basepath=split: routes %v, want %v", got, want)
			}
		}
	}
	_, err := e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc), Basepath: aws.String("append")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "Invalid basepath")
}

// TestV2ExecutionLoggingIsWebSocketOnly: API Gateway supports loggingLevel and
// dataTraceEnabled in route settings on WebSocket APIs alone. An HTTP API's
// stage shows neither and refuses them ("Execution logs are not supported on
// protocolType HTTP"); a WebSocket API's shows and keeps them.
func TestV2ExecutionLoggingIsWebSocketOnly(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	httpAPI, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("nolog"), ProtocolType: v2types.ProtocolTypeHttp})
	if err != nil {
		t.Fatal(err)
	}
	id, stage := httpAPI.ApiId, aws.String("dev")
	if _, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("GET /x")}); err != nil {
		t.Fatal(err)
	}
	st, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: stage,
		DefaultRouteSettings: &v2types.RouteSettings{DetailedMetricsEnabled: aws.Bool(true)},
		RouteSettings:        map[string]v2types.RouteSettings{"GET /x": {ThrottlingBurstLimit: aws.Int32(3)}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.ag.GetStage(ctx, &apigatewayv2.GetStageInput{ApiId: id, StageName: stage})
	if err != nil {
		t.Fatal(err)
	}
	for name, rs := range map[string]*v2types.RouteSettings{"create default": st.DefaultRouteSettings, "get default": got.DefaultRouteSettings,
		"get GET /x": new(got.RouteSettings["GET /x"])} {
		if rs == nil || rs.LoggingLevel != "" || rs.DataTraceEnabled != nil {
			t.Errorf("%s route settings of an HTTP API: %+v, want no loggingLevel or dataTraceEnabled", name, rs)
		}
	}
	if d := got.DefaultRouteSettings; d == nil || !aws.ToBool(d.DetailedMetricsEnabled) {
		t.Errorf("default route settings %+v, want detailedMetricsEnabled", d)
	}
	for _, rs := range []v2types.RouteSettings{{LoggingLevel: v2types.LoggingLevelInfo}, {LoggingLevel: v2types.LoggingLevelOff},
		{DataTraceEnabled: aws.Bool(true)}} {
		_, err = e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: id, StageName: stage, DefaultRouteSettings: &rs})
		wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "Execution logs are not supported on protocolType HTTP")
		_, err = e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: id, StageName: stage,
			RouteSettings: map[string]v2types.RouteSettings{"GET /x": rs}})
		wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "Execution logs are not supported on protocolType HTTP")
	}
	_, err = e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("other"),
		DefaultRouteSettings: &v2types.RouteSettings{LoggingLevel: v2types.LoggingLevelError}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "Execution logs are not supported on protocolType HTTP")

	ws, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("logs"), ProtocolType: v2types.ProtocolTypeWebsocket,
		RouteSelectionExpression: aws.String("$request.body.action")})
	if err != nil {
		t.Fatal(err)
	}
	wst, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: ws.ApiId, StageName: stage,
		DefaultRouteSettings: &v2types.RouteSettings{LoggingLevel: v2types.LoggingLevelInfo, DataTraceEnabled: aws.Bool(true)}})
	if err != nil {
		t.Fatal(err)
	}
	if d := wst.DefaultRouteSettings; d == nil || d.LoggingLevel != v2types.LoggingLevelInfo || !aws.ToBool(d.DataTraceEnabled) {
		t.Errorf("WebSocket default route settings %+v, want INFO with data tracing", d)
	}
}

// TestV2LambdaAuthorizerPayloadFormatVersion: as API Gateway requires, an HTTP
// API's Lambda (REQUEST) authorizer names its payload format version; one
// without is refused at create-authorizer, and at update-authorizer turning a
// JWT authorizer into one, saying to set 1.0 or 2.0. An import without it
// keeps 2.0, the version it runs with, explicitly: get-authorizers and the
// export show it.
func TestV2LambdaAuthorizerPayloadFormatVersion(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	e.createFunction(t, "hello", "hello", nil)
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("pfv"), ProtocolType: v2types.ProtocolTypeHttp, Target: aws.String(helloARN)})
	if err != nil {
		t.Fatal(err)
	}
	const uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:hello/invocations"
	_, err = e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: api.ApiId, Name: aws.String("lambda"),
		AuthorizerType: v2types.AuthorizerTypeRequest, IdentitySource: []string{"$request.header.Authorization"}, AuthorizerUri: aws.String(uri)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "authorizerPayloadFormatVersion is required for HTTP API Lambda (REQUEST) authorizers: set 1.0 or 2.0")
	list, err := e.ag.GetAuthorizers(ctx, &apigatewayv2.GetAuthorizersInput{ApiId: api.ApiId})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("GetAuthorizers after the refusal: %+v %v", list, err)
	}
	v1, err := e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: api.ApiId, Name: aws.String("lambda"),
		AuthorizerType: v2types.AuthorizerTypeRequest, IdentitySource: []string{"$request.header.Authorization"}, AuthorizerUri: aws.String(uri),
		AuthorizerPayloadFormatVersion: aws.String("1.0")})
	if err != nil || aws.ToString(v1.AuthorizerPayloadFormatVersion) != "1.0" {
		t.Fatalf("CreateAuthorizer 1.0: %+v %v", v1, err)
	}
	// A rename keeps the version.
	if up, err := e.ag.UpdateAuthorizer(ctx, &apigatewayv2.UpdateAuthorizerInput{ApiId: api.ApiId, AuthorizerId: v1.AuthorizerId,
		Name: aws.String("lambda2")}); err != nil || aws.ToString(up.AuthorizerPayloadFormatVersion) != "1.0" {
		t.Fatalf("UpdateAuthorizer rename: %+v %v", up, err)
	}
	jwt, err := e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: api.ApiId, Name: aws.String("jwt"),
		AuthorizerType: v2types.AuthorizerTypeJwt, IdentitySource: []string{"$request.header.Authorization"},
		JwtConfiguration: &v2types.JWTConfiguration{Issuer: aws.String("https://issuer.example"), Audience: []string{"me"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.ag.UpdateAuthorizer(ctx, &apigatewayv2.UpdateAuthorizerInput{ApiId: api.ApiId, AuthorizerId: jwt.AuthorizerId,
		AuthorizerType: v2types.AuthorizerTypeRequest, AuthorizerUri: aws.String(uri), JwtConfiguration: &v2types.JWTConfiguration{}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "authorizerPayloadFormatVersion is required")

	doc := `{"openapi":"3.0.1","info":{"title":"imported","version":"1"},
"paths":{"/x":{"get":{"security":[{"lambda":[]}],"x-amazon-apigateway-integration":{"type":"aws_proxy","uri":"` + helloARN + `","payloadFormatVersion":"2.0"}}}},
"components":{"securitySchemes":{"lambda":{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authorizer":{
"type":"request","identitySource":"$request.header.Authorization","authorizerUri":"` + uri + `"}}}}}`
	imp, err := e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc)})
	if err != nil {
		t.Fatalf("ImportApi: %v", err)
	}
	list, err = e.ag.GetAuthorizers(ctx, &apigatewayv2.GetAuthorizersInput{ApiId: imp.ApiId})
	if err != nil || len(list.Items) != 1 || aws.ToString(list.Items[0].AuthorizerPayloadFormatVersion) != "2.0" {
		t.Fatalf("GetAuthorizers of the import: %+v %v", list, err)
	}
	out, err := e.ag.ExportApi(ctx, &apigatewayv2.ExportApiInput{ApiId: imp.ApiId, Specification: aws.String("OAS30"), OutputType: aws.String("JSON")})
	if err != nil || !regexp.MustCompile(`"authorizerPayloadFormatVersion":\s*"2.0"`).Match(out.Body) {
		t.Fatalf("ExportApi: %v\n%s", err, out.Body)
	}
}
