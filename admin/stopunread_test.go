package admin_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/admin"
	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestStopAnswersRequestsStillComing: a graceful stop does not wait for admin
// requests whose body or head has not come in whole (clients stalled
// mid-body and mid-header), which nothing has run for: each is answered 503
// ServiceException at once, saying Portico is shutting down and the request
// did not run, and the stop ends without cutting anything off (it used to
// wait out the whole --shutdown-timeout, here 10 minutes, and report the
// requests cut off).
func TestStopAnswersRequestsStillComing(t *testing.T) {
	t.Parallel()
	var srv *admin.Server
	logs := &testkit.LockedBuffer{}
	env := apptest.Start(t, apptest.Options{Populate: []any{&srv}, LogWriter: logs, Settings: func(s *app.Settings) { s.ShutdownTimeout = 10 * time.Minute }})
	host := strings.TrimPrefix(env.AdminURL, "http://")
	stalls := []struct{ name, raw string }{
		{"mid-body", "PUT /2015-03-31/functions/zero/configuration HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"},
		{"mid-header", "PUT /2015-03-31/functions/zero/configuration HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"},
	}
	conns := make([]net.Conn, len(stalls))
	for i, st := range stalls {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_ = c.SetDeadline(time.Now().Add(5 * time.Minute)) // a safety net, not a timing assertion
		if _, err := io.WriteString(c, st.raw); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	for admin.ActiveConns(srv) < len(stalls) {
		time.Sleep(time.Millisecond)
	}
	stopped := make(chan struct{})
	go func() { defer close(stopped); env.Stop() }()
	for i, st := range stalls {
		res, err := http.ReadResponse(bufio.NewReader(conns[i]), nil)
		if err != nil {
			t.Fatalf("%s: %v, want a 503", st.name, err)
		}
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		var body struct{ Message string }
		_ = json.Unmarshal(b, &body)
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("X-Amzn-Errortype") != "ServiceException" ||
			res.Header.Get("X-Amzn-Requestid") == "" || !strings.Contains(body.Message, "did not run") {
			t.Errorf("%s: %d %s %q, want 503 ServiceException saying the request did not run", st.name, res.StatusCode, res.Header, b)
		}
	}
	<-stopped
	if l := logs.String(); strings.Contains(l, "cut off") {
		t.Errorf("the stop logged requests cut off:\n%s", l)
	}
}
