package admin

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/store"
)

func newGatewayAdmin(t *testing.T) (*httptest.Server, *apis.Service) {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc := apis.NewService(st, nil)
	s, err := New(Params{Config: Config{Listen: "127.0.0.1:0"}, Log: slog.New(slog.DiscardHandler), Gateway: GatewayDeps{APIs: svc}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, svc
}

func call(t *testing.T, srv *httptest.Server, method, path, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	if resp.StatusCode >= 400 {
		var e map[string]string
		// Lambda's writer spells the key "Message" for the types its API
		// model does (ResourceNotFoundException, ...: docs/admin-api.md).
		if json.Unmarshal(raw, &e) != nil || e["message"]+e["Message"] == "" || resp.Header.Get("x-amzn-ErrorType") == "" {
			t.Errorf("%s %s: error without an AWS-shaped body: %s", method, path, raw)
		}
	}
	return resp.StatusCode
}

func TestAdminAPILifecycle(t *testing.T) {
	t.Parallel()
	srv, _ := newGatewayAdmin(t)
	doc, err := os.ReadFile("../samples/hello/api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var imp importResponse
	if c := call(t, srv, "POST", "/portico/v1/apis/import?name=hello", string(doc), &imp); c != 201 {
		t.Fatalf("import: %d", c)
	}
	id := imp.API.ID
	if !apis.ValidAPIID(id) || len(imp.API.Routes) != 2 {
		t.Fatalf("imported %+v", imp.API)
	}
	var list listResponse[apiSummary]
	if call(t, srv, "GET", "/portico/v1/apis", "", &list); len(list.Items) != 1 || list.Items[0].ID != id {
		t.Fatalf("list: %+v", list)
	}
	var dep deployResponse
	if c := call(t, srv, "POST", "/portico/v1/apis/"+id+"/deployments", `{"stageName":"dev","variables":{"alias":"live"},"description":"first"}`, &dep); c != 201 {
		t.Fatalf("deploy: %d", c)
	}
	if dep.Stage == nil || dep.Stage.DeploymentID != dep.Deployment.ID || dep.Stage.Variables["alias"] != "live" {
		t.Fatalf("deploy: %+v", dep)
	}
	var st stageView
	if c := call(t, srv, "PATCH", "/portico/v1/apis/"+id+"/stages/dev/variables", `{"set":{"alias":"beta"}}`, &st); c != 200 || st.Variables["alias"] != "beta" {
		t.Fatalf("set-var: %d %+v", c, st.Stage)
	}
	if c := call(t, srv, "PATCH", "/portico/v1/apis/"+id+"/stages/dev/variables", `{"set":{"bad-name":"x"}}`, nil); c != 400 {
		t.Fatalf("bad variable: %d", c)
	}
	// A deployment to an existing stage merges the variables it names into the
	// stage's, as API Gateway's create-deployment does.
	var dep2 deployResponse
	call(t, srv, "POST", "/portico/v1/apis/"+id+"/deployments", `{"stageName":"dev","variables":{"color":"green"}}`, &dep2)
	if dep2.Stage == nil || dep2.Stage.Variables["alias"] != "beta" || dep2.Stage.Variables["color"] != "green" {
		t.Fatalf("deploy to an existing stage with variables: %+v", dep2.Stage)
	}
	var hist listResponse[apis.HistoryEntry]
	if call(t, srv, "GET", "/portico/v1/apis/"+id+"/stages/dev/history", "", &hist); len(hist.Items) != 2 {
		t.Fatalf("history: %+v", hist)
	}
	if c := call(t, srv, "POST", "/portico/v1/apis/"+id+"/stages/dev/rollback", "", &st); c != 200 || st.DeploymentID != dep.Deployment.ID {
		t.Fatalf("rollback: %d %+v", c, st.Stage)
	}
	// Export and re-import into the same API.
	req, _ := http.NewRequest("GET", srv.URL+"/portico/v1/apis/"+id+"/export?format=swagger2", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	exported, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(exported), `"swagger": "2.0"`) {
		t.Fatalf("export: %s", exported)
	}
	if c := call(t, srv, "PUT", "/portico/v1/apis/"+id+"/import?mode=overwrite", string(exported), &imp); c != 200 || imp.API.Name != "hello" {
		t.Fatalf("overwrite: %d %+v", c, imp.API)
	}
	// Routes and integrations.
	var rt apis.Route
	if c := call(t, srv, "POST", "/portico/v1/apis/"+id+"/routes", `{"method":"GET","path":"/mock","integration":{"type":"MOCK"}}`, &rt); c != 201 || rt.ID == "" {
		t.Fatalf("add route: %d %+v", c, rt)
	}
	if c := call(t, srv, "POST", "/portico/v1/apis/"+id+"/routes", `{"method":"GET","path":"/mock"}`, nil); c != 409 {
		t.Fatalf("duplicate route: %d", c)
	}
	if c := call(t, srv, "PUT", "/portico/v1/apis/"+id+"/routes/"+rt.ID+"/integration", `{"type":"HTTP_PROXY","uri":"http://127.0.0.1:9/x"}`, &rt); c != 200 || rt.Integration.Type != "HTTP_PROXY" {
		t.Fatalf("set integration: %d %+v", c, rt)
	}
	if c := call(t, srv, "PUT", "/portico/v1/apis/"+id+"/routes/"+rt.ID+"/integration", `{"type":"LAMBDA"}`, nil); c != 400 {
		t.Fatalf("bad integration: %d", c)
	}
	if c := call(t, srv, "DELETE", "/portico/v1/apis/"+id+"/routes/"+rt.ID, "", nil); c != 204 {
		t.Fatalf("delete route: %d", c)
	}
	if c := call(t, srv, "DELETE", "/portico/v1/apis/"+id+"/deployments/"+dep.Deployment.ID, "", nil); c != 400 { // API Gateway's BadRequestException
		t.Fatalf("delete in-use deployment: %d", c)
	}
	if c := call(t, srv, "DELETE", "/portico/v1/apis/"+id, "", nil); c != 204 {
		t.Fatalf("delete: %d", c)
	}
	if c := call(t, srv, "GET", "/portico/v1/apis/"+id, "", nil); c != 404 {
		t.Fatalf("get deleted: %d", c)
	}
}

func TestAdminAPIBadInput(t *testing.T) {
	t.Parallel()
	srv, svc := newGatewayAdmin(t)
	cases := []struct{ method, path, body string }{
		{"POST", "/portico/v1/apis/import", "not: [valid"},
		{"POST", "/portico/v1/apis/import", `{"openapi":"3.0.1","info":{"title":"x"},"paths":{"/a":{"get":{"x-amazon-apigateway-integration":{"type":"nope"}}}}}`},
		{"POST", "/portico/v1/apis/import?protocol=SOAP", `{"openapi":"3.0.1","info":{"title":"x"},"paths":{}}`},
		{"POST", "/portico/v1/apis", `{"name":"x","protocol":"REST","routes":[{"method":"GET","path":"/a/{b}/{b}"}]}`},
		{"POST", "/portico/v1/apis", `{"name":"x","unknownField":1}`},
		{"POST", "/portico/v1/apis", ``},
	}
	for _, tc := range cases {
		if c := call(t, srv, tc.method, tc.path, tc.body, nil); c != 400 {
			t.Errorf("%s %s %q: %d, want 400", tc.method, tc.path, tc.body, c)
		}
	}
	if list, _ := svc.List(t.Context()); len(list) != 0 {
		t.Fatalf("bad input stored %d apis", len(list))
	}
}
