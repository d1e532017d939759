package admin

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/store"
)

// TestListConnectionsOfUnknownStage: listing the connections of an API or
// stage that does not exist answers 404 NotFoundException, as the stage itself
// does (it answered 200 with no items); a stage that exists lists them.
func TestListConnectionsOfUnknownStage(t *testing.T) {
	t.Parallel()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	s, err := New(Params{Config: Config{Listen: "127.0.0.1:0"}, Log: slog.New(slog.DiscardHandler),
		Gateway: GatewayDeps{APIs: apis.NewService(st, nil)}, Conns: ConnectionDeps{Manager: connections.New(connections.Config{}, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	var a struct{ ID string }
	if c := call(t, srv, "POST", "/portico/v1/apis", `{"name":"x","protocol":"REST","routes":[{"method":"GET","path":"/a","integration":{"type":"MOCK"}}]}`, &a); c != 201 {
		t.Fatalf("create: %d", c)
	}
	if c := call(t, srv, "POST", "/portico/v1/apis/"+a.ID+"/deployments", `{"stageName":"dev"}`, nil); c != 201 {
		t.Fatalf("deploy: %d", c)
	}
	for _, tc := range []struct{ path, want string }{
		{"/portico/v1/apis/nosuch/stages/dev/connections", `API "nosuch" not found`},
		{"/portico/v1/apis/" + a.ID + "/stages/nope/connections", `stage "nope" not found`},
		{"/portico/v1/connections?api=nosuch", `API "nosuch" not found`},
		{"/portico/v1/connections?api=nosuch&stage=dev", `API "nosuch" not found`},
		{"/portico/v1/connections?api=" + a.ID + "&stage=nope", `stage "nope" not found`},
	} {
		req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
		st, typ, msg := errorAnswer(t, req)
		if st != 404 || !strings.HasSuffix(typ, "NotFoundException") || msg != tc.want {
			t.Errorf("GET %s: %d %s %q, want 404 NotFoundException %q", tc.path, st, typ, msg, tc.want)
		}
	}
	for _, path := range []string{
		"/portico/v1/apis/" + a.ID + "/stages/dev/connections",
		"/portico/v1/connections?api=" + a.ID,
		"/portico/v1/connections?api=" + a.ID + "&stage=dev",
		"/portico/v1/connections",
	} {
		var l struct{ Items []connections.Info }
		if c := call(t, srv, "GET", path, "", &l); c != 200 || l.Items == nil {
			t.Errorf("GET %s: %d %+v, want 200 and no items", path, c, l)
		}
	}
}
