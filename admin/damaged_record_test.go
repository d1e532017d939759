package admin

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/usage"
	"github.com/portico-dev/portico/store"
)

// TestDamagedRecordIsNamed is what the store3 tester found: 17 bytes zeroed
// inside one API's JSON in portico.db (damage the consistency check at
// start cannot see) made every list answer a bare 500 "Internal server
// error", logged only as "invalid character '\x00' in string literal". The
// answer and the log now name the damaged record by bucket and key and say
// what to do, on both admin surfaces that list APIs.
func TestDamagedRecordIsNamed(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	svc := apis.NewService(st, nil)
	const name = "damaged-record-api-name"
	a, err := svc.Create(t.Context(), &apis.API{Name: name, Protocol: apis.ProtocolREST})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(t.Context(), &apis.API{Name: "sound", Protocol: apis.ProtocolREST}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// Zero 17 bytes inside the damaged API's name, wherever the file holds it.
	path := filepath.Join(dir, store.FileName)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := bytes.Index(raw, []byte(name)); i >= 0; i = bytes.Index(raw, []byte(name)) {
		copy(raw[i+2:i+19], make([]byte, 17))
		n++
	}
	if n == 0 {
		t.Fatal("the API's name is not in the file")
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	st, err = store.Open(dir)
	if err != nil {
		t.Fatalf("the store with a damaged value inside a sound page: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var logs bytes.Buffer
	s, err := New(Params{Config: Config{Listen: "127.0.0.1:0"}, Log: slog.New(slog.NewTextHandler(&logs, nil)),
		Gateway: GatewayDeps{APIs: apis.NewService(st, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	record := "gw_apis/" + a.ID
	for _, p := range []string{"/restapis", "/portico/v1/apis"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("GET %s = %d %s, want 500", p, resp.StatusCode, body)
		}
		for _, want := range []string{"damaged record, " + record, "restore portico.db from a backup"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("GET %s answered %s; want it to say %q", p, body, want)
			}
		}
	}
	if out := logs.String(); !strings.Contains(out, "the stored record "+record+" is damaged") {
		t.Errorf("the log does not name the record %s:\n%s", record, out)
	}
}

// TestDamagedAPIRecordCanBeDeleted: an API whose stored record is damaged
// (it does not decode) is deleted by DELETE on each admin surface that
// deletes APIs, with its deployments and stages, as a sound API is; it was
// answered 500 "restore portico.db from a backup", so that the one damaged
// record made every listing fail until a restore.
func TestDamagedAPIRecordCanBeDeleted(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	svc := apis.NewService(st, nil)
	s, err := New(Params{Config: Config{Listen: "127.0.0.1:0"}, Log: slog.New(slog.DiscardHandler), Gateway: GatewayDeps{APIs: svc}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	// One damaged API for each surface, and one sound.
	surfaces := []struct{ protocol, name, del string }{
		{"REST", "damaged-record-api-one", "/portico/v1/apis/"},
		{"REST", "damaged-record-api-two", "/restapis/"},
		{"HTTP", "damaged-record-api-six", "/v2/apis/"},
	}
	ids := make([]string, len(surfaces))
	for i, sf := range surfaces {
		var a struct {
			ID string `json:"id"`
		}
		if c := call(t, srv, "POST", "/portico/v1/apis", `{"name":"`+sf.name+`","protocol":"`+sf.protocol+`","routes":[{"method":"GET","path":"/a","integration":{"type":"MOCK"}}]}`, &a); c != 201 {
			t.Fatalf("create: %d", c)
		}
		if c := call(t, srv, "POST", "/portico/v1/apis/"+a.ID+"/deployments", `{"stageName":"dev"}`, nil); c != 201 {
			t.Fatalf("deploy: %d", c)
		}
		ids[i] = a.ID
	}
	if c := call(t, srv, "POST", "/portico/v1/apis", `{"name":"sound","protocol":"REST"}`, nil); c != 201 {
		t.Fatalf("create: %d", c)
	}
	srv.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, store.FileName)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, sf := range surfaces {
		n := 0
		for i := bytes.Index(raw, []byte(sf.name)); i >= 0; i = bytes.Index(raw, []byte(sf.name)) {
			copy(raw[i+2:i+19], make([]byte, 17))
			n++
		}
		if n == 0 {
			t.Fatalf("the name %s is not in the file", sf.name)
		}
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	st, err = store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc = apis.NewService(st, nil)
	s, err = New(Params{Config: Config{Listen: "127.0.0.1:0"}, Log: slog.New(slog.DiscardHandler), Gateway: GatewayDeps{APIs: svc}})
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(s)
	t.Cleanup(srv.Close)
	if c := call(t, srv, "GET", "/portico/v1/apis", "", nil); c != http.StatusInternalServerError {
		t.Fatalf("list with damaged records: %d, want 500", c)
	}
	for i, sf := range surfaces {
		if c := call(t, srv, "DELETE", sf.del+ids[i], "", nil); c >= 300 {
			t.Errorf("DELETE %s%s (damaged): %d, want it deleted", sf.del, ids[i], c)
		}
		if c := call(t, srv, "DELETE", sf.del+ids[i], "", nil); c != http.StatusNotFound {
			t.Errorf("DELETE %s%s again: %d, want 404", sf.del, ids[i], c)
		}
	}
	var list listResponse[apiSummary]
	if c := call(t, srv, "GET", "/portico/v1/apis", "", &list); c != 200 || len(list.Items) != 1 || list.Items[0].Name != "sound" {
		t.Errorf("list after the deletes: %d %+v, want the sound API alone", c, list)
	}
	err = st.View(t.Context(), func(tx *store.Tx) error {
		for _, id := range ids {
			for _, b := range []string{"gw_apis", "gw_deployments", "gw_stages"} {
				if err := tx.ForEach(b, id, func(key string, _ []byte) error {
					t.Errorf("%s/%s is left behind", b, key)
					return nil
				}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDamagedKeyAndPlanCanBeDeleted is the durable10 tester's, on the admin
// API: an API key or usage plan whose stored record does not decode is
// answered 500 naming the record and the DELETE that removes it, and that
// DELETE (the one create-api-key's and create-usage-plan's callers know)
// removes it without reading it.
func TestDamagedKeyAndPlanCanBeDeleted(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := usage.NewService(st, usage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const keyName, planName = "damaged-key-name-xxxxxxxx", "damaged-plan-name-xxxxxxx"
	k, err := svc.CreateKey(t.Context(), usage.KeyInput{Name: keyName})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.CreatePlan(t.Context(), usage.Plan{Name: planName})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddPlanKey(t.Context(), p.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	damageStrings(t, dir, keyName, planName)

	st, err = store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if svc, err = usage.NewService(st, usage.Options{}); err != nil {
		t.Fatalf("the usage service over a damaged key and plan: %v", err)
	}
	s, err := New(Params{Config: Config{Listen: "127.0.0.1:0"}, Log: slog.New(slog.DiscardHandler), Usage: UsageDeps{Usage: svc}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	for _, r := range []struct{ get, record string }{
		{"/apikeys/" + k.ID, "usage_keys/" + k.ID},
		{"/usageplans/" + p.ID, "usage_plans/" + p.ID},
	} {
		resp, err := http.Get(srv.URL + r.get)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("GET %s = %d %s, want 500", r.get, resp.StatusCode, body)
		}
		for _, want := range []string{"damaged record, " + r.record, "DELETE " + r.get, "restore portico.db from a backup"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("GET %s answered %s; want it to say %q", r.get, body, want)
			}
		}
		if c := call(t, srv, "DELETE", r.get, "", nil); c != http.StatusAccepted {
			t.Errorf("DELETE %s (damaged): %d, want 202", r.get, c)
		}
		if c := call(t, srv, "GET", r.get, "", nil); c != http.StatusNotFound {
			t.Errorf("GET %s after its DELETE: %d, want 404", r.get, c)
		}
	}
	for _, list := range []string{"/apikeys", "/usageplans"} {
		if c := call(t, srv, "GET", list, "", nil); c != http.StatusOK {
			t.Errorf("GET %s after the deletes: %d, want 200", list, c)
		}
	}
}
