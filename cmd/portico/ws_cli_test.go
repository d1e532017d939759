package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// cliCombined runs one portico command against env and returns its output.
func cliCombined(t *testing.T, env *apptest.Env, args ...string) string {
	t.Helper()
	out, err := cliErr(env, args...)
	if err != nil {
		t.Fatalf("portico %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestWebSocketDeployPrintsWSURLAndSendConfirms: `api deploy` and `stage list`
// of a WebSocket API print the ws:// URL clients connect to, and `connections
// send` says what it sent.
func TestWebSocketDeployPrintsWSURLAndSendConfirms(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	id := strings.TrimSpace(cliCombined(t, env, "ws", "create", "cli-ws"))
	if _, err := env.Client().Do(context.Background(), http.MethodPost, "/portico/v1/apis/"+id+"/routes", nil,
		map[string]any{"routeKey": "$default", "integration": map[string]any{"type": "MOCK"}}, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(cliCombined(t, env, "api", "deploy", id, "--stage", "dev")), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "ws://") || !strings.HasSuffix(lines[1], "/"+id+"/dev/") {
		t.Fatalf("api deploy printed %q, want the deployment id and a ws:// URL", lines)
	}
	// `stage list` shows the same ws:// URL.
	if out := cliCombined(t, env, "stage", "list", id); !strings.Contains(out, lines[1]) || strings.Contains(out, "http://") {
		t.Errorf("stage list printed %q, want the ws:// URL %s", out, lines[1])
	}
	conn, resp, err := websocket.DefaultDialer.Dial(lines[1], nil)
	if err != nil {
		t.Fatalf("dial %s: %v %v", lines[1], err, resp)
	}
	defer conn.Close()
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	r, err := env.Client().Do(context.Background(), http.MethodGet, "/portico/v1/apis/"+id+"/stages/dev/connections", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []struct {
			ConnectionID string `json:"connectionId"`
		} `json:"items"`
	}
	if err := json.Unmarshal(r.Body, &list); err != nil || len(list.Items) != 1 {
		t.Fatalf("connections %s: %v", r.Body, err)
	}
	cid := list.Items[0].ConnectionID
	// "--": connection ids may start with "-", which cobra would take for a flag.
	if got := cliCombined(t, env, "connections", "send", "--", id, "dev", cid, "hello there"); strings.TrimSpace(got) != "sent 11 bytes to connection "+cid {
		t.Errorf("connections send printed %q", got)
	}
	if _, msg, err := conn.ReadMessage(); err != nil || string(msg) != "hello there" {
		t.Errorf("client got %q, %v", msg, err)
	}
	// `connections get` prints fields, as other get verbs do; -o json the API's JSON.
	if got := cliCombined(t, env, "connections", "get", "--", id, "dev", cid); !strings.Contains(got, "Connection:") ||
		!strings.Contains(got, cid) || !strings.Contains(got, "Source IP:") || strings.Contains(got, "{") {
		t.Errorf("connections get printed %q, want fields", got)
	}
	var info struct {
		ConnectionID string `json:"connectionId"`
	}
	if got := cliCombined(t, env, "-o", "json", "connections", "get", "--", id, "dev", cid); json.Unmarshal([]byte(got), &info) != nil || info.ConnectionID != cid {
		t.Errorf("connections get -o json printed %q", got)
	}
	// An unknown API or stage is an error (it listed no connections, exit 0).
	for _, args := range [][]string{{"nosuch", "dev"}, {id, "nope"}} {
		if out, err := cliErr(env, append([]string{"connections", "list"}, args...)...); err == nil || !strings.Contains(out+err.Error(), "not found") {
			t.Errorf("connections list %s: %v %q, want a not found error", strings.Join(args, " "), err, out)
		}
	}
	// -o json prints JSON for commands whose answer is empty too.
	for _, args := range [][]string{
		{"-o", "json", "connections", "send", "--", id, "dev", cid, "x"},
		{"-o", "json", "connections", "close", "--", id, "dev", cid},
		{"-o", "json", "api", "delete", id},
	} {
		if got := cliCombined(t, env, args...); !json.Valid([]byte(got)) {
			t.Errorf("portico %s printed %q, not JSON", strings.Join(args, " "), got)
		}
	}
}

// TestConnectionsSendRefusesEmptyMessage: `connections send` with an empty
// MESSAGE, an empty --file or nothing on stdin refuses, saying what to give,
// and posts nothing; it sent an empty frame and reported "sent 0 bytes".
func TestConnectionsSendRefusesEmptyMessage(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }))
	defer srv.Close()
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"connections", "send", "--", "api1", "dev", "cid=", ""},
		{"connections", "send", "--file", empty, "--", "api1", "dev", "cid="},
	} {
		var out bytes.Buffer
		err := runRoot(&out, &out, append([]string{"--endpoint", srv.URL}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "no message to send to connection cid=") || !strings.Contains(err.Error(), "--file") {
			t.Errorf("portico %s: %v\n%s; want the empty message refused, saying what to give", strings.Join(args, " "), err, out.String())
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the refused sends made %d requests", n)
	}
}
