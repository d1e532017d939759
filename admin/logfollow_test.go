package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/admin"
	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// follow is one GET .../logs?follow=1 made by its own client, from the
// loopback address from.
type follow struct {
	resp   *http.Response
	body   string // the error answer's body (status not 200)
	cancel context.CancelFunc
}

// close ends the follow as a client that goes away mid-stream does.
func (f *follow) close() {
	f.cancel()
	_ = f.resp.Body.Close()
}

// startFollow opens a follow of function fn on env's admin API from the
// loopback address from, with token unless it is empty, and the headers hdr
// (name, value, ...).
func startFollow(t *testing.T, env *apptest.Env, from, token, fn string, hdr ...string) *follow {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, env.AdminURL+"/portico/v1/functions/"+fn+"/logs?bytes=0&follow=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := hc.Do(req) //nolint:bodyclose // f.close closes it, at the latest in the test's cleanup
	if err != nil {
		cancel()
		t.Fatalf("follow from %s: %v", from, err)
	}
	f := &follow{resp: resp, cancel: cancel}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		f.body = string(b)
		f.close()
	}
	t.Cleanup(f.close)
	return f
}

// wantRefused checks that f was refused with 429 in the admin API's error
// shape, with a message holding each of want.
func wantRefused(t *testing.T, f *follow, want ...string) {
	t.Helper()
	if f.resp.StatusCode != http.StatusTooManyRequests || f.resp.Header.Get("X-Amzn-Errortype") != "TooManyRequestsException" {
		t.Fatalf("status %d, type %q: %s; want 429 TooManyRequestsException", f.resp.StatusCode, f.resp.Header.Get("X-Amzn-Errortype"), f.body)
	}
	var body struct{ Message string }
	if err := json.Unmarshal([]byte(f.body), &body); err != nil {
		t.Fatalf("body %q: %v", f.body, err)
	}
	for _, w := range append(want, "close one") {
		if !strings.Contains(body.Message, w) {
			t.Fatalf("message %q does not say %q", body.Message, w)
		}
	}
}

// followServer starts a server with limits and token and a function "f" to follow.
func followServer(t *testing.T, limits admin.LogFollowLimits, token string) (*apptest.Env, *admin.Server) {
	t.Helper()
	var srv *admin.Server
	env := apptest.Start(t, apptest.Options{Populate: []any{&srv}, Settings: func(s *app.Settings) {
		s.AdminLogFollows = limits
		s.AdminToken = token
	}})
	if _, _, err := env.Client().CreateFunction(context.Background(), map[string]any{"FunctionName": "f",
		"Code": map[string]any{"ZipFile": testkit.Bootstrap(t, "#!/bin/sh\nexit 0\n")}}); err != nil {
		t.Fatal(err)
	}
	return env, srv
}

// eventually polls cond until it holds, failing the test after a minute.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not so after a minute: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// followGoroutines counts the goroutines that serve a log follow.
func followGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("admin.(*Server).streamLogs")) || bytes.Contains(g, []byte("invoker.(*Logs).Follow")) {
			count++
		}
	}
	return count
}

// TestLogFollowsCapped checks the caps on log follows with real clients: a
// client address may hold PerClient follows, the server Total; one more is 429
// with a message that says how many are open and to close one; a client that
// goes away mid-stream frees its slot for another; a tail without follow is
// not counted; a server that stops ends every follow and frees every slot,
// leaving no goroutine behind.
func TestLogFollowsCapped(t *testing.T) {
	t.Parallel()
	env, srv := followServer(t, admin.LogFollowLimits{PerClient: 3, Total: 5}, "")
	const a, b = "127.0.0.1", "127.0.0.2"
	var open []*follow
	openFrom := func(from string, n int) {
		t.Helper()
		for i := range n {
			f := startFollow(t, env, from, "", "f")
			if f.resp.StatusCode != http.StatusOK {
				t.Fatalf("follow %d from %s: status %d: %s", i+1, from, f.resp.StatusCode, f.body)
			}
			open = append(open, f)
		}
	}
	openFrom(a, 3)
	wantRefused(t, startFollow(t, env, a, "", "f"), "client address 127.0.0.1 already has 3 log follows open")
	if _, err := env.Client().Do(context.Background(), http.MethodGet, "/portico/v1/functions/f/logs", nil, nil, nil); err != nil {
		t.Fatalf("a tail without follow at the cap: %v", err)
	}
	openFrom(b, 2)
	wantRefused(t, startFollow(t, env, b, "", "f"), "the server already has 5 log follows open")

	open[0].close() // a client that goes away mid-stream
	open = open[1:]
	eventually(t, "a follow from "+b+" is taken after one from "+a+" closed", func() bool {
		f := startFollow(t, env, b, "", "f")
		if f.resp.StatusCode == http.StatusOK {
			open = append(open, f)
			return true
		}
		wantRefused(t, f, "the server already has 5 log follows open")
		return false
	})
	if n := admin.OpenLogFollows(srv); n != 5 {
		t.Fatalf("%d follows counted open, want 5", n)
	}

	env.Stop()
	for i, f := range open {
		if _, err := io.Copy(io.Discard, f.resp.Body); err != nil {
			t.Errorf("follow %d: the stream did not end cleanly when the server stopped: %v", i, err)
		}
	}
	if n := admin.OpenLogFollows(srv); n != 0 {
		t.Fatalf("%d follows counted open after the server stopped", n)
	}
	eventually(t, "no goroutine serves a log follow after the server stopped", func() bool { return followGoroutines() == 0 })
}

