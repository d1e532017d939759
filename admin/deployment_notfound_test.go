package admin

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestUnknownDeploymentNamesItsAPI: an unknown deployment answered 404 with
// the bare `deployment "nosuch"`; the message says what is missing where.
func TestUnknownDeploymentNamesItsAPI(t *testing.T) {
	t.Parallel()
	srv, _ := newGatewayAdmin(t)
	var api struct{ ID string }
	if c := call(t, srv, "POST", "/portico/v1/apis", `{"name":"x","protocol":"REST","routes":[{"method":"GET","path":"/a","integration":{"type":"MOCK"}}]}`, &api); c != 201 && c != 200 {
		t.Fatalf("create api: %d", c)
	}
	if c := call(t, srv, "POST", "/portico/v1/apis/"+api.ID+"/deployments", `{"stageName":"s3"}`, nil); c >= 300 {
		t.Fatalf("deploy: %d", c)
	}
	want := "no deployment nosuch in API " + api.ID
	for _, tc := range []struct{ method, path, body string }{
		{"PATCH", "/portico/v1/apis/" + api.ID + "/stages/s3", `{"deploymentId":"nosuch"}`},
		{"GET", "/portico/v1/apis/" + api.ID + "/deployments/nosuch", ""},
	} {
		a := sendForMessage(t, tc.method, srv.URL+tc.path, tc.body)
		if a.StatusCode != 404 || a.Message != want {
			t.Errorf("%s %s: %d %s, want 404 with message %q", tc.method, tc.path, a.StatusCode, a.Raw, want)
		}
	}
}

// sentAnswer is an answer sendForMessage read: its status, header fields,
// body and the message of its JSON error.
type sentAnswer struct {
	StatusCode int
	Header     http.Header
	Raw        []byte
	Message    string
}

// sendForMessage sends method url with body (none when empty) and returns
// what came back.
func sendForMessage(t *testing.T, method, url, body string) sentAnswer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	var e struct{ Message string }
	_ = json.Unmarshal(raw, &e)
	return sentAnswer{resp.StatusCode, resp.Header, raw, e.Message}
}

// TestDeleteDeploymentInUseIsBadRequest: Portico's own API refuses to delete
// a deployment a stage points at as API Gateway does (and as its AWS-shaped
// endpoints do), 400 BadRequestException "Active stages pointing to this
// deployment must be moved or deleted", naming the stages; it answered 409.
func TestDeleteDeploymentInUseIsBadRequest(t *testing.T) {
	t.Parallel()
	srv, _ := newGatewayAdmin(t)
	var api struct{ ID string }
	if c := call(t, srv, "POST", "/portico/v1/apis", `{"name":"x","protocol":"REST","routes":[{"method":"GET","path":"/a","integration":{"type":"MOCK"}}]}`, &api); c != 201 && c != 200 {
		t.Fatalf("create api: %d", c)
	}
	var out struct{ Deployment struct{ ID string } }
	if c := call(t, srv, "POST", "/portico/v1/apis/"+api.ID+"/deployments", `{"stageName":"s3"}`, &out); c >= 300 || out.Deployment.ID == "" {
		t.Fatalf("deploy: %d %+v", c, out)
	}
	dep := out.Deployment
	for _, path := range []string{
		"/portico/v1/apis/" + api.ID + "/deployments/" + dep.ID,
		"/restapis/" + api.ID + "/deployments/" + dep.ID,
	} {
		a := sendForMessage(t, "DELETE", srv.URL+path, "")
		if a.StatusCode != 400 || a.Header.Get("X-Amzn-Errortype") != "BadRequestException" ||
			!strings.HasPrefix(a.Message, "Active stages pointing to this deployment must be moved or deleted") {
			t.Errorf("DELETE %s: %d %v %s, want 400 BadRequestException", path, a.StatusCode, a.Header.Get("X-Amzn-Errortype"), a.Raw)
		}
	}
	if a := sendForMessage(t, "DELETE", srv.URL+"/portico/v1/apis/"+api.ID+"/deployments/"+dep.ID, ""); !strings.Contains(a.Message, "s3") {
		t.Errorf("the message does not name the stage: %s", a.Raw)
	}
}

// TestDeployWarnsOfIntegrationStageVariables: a deployment (and a variables
// change) whose stage lacks a stage variable an integration URI names answers
// with a warning naming the URI and its routes, as for an authorizer's URI;
// the deployment is made (API Gateway deploys it and fails the request).
func TestDeployWarnsOfIntegrationStageVariables(t *testing.T) {
	t.Parallel()
	srv, _ := newGatewayAdmin(t)
	var api struct{ ID string }
	if c := call(t, srv, "POST", "/portico/v1/apis", `{"name":"x","protocol":"REST","routes":[{"method":"GET","path":"/a",
		"integration":{"type":"HTTP_PROXY","httpMethod":"GET","uri":"http://${stageVariables.host}/a"}}]}`, &api); c != 201 && c != 200 {
		t.Fatalf("create api: %d", c)
	}
	var out struct {
		Deployment struct{ ID string }
		Stage      struct{ Warnings []string }
	}
	if c := call(t, srv, "POST", "/portico/v1/apis/"+api.ID+"/deployments", `{"stageName":"dev"}`, &out); c != 201 || out.Deployment.ID == "" {
		t.Fatalf("deploy: %d %+v", c, out)
	}
	if w := strings.Join(out.Stage.Warnings, "\n"); len(out.Stage.Warnings) != 1 || !strings.Contains(w, "${stageVariables.host}") ||
		!strings.Contains(w, "GET /a") || !strings.Contains(w, "host") {
		t.Errorf("deploy without host: warnings %q, want one naming the URI, the variable and the route", out.Stage.Warnings)
	}
	var st struct{ Warnings []string }
	if c := call(t, srv, "PATCH", "/portico/v1/apis/"+api.ID+"/stages/dev/variables", `{"set":{"host":"example.com"}}`, &st); c != 200 || len(st.Warnings) != 0 {
		t.Errorf("set-var host: %d warnings %q, want none", c, st.Warnings)
	}
}
