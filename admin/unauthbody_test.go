package admin_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestUnauthenticatedBodyRefusedAtOnce: a request with no credential that
// announces a body is refused 403 MissingAuthenticationTokenException as
// soon as its head is in, with Connection: close, without waiting for the
// body. The server read what was left of it before answering (to keep the
// connection), so a client sending it slowly held an admin connection for the
// whole body timeout (60 s) before its 403. The body timeout is an hour here:
// the client's read deadline is only a safety net.
func TestUnauthenticatedBodyRefusedAtOnce(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) {
		s.AdminToken = "s3cret-token"
		s.Listener.BodyTimeout = time.Hour
		s.AdminListener.BodyTimeout = time.Hour
	}})
	for _, framing := range []string{"Content-Length: 1000\r\n\r\nab", "Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n"} {
		c, err := net.Dial("tcp", strings.TrimPrefix(env.AdminURL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(time.Minute)) // a safety net, not a timing assertion
		if _, err := io.WriteString(c, "POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: x\r\n"+framing); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%q: no answer before the body's end: %v", framing, err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusForbidden || res.Header.Get("X-Amzn-Errortype") != "MissingAuthenticationTokenException" || !res.Close {
			t.Errorf("%q: %d %s close=%v; want 403 MissingAuthenticationTokenException with Connection: close", framing, res.StatusCode, res.Header.Get("X-Amzn-Errortype"), res.Close)
		}
		_ = c.Close()
	}
}
