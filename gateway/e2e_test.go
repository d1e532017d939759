package gateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/gateway"
)

func TestMain(m *testing.M) {
	if backend := os.Getenv(benchGatewayEnv); backend != "" {
		os.Exit(runBenchGateway(backend))
	}
	code := m.Run()
	apptest.Cleanup()
	os.Exit(code)
}

// probeZip builds gateway/testdata/probe (a function that echoes its event) once.
func probeZip(t *testing.T) []byte {
	t.Helper()
	return apptest.ZipProgram(t, "./gateway/testdata/probe")
}

// admin calls the admin API and decodes the answer into out.
func admin(t *testing.T, c *client.Client, method, path string, query url.Values, body, out any) {
	t.Helper()
	resp, err := c.Do(context.Background(), method, path, query, body, nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, resp.Body)
		}
	}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, method, u string, body string, hdr ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("x-amzn-RequestId") == "" {
		t.Errorf("%s %s: no x-amzn-RequestId", method, u)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// helloVersion calls a hello route and returns the version that answered.
func helloVersion(t *testing.T, u string) string {
	t.Helper()
	a := get(t, "GET", u, "")
	if a.status != 200 {
		t.Fatalf("GET %s: %d %s", u, a.status, a.body)
	}
	var g struct {
		FunctionVersion string `json:"functionVersion"`
		Path            string `json:"path"`
	}
	if err := json.Unmarshal([]byte(a.body), &g); err != nil {
		t.Fatalf("GET %s: %v: %s", u, err, a.body)
	}
	return g.FunctionVersion
}

func createFunction(t *testing.T, c *client.Client, name string, zip []byte, env map[string]string, timeout int) {
	t.Helper()
	in := map[string]any{
		"FunctionName": name, "PackageType": "Zip", "Runtime": "provided.al2023", "Handler": "bootstrap",
		"Code":    map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(zip)},
		"Timeout": timeout,
	}
	if env != nil {
		in["Environment"] = map[string]any{"Variables": env}
	}
	if _, _, err := c.CreateFunction(context.Background(), in); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
}

type stage struct {
	Name         string            `json:"name"`
	DeploymentID string            `json:"deploymentId"`
	Variables    map[string]string `json:"variables"`
	URL          string            `json:"url"`
}

type deployment struct {
	Deployment struct {
		ID string `json:"id"`
	} `json:"deployment"`
	Stage stage `json:"stage"`
}

