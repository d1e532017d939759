package admin

import (
	"bufio"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/listener/listenertest"
)

// TestHostCheckAnswersBeforeTheBody: a request the Host check refuses (no
// token and a Host that is not loopback) is answered 403 at once, with the
// connection closed, without waiting for its body: the refusal depends on the
// head alone. (It waited for the whole body, up to the body timeout.)
func TestHostCheckAnswersBeforeTheBody(t *testing.T) {
	t.Parallel()
	addr := startAdmin(t, listener.Limits{BodyTimeout: time.Hour}, listener.Limits{})
	c := listenertest.Dial(t, addr)
	_ = c.SetDeadline(time.Now().Add(time.Minute)) // a safety net, not a timing assertion
	if _, err := io.WriteString(c, "POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err) // the body never comes: no answer until the deadline
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusForbidden || !res.Close {
		t.Fatalf("%d close=%v, want 403 and the connection closed", res.StatusCode, res.Close)
	}
}

// TestHostCheckAbsoluteForm: a tokenless admin API checks every name a
// request gives it, the Host field beside an absolute-form target
// ("GET http://localhost/path" with "Host: evil.com") included, which the
// server's reader drops (Request.Host is the target's host): a name that is
// not loopback in either place, or two names that differ, is refused 403.
// (The first was answered 200: only the target's host was checked.)
func TestHostCheckAbsoluteForm(t *testing.T) {
	t.Parallel()
	addr := startAdmin(t, listener.Limits{}, listener.Limits{})
	for _, tc := range []struct {
		name, target, host string
		want               int
	}{
		{"loopback target, foreign Host", "http://localhost/restapis", "evil.com", http.StatusForbidden},
		{"foreign target, loopback Host", "http://evil.com/restapis", "localhost", http.StatusForbidden},
		{"two loopback names", "http://127.0.0.1/restapis", "localhost", http.StatusForbidden},
		{"one name", "http://localhost/restapis", "LOCALHOST:9090", http.StatusOK},
		{"origin-form", "/restapis", "localhost", http.StatusOK},
	} {
		c := listenertest.Dial(t, addr)
		_ = c.SetDeadline(time.Now().Add(time.Minute)) // a safety net, not a timing assertion
		if _, err := io.WriteString(c, "GET "+tc.target+" HTTP/1.1\r\nHost: "+tc.host+"\r\nConnection: close\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s: GET %s with Host %s: %d %s, want %d", tc.name, tc.target, tc.host, res.StatusCode, body, tc.want)
		}
	}
}
