package admin

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/store"
)

// damageStrings zeroes 17 bytes inside each of marks wherever the store file
// in dir holds it (every copy bbolt keeps), so that the record holding it no
// longer decodes (a NUL inside a JSON string).
func damageStrings(t *testing.T, dir string, marks ...string) {
	t.Helper()
	path := filepath.Join(dir, store.FileName)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range marks {
		n := 0
		for i := bytes.Index(raw, []byte(m)); i >= 0; i = bytes.Index(raw, []byte(m)) {
			copy(raw[i+2:i+19], make([]byte, 17))
			n++
		}
		if n == 0 {
			t.Fatalf("%s is not in the file", m)
		}
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedRecordsSayHowToRemoveThem: the store2 tester's leftovers. A GET
// that meets a damaged API, stage or deployment record (it does not decode)
// answered 500 telling the operator to restore portico.db; it now names the
// record and the DELETE that removes it (an API's removes its stages and
// deployments too). And a damaged stage or deployment could not be deleted
// (only a damaged API could): each is now deleted, on Portico's routes and on
// API Gateway's, as a sound one is; a deployment's delete meeting a damaged
// stage (which might point at it) names that stage.
func TestDamagedRecordsSayHowToRemoveThem(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Params{Config: Config{Listen: "127.0.0.1:0"}, Log: slog.New(slog.DiscardHandler), Gateway: GatewayDeps{APIs: apis.NewService(st, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	var a, b struct {
		ID string `json:"id"`
	}
	def := `","protocol":"REST","routes":[{"method":"GET","path":"/a","integration":{"type":"MOCK"}}]}`
	if c := call(t, srv, "POST", "/portico/v1/apis", `{"name":"damaged-record-api-gets`+def, &a); c != 201 {
		t.Fatalf("create: %d", c)
	}
	if c := call(t, srv, "POST", "/portico/v1/apis", `{"name":"sound`+def, &b); c != 201 {
		t.Fatalf("create: %d", c)
	}
	var dep deployResponse
	if c := call(t, srv, "POST", "/portico/v1/apis/"+b.ID+"/deployments", `{"stageName":"dev"}`, &dep); c != 201 {
		t.Fatalf("deploy: %d", c)
	}
	deps := map[string]string{}
	for _, d := range []string{"damaged-record-deployment-one", "damaged-record-deployment-two"} {
		var out deployResponse
		if c := call(t, srv, "POST", "/portico/v1/apis/"+b.ID+"/deployments", `{"description":"`+d+`"}`, &out); c != 201 {
			t.Fatalf("deploy: %d", c)
		}
		deps[d] = out.Deployment.ID
	}
	for _, name := range []string{"one", "two"} {
		if c := call(t, srv, "POST", "/portico/v1/apis/"+b.ID+"/stages",
			`{"name":"`+name+`","deploymentId":"`+dep.Deployment.ID+`","description":"damaged-record-stage-`+name+`"}`, nil); c != 201 {
			t.Fatalf("create stage %s: %d", name, c)
		}
	}
	srv.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	damageStrings(t, dir, "damaged-record-api-gets", "damaged-record-deployment-one", "damaged-record-deployment-two",
		"damaged-record-stage-one", "damaged-record-stage-two")
	if st, err = store.Open(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if s, err = New(Params{Config: Config{Listen: "127.0.0.1:0"}, Log: slog.New(slog.DiscardHandler), Gateway: GatewayDeps{APIs: apis.NewService(st, nil)}}); err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(s)
	t.Cleanup(srv.Close)
	answer := func(method, path string) (int, string) {
		t.Helper()
		a := sendForMessage(t, method, srv.URL+path, "")
		return a.StatusCode, a.Message
	}
	papi, pb := "/portico/v1/apis/"+a.ID, "/portico/v1/apis/"+b.ID
	one, two := deps["damaged-record-deployment-one"], deps["damaged-record-deployment-two"]
	for _, c := range []struct{ get, record, remedy string }{
		{papi, "gw_apis/" + a.ID, "DELETE " + papi},
		{"/restapis/" + a.ID, "gw_apis/" + a.ID, "DELETE " + papi},
		{pb + "/stages/one", "gw_stages/" + b.ID + "/one", "DELETE " + pb + "/stages/one"},
		{"/restapis/" + b.ID + "/stages/one", "gw_stages/" + b.ID + "/one", "DELETE " + pb + "/stages/one"},
		{pb + "/deployments/" + one, "gw_deployments/" + b.ID + "/" + one, "DELETE " + pb + "/deployments/" + one},
		// A deployment's delete reads the stages: a damaged one is named.
		{"DELETE " + pb + "/deployments/" + one, "gw_stages/" + b.ID + "/", "/stages/"},
	} {
		method, path, ok := strings.Cut(c.get, " ")
		if !ok {
			method, path = "GET", c.get
		}
		status, msg := answer(method, path)
		if status != http.StatusInternalServerError || !strings.Contains(msg, "damaged record, "+c.record) || !strings.Contains(msg, c.remedy) {
			t.Errorf("%s %s: %d %q; want 500 naming %s and saying %q", method, path, status, msg, c.record, c.remedy)
		}
	}
	for _, del := range []string{pb + "/stages/one", "/restapis/" + b.ID + "/stages/two", pb + "/deployments/" + one, "/restapis/" + b.ID + "/deployments/" + two} {
		if status, msg := answer("DELETE", del); status >= 300 {
			t.Errorf("DELETE %s (damaged): %d %q, want it deleted", del, status, msg)
		}
		if status, _ := answer("DELETE", del); status != http.StatusNotFound {
			t.Errorf("DELETE %s again: %d, want 404", del, status)
		}
	}
	var stages listResponse[stageView]
	if c := call(t, srv, "GET", pb+"/stages", "", &stages); c != 200 || len(stages.Items) != 1 || stages.Items[0].Name != "dev" {
		t.Errorf("stages after the deletes: %d %+v, want dev alone", c, stages)
	}
}
