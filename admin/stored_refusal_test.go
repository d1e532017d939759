package admin

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/store"
)

// TestStoredRefusalNamedOnUnrelatedChange: a REST API that an older build
// stored with an integration this build refuses (an AWS integration of
// DynamoDB, refused since e134693) made its next, unrelated change (a new
// description) answer 400 in the words of the integration's refusal, as if
// the change were at fault. The answer now says that the stored API has it,
// that this build refuses it, and to delete or change it first; the
// description alone, or a change with its own problem, still says that.
func TestStoredRefusalNamedOnUnrelatedChange(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	const id = "legacy0001"
	// The record as an older build wrote it.
	old := json.RawMessage(`{"id":"legacy0001","name":"legacy","protocol":"REST",
	  "createdAt":"2026-01-02T03:04:05Z","updatedAt":"2026-01-02T03:04:05Z",
	  "routes":[
	    {"id":"r1","method":"GET","path":"/ok","routeKey":"GET /ok","integration":{"type":"MOCK","requestTemplates":{"application/json":"{\"statusCode\": 200}"}}},
	    {"id":"r2","method":"POST","path":"/put","routeKey":"POST /put","integration":{"type":"AWS","httpMethod":"POST","uri":"arn:aws:apigateway:us-east-1:dynamodb:action/PutItem"}}]}`)
	if err := st.Update(t.Context(), func(tx *store.Tx) error { return tx.Put("gw_apis", id, old) }); err != nil {
		t.Fatal(err)
	}
	s, err := New(Params{Config: Config{Listen: "127.0.0.1:0"}, Log: slog.New(slog.DiscardHandler),
		Gateway: GatewayDeps{APIs: apis.NewService(st, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	patch := func(ops string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPatch, srv.URL+"/restapis/"+id, strings.NewReader(`{"patchOperations":[`+ops+`]}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	code, body := patch(`{"op":"replace","path":"/description","value":"unrelated"}`)
	for _, want := range []string{"API legacy0001 as stored: ", "dynamodb", "AWS service integrations other than Lambda",
		"an older build accepted it and this build refuses it: delete or change it first, then retry this change"} {
		if code != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Fatalf("an unrelated change to the stored API: %d %s; want 400 saying %q", code, body, want)
		}
	}
	// A change with a problem of its own is refused for it in its own words,
	// beside the stored one.
	_, err = apis.NewService(st, nil).Modify(t.Context(), id, func(a *apis.API) error {
		a.Routes = append(a.Routes, apis.Route{Method: "GET", Path: "/new", Integration: &apis.Integration{Type: "NOPE"}})
		return nil
	})
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if strings.Count(msg, "as stored: ") != 1 || !strings.Contains(msg, `"NOPE"`) || strings.Contains(msg, `as stored: route "GET /new"`) {
		t.Fatalf("a bad change to the stored API: %v", err)
	}
}
