package upgradetest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// Send sends e's request to the server at base (http://host:port) and returns
// e with the answer filled in. A request's own Host (a custom domain) is sent
// as its Host header.
func Send(ctx context.Context, c *http.Client, base string, e Exchange) (Exchange, error) {
	if e.WebSocket != nil {
		return sendWebSocket(ctx, base, e)
	}
	req, err := http.NewRequestWithContext(ctx, e.Method, base+e.Path, strings.NewReader(e.Body))
	if err != nil {
		return e, err
	}
	for k, v := range e.Headers {
		req.Header.Set(k, v)
	}
	if e.Host != "" {
		req.Host = e.Host
	}
	resp, err := c.Do(req)
	if err != nil {
		return e, fmt.Errorf("%s %s: %w", e.Method, e.Path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return e, fmt.Errorf("%s %s: %w", e.Method, e.Path, err)
	}
	e.Status, e.Answer = resp.StatusCode, Decode(raw)
	e.Header = nil
	for _, h := range e.Want {
		if e.Header == nil {
			e.Header = map[string]string{}
		}
		e.Header[h] = resp.Header.Get(h)
	}
	return e, nil
}

// Decode returns raw as a JSON value when it is JSON, else as a string.
func Decode(raw []byte) any {
	var v any
	if len(raw) > 0 && json.Unmarshal(raw, &v) == nil {
		return v
	}
	return string(raw)
}

func sendWebSocket(ctx context.Context, base string, e Exchange) (Exchange, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	h := http.Header{}
	for k, v := range e.Headers {
		h.Set(k, v)
	}
	conn, resp, err := d.DialContext(ctx, "ws"+strings.TrimPrefix(base, "http")+e.Path, h)
	if resp != nil {
		e.Status = resp.StatusCode
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		e.Answer = Decode(raw)
	}
	if err != nil {
		if resp != nil {
			return e, nil // a refused handshake is an answer
		}
		return e, fmt.Errorf("dial %s: %w", e.Path, err)
	}
	defer func() { _ = conn.Close() }()
	e.Frames = nil
	for _, m := range e.WebSocket {
		if err := conn.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			return e, fmt.Errorf("%s: send %q: %w", e.Path, m, err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, got, err := conn.ReadMessage()
		if err != nil {
			return e, fmt.Errorf("%s: the answer to %q: %w", e.Path, m, err)
		}
		e.Frames = append(e.Frames, string(got))
	}
	_ = conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	return e, nil
}
