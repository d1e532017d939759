package admin

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/store"
)

// TestStackRecords: a stack record is kept as it was put, listed, survives a
// reopen of the store, and is forgotten on delete; bad names and unknown
// stacks get AWS-shaped errors.
func TestStackRecords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var closeStore func()
	open := func() *httptest.Server {
		st, err := store.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(Params{Config: Config{Listen: "127.0.0.1:0"}, Log: slog.New(slog.DiscardHandler), Stacks: StackDeps{Store: st}})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(s)
		closeStore = func() { srv.Close(); _ = st.Close() }
		t.Cleanup(closeStore)
		return srv
	}
	srv := open()
	var rec stackRecord
	if code := call(t, srv, http.MethodPut, "/portico/v1/stacks/hello", `{"template":"t.yaml","resources":{"Fn":{"kind":"function","physicalId":"hello-Fn"}}}`, &rec); code != http.StatusOK {
		t.Fatalf("PUT = %d", code)
	}
	if rec.Name != "hello" || string(rec.Resources["Fn"]) != `{"kind":"function","physicalId":"hello-Fn"}` {
		t.Fatalf("PUT answered %+v", rec)
	}
	if code := call(t, srv, http.MethodPut, "/portico/v1/stacks/9bad", `{}`, nil); code != http.StatusBadRequest {
		t.Errorf("PUT of a bad name = %d, want 400", code)
	}
	if code := call(t, srv, http.MethodPut, "/portico/v1/stacks/a", `{"name":"b"}`, nil); code != http.StatusBadRequest {
		t.Errorf("PUT naming another stack = %d, want 400", code)
	}
	resp, err := http.Get(srv.URL + "/portico/v1/stacks/nope")
	if err != nil {
		t.Fatal(err)
	}
	var missing struct{ Message string }
	err = json.NewDecoder(resp.Body).Decode(&missing)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusNotFound || missing.Message != `stack "nope" does not exist` {
		t.Errorf("GET of an unknown stack = %d %q (%v), want 404 saying it does not exist", resp.StatusCode, missing.Message, err)
	}
	closeStore()

	srv = open() // the record is in the store, not in memory
	var list struct{ Items []stackRecord }
	if call(t, srv, http.MethodGet, "/portico/v1/stacks", "", &list); len(list.Items) != 1 || list.Items[0].Template != "t.yaml" {
		t.Fatalf("list after reopening = %+v", list)
	}
	if code := call(t, srv, http.MethodDelete, "/portico/v1/stacks/hello", "", nil); code != http.StatusNoContent {
		t.Fatalf("DELETE = %d", code)
	}
	if code := call(t, srv, http.MethodDelete, "/portico/v1/stacks/hello", "", nil); code != http.StatusNotFound {
		t.Errorf("second DELETE = %d, want 404", code)
	}
}
