// Package wstest reads from WebSocket clients in tests: the next data message,
// or the close frame that ends a connection, each bounded by a safety net so
// that a test fails rather than hangs.
package wstest

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Bound is the safety net of every read: a guard against hanging, not what
// tests wait for.
const Bound = time.Minute

// ReadText reads the next data message.
func ReadText(t testing.TB, c *websocket.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(Bound))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

// Exchange sends msg as a text message and reads the next data message: a
// two-way route's answer.
func Exchange(t testing.TB, c *websocket.Conn, msg string) string {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	return ReadText(t, c)
}

// ReadClose reads until the connection closes and returns the close frame the
// server sent; a connection that ends without one fails the test.
func ReadClose(t testing.TB, c *websocket.Conn) *websocket.CloseError {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(Bound))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("connection ended without a close frame: %v", err)
		}
		return ce
	}
}

// Dial dials url with d and closes the handshake response's body; it returns
// the response's status (0 when there was none).
func Dial(d *websocket.Dialer, url string, h http.Header) (*websocket.Conn, int, error) {
	c, resp, err := d.Dial(url, h)
	status := 0
	if resp != nil {
		status = resp.StatusCode
		if resp.Body != nil {
			_ = resp.Body.Close()
		}
	}
	return c, status, err
}
