package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/listener"
)

// TestRefusalBeforeBodyAnswersAtOnce: a request that announces a body the
// client has not sent, refused from its head alone (no such API, stage or
// route), is answered at once and its connection closed, as the admin API's
// refusals are, rather than after the body timeout (an hour here) the
// listener would spend reading the body to drop it.
func TestRefusalBeforeBodyAnswersAtOnce(t *testing.T) {
	id, s, _, _ := startStopTest(t, listener.Limits{BodyTimeout: time.Hour})
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/" + id + "/s/nothere", http.StatusForbidden}, // no route
		{"/" + id + "/nostage/x", http.StatusForbidden}, // no stage
		{"/nope0000/s/x", http.StatusNotFound},          // no API
	} {
		conn, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		// A bound against a hang only: the answer comes at once, or after the hour.
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := conn.Write([]byte("POST " + c.path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{")); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Errorf("POST %s with its body not sent: no answer: %v", c.path, err)
			_ = conn.Close()
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != c.status || !resp.Close {
			t.Errorf("POST %s: %d (close %v), want %d and the connection closed", c.path, resp.StatusCode, resp.Close, c.status)
		}
		if _, err := br.ReadByte(); err == nil {
			t.Errorf("POST %s: more bytes after the refusal, want the connection closed", c.path)
		}
		_ = conn.Close()
	}
}
