package client

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAdmin records what the client sent and answers from a table of routes.
type fakeAdmin struct {
	mu   sync.Mutex
	got  []*http.Request
	body [][]byte
	// answer handles a request; nil answers 200 {}.
	answer func(w http.ResponseWriter, r *http.Request)
}

func newFake(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) (*fakeAdmin, *Client) {
	t.Helper()
	f := &fakeAdmin{answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.got, f.body = append(f.got, r), append(f.body, b)
		f.mu.Unlock()
		if f.answer == nil {
			_, _ = io.WriteString(w, "{}")
			return
		}
		f.answer(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, New(srv.URL+"/", "s3cret")
}

func TestDoSendsJSONAndToken(t *testing.T) {
	f, c := newFake(t, nil)
	resp, err := c.Do(context.Background(), http.MethodPost, "/portico/v1/apis", url.Values{"name": {"a b"}}, map[string]any{"x": 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || string(resp.Body) != "{}" {
		t.Errorf("response %d %q", resp.Status, resp.Body)
	}
	r := f.got[0]
	if r.Method != "POST" || r.URL.Path != "/portico/v1/apis" || r.URL.Query().Get("name") != "a b" {
		t.Errorf("request %s %s", r.Method, r.URL)
	}
	if r.Header.Get("Authorization") != "Bearer s3cret" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", r.Header)
	}
	if string(f.body[0]) != `{"x":1}` {
		t.Errorf("body %q", f.body[0])
	}
}

func TestDoSendsBytesAsTheyAre(t *testing.T) {
	f, c := newFake(t, nil)
	c.Token = ""
	_, err := c.Do(context.Background(), http.MethodPost, "/x", nil, []byte("raw"), http.Header{"Content-Type": {"text/plain"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(f.body[0]) != "raw" || f.got[0].Header.Get("Content-Type") != "text/plain" || f.got[0].Header.Get("Authorization") != "" {
		t.Errorf("sent %q with %v", f.body[0], f.got[0].Header)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name, body, typ string
		status          int
		want            string
		notFound        bool
	}{
		{"lambda shape", `{"Type":"User","message":"Function not found: x"}`, "ResourceNotFoundException", 404,
			"ResourceNotFoundException: Function not found: x", true},
		{"capital Message", `{"Message":"no"}`, "", 400, "no", false},
		{"token hint", `{"message":"missing token"}`, "AccessDeniedException", 403,
			"AccessDeniedException: missing token (pass the admin token with --token-file FILE or PORTICO_TOKEN)", false}, // ops23: the file first
		{"token hint given once", `{"message":"missing or invalid admin token: send Authorization: Bearer <token> (portico --token-file FILE or PORTICO_TOKEN)"}`, "AccessDeniedException", 403,
			"AccessDeniedException: missing or invalid admin token: send Authorization: Bearer <token> (portico --token-file FILE or PORTICO_TOKEN)", false},
		{"throttle reason", `{"message":"Rate Exceeded.","Reason":"ConcurrentInvocationLimitExceeded"}`, "TooManyRequestsException", 429,
			"TooManyRequestsException: Rate Exceeded. (ConcurrentInvocationLimitExceeded)", false},
		{"text body", "plain failure\n", "", 500, "plain failure", false},
		{"empty body", "", "", 502, "502 Bad Gateway", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, c := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.typ != "" {
					w.Header().Set("X-Amzn-ErrorType", tc.typ)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			_, err := c.Do(context.Background(), http.MethodGet, "/x", nil, nil, nil)
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != tc.status || err.Error() != tc.want {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if IsNotFound(err) != tc.notFound {
				t.Errorf("IsNotFound = %v", IsNotFound(err))
			}
			if _, err := c.Stream(context.Background(), "/x", nil); err == nil || err.Error() != tc.want {
				t.Errorf("Stream err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	_, err = New("http://"+addr, "").Do(context.Background(), http.MethodGet, "/x", nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "is `portico serve` running?") {
		t.Errorf("err = %v, want the hint to start portico serve", err)
	}
	_, err = New("://bad", "").Do(context.Background(), http.MethodGet, "/x", nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "PORTICO_ENDPOINT") {
		t.Errorf("err = %v, want the endpoint hint", err)
	}
}

func TestStream(t *testing.T) {
	_, c := newFake(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "line 1\nline 2\n") })
	rc, err := c.Stream(context.Background(), "/portico/v1/functions/f/logs", url.Values{"follow": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	if string(b) != "line 1\nline 2\n" {
		t.Errorf("stream %q", b)
	}
}

// TestSetAlias creates an alias that does not exist and updates one that does.
func TestSetAlias(t *testing.T) {
	exists := false
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && !exists:
			w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"message":"Cannot find alias"}`)
		default:
			_, _ = io.WriteString(w, `{"Name":"live","FunctionVersion":"2","AliasArn":"arn:x"}`)
		}
	})
	a, _, err := c.SetAlias(context.Background(), "fn", "live", "2", nil)
	if err != nil || a.FunctionVersion != "2" {
		t.Fatalf("SetAlias = %+v, %v", a, err)
	}
	if r := f.got[1]; r.Method != http.MethodPost || r.URL.Path != "/2015-03-31/functions/fn/aliases" {
		t.Errorf("create sent %s %s", r.Method, r.URL.Path)
	}
	var created map[string]any
	_ = json.Unmarshal(f.body[1], &created)
	if created["Name"] != "live" || created["RoutingConfig"] != nil {
		t.Errorf("create body %s", f.body[1])
	}
	exists = true
	if _, _, err := c.SetAlias(context.Background(), "fn", "live", "2", map[string]float64{"3": 0.1}); err != nil {
		t.Fatal(err)
	}
	if r := f.got[3]; r.Method != http.MethodPut || r.URL.Path != "/2015-03-31/functions/fn/aliases/live" {
		t.Errorf("update sent %s %s", r.Method, r.URL.Path)
	}
	if !strings.Contains(string(f.body[3]), `"AdditionalVersionWeights":{"3":0.1}`) {
		t.Errorf("update body %s", f.body[3])
	}
}

// TestRouteIDs maps an API's route keys to their ids from the routes list.
func TestRouteIDs(t *testing.T) {
	f, c := newFake(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"items":[{"id":"r1","routeKey":"$connect"},{"id":"r2","routeKey":"sendmessage"}]}`)
	})
	ids, err := c.RouteIDs(context.Background(), "a b")
	if err != nil || len(ids) != 2 || ids["$connect"] != "r1" || ids["sendmessage"] != "r2" {
		t.Fatalf("RouteIDs = %v, %v", ids, err)
	}
	if r := f.got[0]; r.Method != http.MethodGet || r.URL.EscapedPath() != "/portico/v1/apis/a%20b/routes" {
		t.Errorf("sent %s %s", r.Method, r.URL.EscapedPath())
	}
}

func TestFunctionPath(t *testing.T) {
	if got := FunctionPath("fn:live", "/versions"); got != "/2015-03-31/functions/fn:live/versions" {
		t.Errorf("FunctionPath = %q", got)
	}
	if got := FunctionPath("a/b", ""); got != "/2015-03-31/functions/a%2Fb" {
		t.Errorf("FunctionPath escapes: %q", got)
	}
}

func TestZipDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lib", "data.txt"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("lib/data.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	raw, err := ZipDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*zip.File{}
	for _, f := range zr.File {
		got[f.Name] = f
	}
	if b := got["bootstrap"]; b == nil || b.Mode().Perm()&0o111 == 0 {
		t.Errorf("bootstrap missing or not executable: %v", b)
	}
	if got["lib/"] == nil || got["lib/data.txt"] == nil {
		t.Errorf("entries: %v", zr.File)
	}
	if l := got["link"]; l == nil || !l.Mode().IsRegular() || l.UncompressedSize64 != 4 {
		t.Errorf("a symbolic link is zipped as the file it names: %v", l)
	}
	// A symbolic link to the directory zips the directory.
	linked := filepath.Join(t.TempDir(), "code")
	if err := os.Symlink(dir, linked); err != nil {
		t.Fatal(err)
	}
	if raw2, err := ZipDir(linked); err != nil || !bytes.Equal(raw2, raw) {
		t.Errorf("ZipDir through a symbolic link: %d bytes, %v; want the directory's %d", len(raw2), err, len(raw))
	}
	if _, err := ZipDir(filepath.Join(dir, "bootstrap")); err == nil {
		t.Error("ZipDir of a file succeeded")
	}
}

// TestZipDirFollowsDirectoryLinks zips a package whose subdirectory is a
// symbolic link to a directory elsewhere: its files are in the zip, as `sam
// package` zips them (they were left out, an empty directory in their place).
// A link back to a directory that holds it is refused, naming the link.
func TestZipDirFollowsDirectoryLinks(t *testing.T) {
	dir, shared := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil { //nolint:gosec // an executable
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(shared, "tmpl"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shared, "tmpl", "page.html"), []byte("<p>hi</p>"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(shared, filepath.Join(dir, "lib")); err != nil {
		t.Fatal(err)
	}
	raw, err := ZipDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if want := []string{"bootstrap", "lib/", "lib/tmpl/", "lib/tmpl/page.html"}; !slices.Equal(names, want) {
		t.Errorf("zipped %q, want %q", names, want)
	}

	if err := os.Symlink("..", filepath.Join(shared, "tmpl", "up")); err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(shared)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ZipDir(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join("lib", "tmpl", "up")+" is a symbolic link to "+real) || !strings.Contains(err.Error(), "loop") {
		t.Errorf("a link loop: %v; want an error naming the link", err)
	}
	if _, err := ZipDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("ZipDir of a missing directory succeeded")
	}
}

// TestZipDirDependsOnContentsOnly zips the same files twice, the second time
// rewritten (as `make samples` rewrites bootstrap) with other times and
// other permission bits: the archives are the same bytes, so a function's
// CodeSha256 changes only when its code does, and `portico dev` publishes no
// new version of unchanged source. The executable bit is all of a file's mode
// that counts.
func TestZipDirDependsOnContentsOnly(t *testing.T) {
	write := func(dir string, bootMode, dataMode os.FileMode, when time.Time) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, "lib"), 0o750); err != nil {
			t.Fatal(err)
		}
		for name, mode := range map[string]os.FileMode{"bootstrap": bootMode, "lib/data.txt": dataMode} {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(name), mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, when, when); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(filepath.Join(dir, "lib"), when, when); err != nil {
			t.Fatal(err)
		}
	}
	a, b := t.TempDir(), t.TempDir()
	write(a, 0o755, 0o644, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	write(b, 0o700, 0o600, time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC))
	za, err := ZipDir(a)
	if err != nil {
		t.Fatal(err)
	}
	zb, err := ZipDir(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(za, zb) {
		t.Fatal("the same files with other times and modes zip to other bytes")
	}
	zr, err := zip.NewReader(bytes.NewReader(za), int64(len(za)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		want := os.FileMode(0o644)
		switch f.Name {
		case "bootstrap":
			want = 0o755
		case "lib/":
			want = os.ModeDir | 0o755
		}
		if f.Mode() != want {
			t.Errorf("%s: mode %v, want %v", f.Name, f.Mode(), want)
		}
	}
	// The executable bit is the code's: losing it is a change.
	write(b, 0o600, 0o600, time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC))
	if zc, err := ZipDir(b); err != nil || bytes.Equal(za, zc) {
		t.Errorf("bootstrap lost its executable bit and the archive is the same (%v)", err)
	}
}

// TestErrorsMaskEndpointSecrets: the errors of a call that got no answer
// (the connection refused; closed before an answer) name the endpoint with
// its password and query values masked, as the server's logs name a
// backend's URL, never the secrets given in --endpoint.
func TestErrorsMaskEndpointSecrets(t *testing.T) {
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	_ = refused.Close()
	closing, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closing.Close() })
	go func() {
		for {
			c, err := closing.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	for _, tc := range []struct{ name, endpoint, want string }{
		{"refused, password", "http://admin:PASSWD999@" + refusedAddr, "cannot reach the admin API at http://admin:xxxxx@" + refusedAddr},
		{"refused, query", "http://" + refusedAddr + "/?token=QTOKEN999", "cannot reach the admin API at http://" + refusedAddr + "/?token=xxxxx"},
		{"closed, password and query", "http://admin:PASSWD999@" + closing.Addr().String() + "/?token=QTOKEN999", "admin:xxxxx@"},
		{"bad URL", "http://admin:PASSWD999@[::1/?token=QTOKEN999", "xxxxx"},
	} {
		c := New(tc.endpoint, "")
		_, err := c.Do(context.Background(), http.MethodGet, "/2015-03-31/functions", nil, nil, nil)
		if err == nil {
			t.Fatalf("%s: no error", tc.name)
		}
		if msg := err.Error(); strings.Contains(msg, "PASSWD999") || strings.Contains(msg, "QTOKEN999") || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %q, want the secrets masked (%q)", tc.name, msg, tc.want)
		}
	}
}