// TestLogFollowsCappedPerAddressWithToken checks that with an admin token the
// follows still count per client address: the one token, which a team shares,
// does not make its holders share one cap.
func TestLogFollowsCappedPerAddressWithToken(t *testing.T) {
	t.Parallel()
	const token = "follow-cap-token"
	env, _ := followServer(t, admin.LogFollowLimits{PerClient: 2}, token)
	for _, from := range []string{"127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.2"} {
		if f := startFollow(t, env, from, token, "f"); f.resp.StatusCode != http.StatusOK {
			t.Fatalf("follow from %s: status %d: %s", from, f.resp.StatusCode, f.body)
		}
	}
	wantRefused(t, startFollow(t, env, "127.0.0.2", token, "f"), "client address 127.0.0.2 already has 2 log follows open")
}

// TestCrossSiteFollowsRefused: a page of another site can make its
// visitor's browser GET .../logs?follow=1 (a no-cors fetch, an img, an
// iframe) on a tokenless loopback admin API. The browser keeps the answer
// from the page, but each follow would take one of the client address's
// slots, so a few would leave the CLI's `portico logs --follow` a 429: such
// reads are refused (403) before they take one, and the CLI's follows go on.
func TestCrossSiteFollowsRefused(t *testing.T) {
	t.Parallel()
	env, srv := followServer(t, admin.LogFollowLimits{PerClient: 2}, "")
	const from = "127.0.0.1"
	for i, hdr := range [][]string{
		{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "empty"},
		{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "iframe"},
		{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image"},
		{"Sec-Fetch-Site", "same-site", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Origin", "http://127.0.0.1:8080"},
		{"Origin", "http://evil.example"}, // a browser that sends no Sec-Fetch-Site
	} {
		f := startFollow(t, env, from, "", "f", hdr...)
		if f.resp.StatusCode != http.StatusForbidden || f.resp.Header.Get("X-Amzn-Errortype") != "AccessDeniedException" {
			t.Errorf("cross-site follow %d (%v): %d %q %s, want 403 AccessDeniedException", i+1, hdr, f.resp.StatusCode, f.resp.Header.Get("X-Amzn-Errortype"), f.body)
		}
	}
	if n := admin.OpenLogFollows(srv); n != 0 {
		t.Fatalf("%d follows counted open after the cross-site ones", n)
	}
	for i := range 2 {
		if f := startFollow(t, env, from, "", "f"); f.resp.StatusCode != http.StatusOK {
			t.Fatalf("the CLI's follow %d: %d %s", i+1, f.resp.StatusCode, f.body)
		}
	}
}

// TestLogReadsByCursor: a read of a function's log without follow names the
// place after it (X-Portico-Log-Cursor), and a read after that place returns
// only what was written since, so that a client can follow a log by short
// reads, holding no connection and none of the follows' slots; a cursor that
// does not parse is 400, and after= with follow is refused.
func TestLogReadsByCursor(t *testing.T) {
	t.Parallel()
	env, _ := followServer(t, admin.LogFollowLimits{PerClient: 1}, "")
	read := func(after string) (int, string, http.Header) {
		t.Helper()
		u := env.AdminURL + "/portico/v1/functions/f/logs?bytes=8192"
		if after != "" {
			u += "&after=" + after
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	st, _, h := read("")
	cursor := h.Get("X-Portico-Log-Cursor")
	if st != 200 || cursor == "" {
		t.Fatalf("first read: %d, cursor %q", st, cursor)
	}
	invoke := func() string {
		t.Helper()
		resp, err := http.Post(env.AdminURL+"/2015-03-31/functions/f/invocations", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		_, body, _ := read(cursor)
		return body
	}
	for range 2 { // each read has the one invocation since the last
		body := invoke()
		if strings.Count(body, "START RequestId") != 1 || strings.Count(body, "REPORT RequestId") != 1 {
			t.Fatalf("a read after the cursor has %q: want one invocation", body)
		}
		_, _, h = read(cursor)
		cursor = h.Get("X-Portico-Log-Cursor")
	}
	if _, body, _ := read(cursor); body != "" {
		t.Errorf("a read with nothing new: %q", body)
	}
	// Reads hold no follow: with PerClient 1 a follow still opens meanwhile.
	if f := startFollow(t, env, "127.0.0.1", "", "f"); f.resp.StatusCode != 200 {
		t.Errorf("a follow after the reads: %d %s", f.resp.StatusCode, f.body)
	}
	if st, body, _ := read("garbled"); st != 400 || !strings.Contains(body, "log cursor") {
		t.Errorf("a garbled cursor: %d %s, want 400", st, body)
	}
	// bytes=0 is nothing of the past, with the cursor after it (obs6: it was
	// the whole log).
	resp, err := http.Get(env.AdminURL + "/portico/v1/functions/f/logs?bytes=0")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || len(b) != 0 || resp.Header.Get("X-Portico-Log-Cursor") == "" {
		t.Errorf("bytes=0: %d %q cursor %q, want 200, nothing and a cursor", resp.StatusCode, b, resp.Header.Get("X-Portico-Log-Cursor"))
	}
	resp, err = http.Get(env.AdminURL + "/portico/v1/functions/f/logs?follow=1&after=" + cursor)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("after= with follow: %d, want 400", resp.StatusCode)
	}
}
