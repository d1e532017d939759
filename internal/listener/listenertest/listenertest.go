// Package listenertest holds the client side of listener-limit tests: a client
// that sends part of a request and waits to be cut off, and a request with an
// oversized header. The gateway, the admin API and internal/listener test their
// limits with it.
package listenertest

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// Bound is how long a client waits for the server to close its connection
// before the test fails: a safety net against hanging, not what tests wait for.
const Bound = 20 * time.Second

// Dial connects to addr; the connection closes when the test ends.
func Dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// WaitClosed reads until the server closes c and returns what it sent; it fails
// the test if Bound passes first.
func WaitClosed(t testing.TB, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(Bound))
	b, err := io.ReadAll(c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server kept the connection open (read so far: %q)", b)
	}
	return string(b) // EOF or a reset: closed
}

// SendAndWaitClosed dials addr, sends raw bytes (part of a request, say) and
// waits for the server to close the connection, returning what it answered.
func SendAndWaitClosed(t testing.TB, addr, raw string) string {
	t.Helper()
	c := Dial(t, addr)
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	return WaitClosed(t, c)
}

// HeaderStatus GETs url with an X-Big header of size bytes and returns the
// status.
func HeaderStatus(t testing.TB, url string, size int) int {
	t.Helper()
	status, _, _ := HeaderAnswer(t, url, size)
	return status
}

// HeaderAnswer GETs url with an X-Big header of size bytes and returns the
// answer's status, header and body.
func HeaderAnswer(t testing.TB, url string, size int) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Big", strings.Repeat("a", size))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	return res.StatusCode, res.Header, string(b)
}

// LineAnswer sends addr a GET whose request target alone is size bytes and
// returns the answer's status, header and body (it is answered before the
// request is all read: the write goes on in the background).
func LineAnswer(t testing.TB, addr string, size int) (int, http.Header, string) {
	t.Helper()
	return RawAnswer(t, addr, "GET /"+strings.Repeat("a", size)+" HTTP/1.1\r\nHost: x\r\n\r\n")
}

// RawAnswer sends addr raw as it is, on a new connection, and returns the
// answer's status, header and body (the write goes on in the background, so
// an answer that comes before raw is all read is taken).
func RawAnswer(t testing.TB, addr, raw string) (int, http.Header, string) {
	t.Helper()
	c := Dial(t, addr)
	_ = c.SetDeadline(time.Now().Add(Bound)) // a safety net, not a timing assertion
	go func() { _, _ = io.WriteString(c, raw) }()
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	return res.StatusCode, res.Header, string(b)
}
