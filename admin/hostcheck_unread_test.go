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
