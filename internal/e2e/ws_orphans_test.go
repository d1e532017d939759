package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/wstest"
)

// TestKilledServerRunsDisconnectAtRestart is the ws8 tester's stale chat
// rows: `kill -9` of portico serve skipped $disconnect for every connection
// it had, so a backend's connection table kept them forever. The next start
// runs it for each, and for each once.
func TestKilledServerRunsDisconnectAtRestart(t *testing.T) {
	calls := make(chan string, 16) // "path cid"
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls <- r.URL.Path + " " + r.Header.Get("X-Cid")
	}))
	t.Cleanup(backend.Close)
	dir := filepath.Join(t.TempDir(), "data")
	p := apptest.StartProcess(t, apptest.Options{DataDir: dir, Args: []string{"--tls-listen", "off"}})
	c := p.Client()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mapped := func(path string) map[string]any {
		return map[string]any{"type": "HTTP_PROXY", "httpMethod": "POST", "uri": backend.URL + path,
			"requestParameters": map[string]string{"integration.request.header.X-Cid": "context.connectionId"}}
	}
	resp, err := c.Do(ctx, "POST", "/portico/v1/apis", nil, map[string]any{"name": "chat", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": []any{
			map[string]any{"routeKey": "$connect", "integration": mapped("/connect")},
			map[string]any{"routeKey": "$disconnect", "integration": mapped("/bye")},
		}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var api struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(resp.Body, &api); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ctx, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil); err != nil {
		t.Fatal(err)
	}
	url := "ws" + strings.TrimPrefix(p.GatewayURL, "http") + "/" + api.ID + "/dev"
	var ids []string
	for range 2 {
		ws, r, err := wstest.Dial(websocket.DefaultDialer, url, nil)
		if err != nil {
			t.Fatalf("dial: %v (%v)", err, r)
		}
		t.Cleanup(func() { _ = ws.Close() })
		ids = append(ids, strings.TrimPrefix(<-calls, "/connect "))
	}
	// The journal is written in the background: kill once it has both.
	journalHas := func(what string, f func(id string) string) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			b, _ := os.ReadFile(filepath.Join(dir, "connections.journal"))
			if strings.Contains(string(b), f(ids[0])) && strings.Contains(string(b), f(ids[1])) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the journal never recorded %s %v: %q", what, ids, b)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	journalHas("the connections", func(id string) string { return `{"id":"` + id + `",` })
	p.Kill()
	select {
	case call := <-calls:
		t.Fatalf("a backend call from the killed server: %s", call)
	default:
	}

	again := apptest.StartProcess(t, apptest.Options{DataDir: dir, Args: []string{"--tls-listen", "off"}})
	got := map[string]bool{}
	for range ids {
		select {
		case call := <-calls:
			got[call] = true
		case <-time.After(time.Minute):
			t.Fatalf("$disconnect ran for %v only, want %v\n%s", got, ids, again.Output())
		}
	}
	for _, id := range ids {
		if !got["/bye "+id] {
			t.Errorf("no $disconnect for %s after the restart: got %v", id, got)
		}
	}
	if !strings.Contains(again.Output(), "left open") {
		t.Errorf("the restart did not log the orphans' $disconnect:\n%s", again.Output())
	}

	// Each ran once: a third start has none to run (it would say so
	// before it says it started).
	journalHas("the $disconnect of", func(id string) string { return `{"id":"` + id + `","gone":true}` })
	again.Kill()
	third := apptest.StartProcess(t, apptest.Options{DataDir: dir, Args: []string{"--tls-listen", "off"}})
	if strings.Contains(third.Output(), "left open") {
		t.Errorf("the third start ran $disconnect again:\n%s", third.Output())
	}
}
