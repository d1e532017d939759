package admin

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/connections"
)

// errorAnswer makes a request and returns the status, the error type and the
// message of its AWS-shaped error body.
func errorAnswer(t *testing.T, req *http.Request) (int, string, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body struct{ Message string }
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("%s %s: %d %s: not an AWS-shaped error", req.Method, req.URL.Path, resp.StatusCode, raw)
	}
	return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), body.Message
}

// TestMissingAPIMessages: an unknown API, stage or deployment answers 404
// with a message that says it was not found, not just its name.
func TestMissingAPIMessages(t *testing.T) {
	t.Parallel()
	srv, _ := newGatewayAdmin(t)
	var a struct{ ID string }
	if c := call(t, srv, "POST", "/portico/v1/apis", `{"name":"x","protocol":"REST"}`, &a); c != 201 {
		t.Fatalf("create: %d", c)
	}
	for _, tc := range []struct{ path, want string }{
		{"/portico/v1/apis/nonexist", `API "nonexist" not found`},
		{"/portico/v1/apis/nonexist/stages", `API "nonexist" not found`},
		{"/portico/v1/apis/" + a.ID + "/stages/nope", `stage "nope" not found`},
	} {
		req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
		st, typ, msg := errorAnswer(t, req)
		if st != 404 || !strings.HasSuffix(typ, "NotFoundException") || msg != tc.want {
			t.Errorf("GET %s: %d %s %q, want 404 NotFoundException %q", tc.path, st, typ, msg, tc.want)
		}
	}
}

// TestConnectionMessageTooLarge: a message over the limit sent to a
// connection from the admin API is refused with its real size (from its
// Content-Length), or, sent without one, as over the limit: never with the
// size of the part that was read.
func TestConnectionMessageTooLarge(t *testing.T) {
	t.Parallel()
	m := connections.New(connections.Config{}, nil)
	s, err := New(Params{Config: Config{Listen: "127.0.0.1:0"}, Log: slog.New(slog.DiscardHandler), Conns: ConnectionDeps{Manager: m}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	limit := m.Config().MaxMessageBytes
	url := srv.URL + "/portico/v1/apis/a1/stages/dev/connections/c1="
	msg := bytes.Repeat([]byte("x"), 143360)

	req, _ := http.NewRequest("POST", url, bytes.NewReader(msg))
	st, typ, got := errorAnswer(t, req)
	if want := "message of 143360 bytes is over the 131072-byte limit"; st != 413 || typ != "PayloadTooLargeException" || got != want || limit != 131072 {
		t.Errorf("with a Content-Length: %d %s %q, want 413 PayloadTooLargeException %q", st, typ, got, want)
	}
	req, _ = http.NewRequest("POST", url, io.MultiReader(bytes.NewReader(msg))) // chunked: no Content-Length
	st, typ, got = errorAnswer(t, req)
	if want := "message over the 131072-byte limit"; st != 413 || typ != "PayloadTooLargeException" || got != want {
		t.Errorf("chunked: %d %s %q, want 413 PayloadTooLargeException %q", st, typ, got, want)
	}
}
