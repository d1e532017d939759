package metrics

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/listener/listenertest"
)

// startServer starts a metrics listener on loopback with cfg's limits.
func startServer(t *testing.T, cfg Config) string {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	s := NewServer(cfg, Handler(NewRegistry(), nil), nil)
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(t.Context()) })
	return s.Addr()
}

// dial connects to addr with a deadline far past the limits under test, so a
// server that never cuts the connection off fails the test instead of hanging.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	return c
}

// closedByServer reads from c until the server closes it; it fails when the
// test's own deadline ends the read first.
func closedByServer(t *testing.T, what string, r io.Reader) {
	t.Helper()
	_, err := io.Copy(io.Discard, r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the connection was still open after 15 s, want it closed by the server's limit", what)
	}
}

// TestServerLimits checks that the metrics listener has the limits of the other
// listeners: a client that sends a header but not the body it announced is cut
// off at the body timeout, a keep-alive connection is closed at the idle
// timeout, and one address holds at most MaxConnsPerIP connections. The
// timeouts are made short through Config.Limits.
func TestServerLimits(t *testing.T) {
	addr := startServer(t, Config{Limits: listener.Limits{HeaderTimeout: 5 * time.Second,
		BodyTimeout: 100 * time.Millisecond, IdleTimeout: 100 * time.Millisecond}})

	t.Run("header too large", func(t *testing.T) {
		// JSON with an error type and a request id, as the other
		// listeners' refusals, not net/http's plain text.
		status, h, body := listenertest.HeaderAnswer(t, "http://"+addr+"/metrics", 70<<10)
		if status != http.StatusRequestHeaderFieldsTooLarge || body != `{"message": "Request Header Fields Too Large"}` ||
			h.Get("X-Amzn-Errortype") != "RequestHeaderFieldsTooLargeException" || h.Get("X-Amzn-Requestid") == "" {
			t.Fatalf("%d %v %q, want 431 JSON", status, h, body)
		}
	})
	t.Run("slow body", func(t *testing.T) {
		c := dial(t, addr)
		if _, err := io.WriteString(c, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		closedByServer(t, "a body never sent", c)
	})
	t.Run("idle", func(t *testing.T) {
		c := dial(t, addr)
		if _, err := io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics: %d", resp.StatusCode)
		}
		closedByServer(t, "an idle keep-alive connection", br)
	})
	t.Run("connections per address", func(t *testing.T) {
		addr := startServer(t, Config{MaxConnsPerIP: 2}) // the default timeouts: nothing idles out here
		held := []net.Conn{dial(t, addr), dial(t, addr)}
		// Each is served before the next dial, so the server has counted it.
		for _, c := range held {
			if _, err := io.WriteString(c, "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(15 * time.Second))
		}
		for _, c := range held {
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
		}
		third := dial(t, addr)
		_, _ = io.WriteString(third, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, err := http.ReadResponse(bufio.NewReader(third), nil); err == nil {
			_ = resp.Body.Close()
			t.Fatal("a third connection from one address was served, want it refused (MaxConnsPerIP 2)")
		}
	})
}

// TestWrongMethodAnsweredAtOnce: a request the metrics listener does not
// serve (POST /metrics) with a body that is not coming is answered 405 at
// once, and its connection closed, rather than after the body timeout (an
// hour here: an answer at all shows there was no wait for it).
func TestWrongMethodAnsweredAtOnce(t *testing.T) {
	addr := startServer(t, Config{Limits: listener.Limits{BodyTimeout: time.Hour}})
	c := dial(t, addr)
	if _, err := io.WriteString(c, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer before the test's deadline: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || !resp.Close {
		t.Fatalf("POST /metrics: %d close=%v, want 405 and the connection closed", resp.StatusCode, resp.Close)
	}
	closedByServer(t, "the connection of a refused request", br)
}

// TestOtherRequestsAnsweredPlainly: the metrics listener answers a path or
// a method it does not serve in plain text (what a scraper reads), each
// answer saying what it serves: 404, and 405 with Allow: GET, HEAD.
func TestOtherRequestsAnsweredPlainly(t *testing.T) {
	addr := startServer(t, Config{})
	for _, tc := range []struct {
		method, path string
		status       int
		allow, says  string
	}{
		{"GET", "/", 404, "", "GET /metrics only"},
		{"GET", "/metricz", 404, "", "/metricz is not served here"},
		{"POST", "/metrics", 405, "GET, HEAD", "/metrics does not take POST; scrape it with GET"},
		{"DELETE", "/metrics", 405, "GET, HEAD", "does not take DELETE"},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+addr+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Allow") != tc.allow ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !strings.Contains(string(raw), tc.says) {
			t.Errorf("%s %s: %d Allow %q %s %q, want %d Allow %q saying %q", tc.method, tc.path, resp.StatusCode,
				resp.Header.Get("Allow"), resp.Header.Get("Content-Type"), raw, tc.status, tc.allow, tc.says)
		}
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /metrics: %d", resp.StatusCode)
	}
}
