package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/store"
)

// goneDoc is a small OpenAPI document that imports as a REST or HTTP API.
const goneDoc = `{"openapi":"3.0.1","info":{"title":"gone","version":"1"},"paths":{"/x":{"get":{"responses":{"200":{"description":"ok"}},` +
	`"x-amazon-apigateway-integration":{"type":"http_proxy","httpMethod":"GET","uri":"https://example.com/","payloadFormatVersion":"1.0"}}}}}`

// TestImportAbandonedWhenClientGoes: an import whose client closes its
// connection once the document is read stores nothing (r-openapi24 #1: the
// API was created seconds after the client had gone, so a retry made a
// duplicate). The seam just before the store write waits for the request's
// context to end, which only the client's going away does; every import
// route (import-rest-api, put-rest-api, import-api, reimport-api, Portico's
// own import and reimport) is checked.
func TestImportAbandonedWhenClientGoes(t *testing.T) {
	t.Parallel()
	v2Body, _ := json.Marshal(map[string]string{"body": goneDoc})
	for _, tc := range []struct {
		name, method, path string
		body               string
		// reimport: the request replaces an existing API's definition.
		reimport bool
	}{
		{"import-rest-api", "POST", "/restapis?mode=import", goneDoc, false},
		{"put-rest-api", "PUT", "/restapis/{api}?mode=overwrite", goneDoc, true},
		{"import-api", "PUT", "/v2/apis", string(v2Body), false},
		{"reimport-api", "PUT", "/v2/apis/{api}", string(v2Body), true},
		{"portico import", "POST", "/portico/v1/apis/import", goneDoc, false},
		{"portico reimport", "PUT", "/portico/v1/apis/{api}/import?mode=overwrite", goneDoc, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
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
			protocol := apis.ProtocolREST
			if tc.path[:3] == "/v2" {
				protocol = apis.ProtocolHTTP
			}
			path := tc.path
			var existing *apis.API
			if tc.reimport {
				existing, err = svc.Create(t.Context(), &apis.API{Name: "before", Protocol: protocol})
				if err != nil {
					t.Fatal(err)
				}
				path = replaceAPI(path, existing.ID)
			}
			reached, waited := make(chan struct{}), make(chan bool, 1)
			s.beforeImportCommit = func(ctx context.Context) {
				close(reached)
				select {
				case <-ctx.Done():
					waited <- true
				case <-time.After(10 * time.Second):
					waited <- false
				}
			}
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			stopped := false
			t.Cleanup(func() {
				if !stopped {
					_ = s.Stop(context.Background())
				}
			})
			c, err := net.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", tc.method, path, len(tc.body), tc.body)
			select {
			case <-reached: // the document is read and imported; the store write is next
			case <-time.After(10 * time.Second):
				_ = c.SetReadDeadline(time.Now().Add(time.Second))
				b, _ := io.ReadAll(c)
				t.Fatalf("the import never reached its store write; the server answered %q", b)
			}
			_ = c.Close()
			if !<-waited {
				t.Errorf("the request's context was not cancelled in 10 s after its client went away")
			}
			// Stop waits for the handler to return.
			_ = s.Stop(context.Background())
			stopped = true
			all, err := svc.List(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if !tc.reimport && len(all) != 0 {
				t.Fatalf("the import whose client went away created %d APIs (%s), want none", len(all), all[0].Name)
			}
			if tc.reimport && (len(all) != 1 || all[0].Name != "before" || len(all[0].Routes) != 0) {
				t.Fatalf("the reimport whose client went away changed the API: %+v", all[0])
			}
		})
	}
}

func replaceAPI(path, id string) string {
	const ph = "{api}"
	for i := 0; i+len(ph) <= len(path); i++ {
		if path[i:i+len(ph)] == ph {
			return path[:i] + id + path[i+len(ph):]
		}
	}
	return path
}