// TestEndToEnd is the end-to-end story through the real server: the hello
// API imported from samples/hello/api.yaml, two versions behind two aliases, stages
// dev and prod, redeploy and rollback, a variable change, HTTP_PROXY through a stage
// variable, MOCK, path parameters and {proxy+}, a lowered timeout, a malformed
// result, events compared with aws-lambda-go's fixtures, and a restart.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	ctx := context.Background()

	// Function hello: version 1 and 2, aliases live -> 1 and beta -> 2.
	createFunction(t, c, "hello", apptest.ZipSample(t, "hello"), map[string]string{"GREETING": "one"}, 3)
	v1, _, err := c.PublishVersion(ctx, "hello", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.UpdateFunctionConfiguration(ctx, "hello", map[string]any{"Environment": map[string]any{"Variables": map[string]string{"GREETING": "two"}}}); err != nil {
		t.Fatal(err)
	}
	v2, _, err := c.PublishVersion(ctx, "hello", "")
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version == v2.Version {
		t.Fatalf("one version only: %s", v1.Version)
	}
	for alias, v := range map[string]string{"live": v1.Version, "beta": v2.Version} {
		if _, _, err := c.SetAlias(ctx, "hello", alias, v, nil); err != nil {
			t.Fatal(err)
		}
	}
	createFunction(t, c, "probe", probeZip(t), nil, 5)

	// Import the sample API; deploy dev (alias live) and prod (alias beta).
	doc, err := os.ReadFile(filepath.Join(apptest.RepoRoot(), "samples", "hello", "api.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var imp struct {
		API struct {
			ID string `json:"id"`
		} `json:"api"`
	}
	admin(t, c, "POST", "/portico/v1/apis/import", url.Values{"name": {"hello"}}, doc, &imp)
	id := imp.API.ID
	base := "/portico/v1/apis/" + id
	var dep1 deployment
	admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev", "variables": map[string]string{"alias": "live"}}, &dep1)
	admin(t, c, "POST", base+"/stages", nil, map[string]any{"name": "prod", "deploymentId": dep1.Deployment.ID, "variables": map[string]string{"alias": "beta"}}, nil)
	if want := gateway.StageURL(env.GatewayURL, id, "dev"); dep1.Stage.URL != want {
		t.Errorf("stage URL %q, want %q", dep1.Stage.URL, want)
	}
	dev, prod := env.GatewayURL+"/"+id+"/dev", env.GatewayURL+"/"+id+"/prod"
	if got := helloVersion(t, dev+"/hello"); got != v1.Version {
		t.Fatalf("dev answered version %s, want %s", got, v1.Version)
	}
	if got := helloVersion(t, prod+"/hello"); got != v2.Version {
		t.Fatalf("prod answered version %s, want %s", got, v2.Version)
	}

	// {proxy+} and the path the function sees.
	a := get(t, "GET", dev+"/some/deep/path?name=you", "")
	if a.status != 200 || !strings.Contains(a.body, `"path":"/some/deep/path"`) || !strings.Contains(a.body, `"name":"you"`) {
		t.Fatalf("proxy+: %d %s", a.status, a.body)
	}
	// Host-based stage URL.
	hostURL := strings.Replace(env.GatewayURL, "127.0.0.1", id+".execute-api.localhost", 1)
	req, _ := http.NewRequest("GET", env.GatewayURL+"/prod/hello", nil)
	req.Host = strings.TrimPrefix(hostURL, "http://")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("host-based URL: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// A variable change takes effect without a redeploy.
	admin(t, c, "PATCH", base+"/stages/dev/variables", nil, map[string]any{"set": map[string]string{"alias": "beta"}}, nil)
	if got := helloVersion(t, dev+"/hello"); got != v2.Version {
		t.Fatalf("after set-var dev answered %s, want %s", got, v2.Version)
	}
	admin(t, c, "PATCH", base+"/stages/dev/variables", nil, map[string]any{"set": map[string]string{"alias": "live"}}, nil)

	// More routes: HTTP_PROXY through ${stageVariables.backend}, MOCK, and the probe
	// with a lowered timeout.
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", "yes")
		fmt.Fprintf(w, "backend %s %s?%s", r.Method, r.URL.Path, r.URL.RawQuery)
	}))
	defer backend.Close()
	routes := []map[string]any{
		{"method": "ANY", "path": "/backend/{proxy+}", "integration": map[string]any{"type": "HTTP_PROXY", "httpMethod": "ANY", "uri": "${stageVariables.backend}/{proxy}"}},
		{"method": "GET", "path": "/mock", "integration": map[string]any{"type": "MOCK",
			"requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
			"responses":        map[string]any{"default": map[string]any{"statusCode": "200", "responseTemplates": map[string]string{"application/json": `{"mock":true}`}}}}},
		{"method": "ANY", "path": "/probe/{id}", "integration": map[string]any{"type": "AWS_PROXY", "uri": "function:probe", "timeoutInMillis": 1000}},
	}
	for _, r := range routes {
		admin(t, c, "POST", base+"/routes", nil, r, nil)
	}
	// Not deployed yet: dev still has no /mock.
	if a := get(t, "GET", dev+"/mock", ""); a.status == 200 && a.body == `{"mock":true}` {
		t.Fatalf("undeployed route served")
	}
	var dep2 deployment
	admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev", "description": "routes"}, &dep2)
	admin(t, c, "PATCH", base+"/stages/dev/variables", nil, map[string]any{"set": map[string]string{"backend": backend.URL}}, nil)

	if a := get(t, "PUT", dev+"/backend/a/b?x=1", "hi"); a.status != 200 || a.body != "backend PUT /a/b?x=1" || a.header.Get("X-Backend") != "yes" {
		t.Fatalf("HTTP_PROXY: %d %q", a.status, a.body)
	}
	if a := get(t, "GET", dev+"/mock", ""); a.status != 200 || a.body != `{"mock":true}` {
		t.Fatalf("MOCK: %d %q", a.status, a.body)
	}
	a = get(t, "GET", dev+"/probe/7?sleep=3000", "")
	if a.status != 504 || a.body != `{"message": "Endpoint request timed out"}` {
		t.Fatalf("lowered timeout: %d %q", a.status, a.body)
	}
	a = get(t, "GET", dev+"/probe/7?bad=1", "")
	if a.status != 502 || a.body != `{"message": "Internal server error"}` {
		t.Fatalf("malformed result: %d %q", a.status, a.body)
	}
	a = get(t, "GET", dev+"/probe/7?fail=1", "")
	if a.status != 502 {
		t.Fatalf("function error: %d %q", a.status, a.body)
	}
	a = get(t, "POST", dev+"/nothing-here/x", "")
	if a.status != 200 { // {proxy+} catches it
		t.Fatalf("proxy+ catch-all: %d", a.status)
	}

	// The event the function received, against aws-lambda-go's fixture.
	a = get(t, "POST", dev+"/probe/42?name=me&name=you", `{"a": 1}`, "Content-Type", "application/json", "X-Multi", "a", "X-Multi", "b")
	if a.status != 200 {
		t.Fatalf("probe: %d %s", a.status, a.body)
	}
	gateway.AssertEventShape(t, "v1", []byte(a.body))

	// Redeploy with a change, then roll back to the earlier deployment.
	var rts struct {
		Items []struct {
			ID       string `json:"id"`
			RouteKey string `json:"routeKey"`
		} `json:"items"`
	}
	admin(t, c, "GET", base+"/routes", nil, nil, &rts)
	for _, r := range rts.Items {
		if r.RouteKey == "GET /hello" {
			admin(t, c, "PUT", base+"/routes/"+r.ID+"/integration", nil, map[string]any{"type": "MOCK",
				"responses": map[string]any{"default": map[string]any{"statusCode": "200", "responseTemplates": map[string]string{"application/json": `{"functionVersion":"mocked"}`}}}}, nil)
		}
	}
	admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev", "description": "mocked hello"}, nil)
	if got := helloVersion(t, dev+"/hello"); got != "mocked" {
		t.Fatalf("redeploy: %s", got)
	}
	var rolled stage
	admin(t, c, "POST", base+"/stages/dev/rollback", nil, map[string]any{}, &rolled)
	if rolled.DeploymentID != dep2.Deployment.ID {
		t.Fatalf("rolled back to %s, want %s", rolled.DeploymentID, dep2.Deployment.ID)
	}
	if got := helloVersion(t, dev+"/hello"); got != v1.Version {
		t.Fatalf("after rollback dev answered %s, want %s", got, v1.Version)
	}

	// An HTTP API (payload 2.0) on the same server.
	var httpAPI struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "probe-http", "protocol": "HTTP", "routes": []map[string]any{
		{"method": "GET", "path": "/items/{id}", "integration": map[string]any{"type": "AWS_PROXY", "uri": "arn:aws:lambda:us-east-1:000000000000:function:probe"}},
	}}, &httpAPI)
	admin(t, c, "POST", "/portico/v1/apis/"+httpAPI.ID+"/deployments", nil, map[string]any{"stageName": "v1", "variables": map[string]string{"k": "v"}}, nil)
	a = get(t, "GET", env.GatewayURL+"/"+httpAPI.ID+"/v1/items/9?q=1", "", "Cookie", "a=1; b=2")
	if a.status != 200 {
		t.Fatalf("HTTP API: %d %s", a.status, a.body)
	}
	gateway.AssertEventShape(t, "v2", []byte(a.body))
	if a := get(t, "GET", env.GatewayURL+"/"+httpAPI.ID+"/v1/nope", ""); a.status != 404 || a.body != `{"message":"Not Found"}` {
		t.Fatalf("HTTP API unknown route: %d %s", a.status, a.body)
	}

	// A restart keeps APIs, deployments and stages.
	env.Restart()
	if got := helloVersion(t, dev+"/hello"); got != v1.Version {
		t.Fatalf("after restart dev answered %s, want %s", got, v1.Version)
	}
	if got := helloVersion(t, prod+"/hello"); got != v2.Version {
		t.Fatalf("after restart prod answered %s, want %s", got, v2.Version)
	}
	var hist struct {
		Items []struct{ Action string } `json:"items"`
	}
	admin(t, c, "GET", base+"/stages/dev/history", nil, nil, &hist)
	if len(hist.Items) != 4 || hist.Items[3].Action != "rollback" {
		t.Fatalf("history after restart: %+v", hist.Items)
	}
	var deps struct {
		Items []json.RawMessage `json:"items"`
	}
	admin(t, c, "GET", base+"/deployments", nil, nil, &deps)
	if len(deps.Items) != 3 {
		t.Fatalf("deployments after restart: %d", len(deps.Items))
	}
}
