package connections

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// TestHandshakeWithBodyRefused: an opening handshake that declares content
// (a Content-Length above 0, or Transfer-Encoding) is refused 400
// BadRequestException before $connect runs and before the protocol switches.
// The body used to be left in the connection's buffer and read as WebSocket
// frames after the 101: a masked text frame sent as the handshake's body ran
// as a message that a proxy framing the request by its Content-Length never
// saw as one. A Content-Length of 0 is still accepted.
func TestHandshakeWithBodyRefused(t *testing.T) {
	ts := newTestServer(t, Config{}, chatKeys())
	var connects atomic.Int32
	ts.d.handle = func(ev *events.APIGatewayWebsocketProxyRequest) (*Response, error) {
		if ev.RequestContext.EventType == EventConnect {
			connects.Add(1)
		}
		return &Response{StatusCode: 200, Body: []byte(ev.Body)}, nil
	}
	addr := strings.TrimPrefix(ts.srv.URL, "http://")
	msg := []byte(`{"hidden":"in-the-body"}`)
	key := []byte{1, 2, 3, 4}
	frame := append([]byte{0x81, 0x80 | byte(len(msg))}, key...)
	for i, b := range msg {
		frame = append(frame, b^key[i%4])
	}
	handshake := func(extra, body string) string {
		return fmt.Sprintf("GET /%s/%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n%s",
			testAPI, testStage, addr, base64.StdEncoding.EncodeToString([]byte("0123456789abcdef")), extra, body)
	}
	for _, tc := range []struct {
		name, req string
		want      int
	}{
		{"frame as Content-Length body", handshake(fmt.Sprintf("Content-Length: %d\r\n", len(frame)), string(frame)), http.StatusBadRequest},
		{"bytes as Content-Length body", handshake("Content-Length: 5\r\n", "hello"), http.StatusBadRequest},
		{"chunked frame", handshake("Transfer-Encoding: chunked\r\n", fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(frame), frame)), http.StatusBadRequest},
		{"Content-Length 0", handshake("Content-Length: 0\r\n", ""), http.StatusSwitchingProtocols},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := io.WriteString(c, tc.req); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want == http.StatusSwitchingProtocols {
				return
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.Header.Get("x-amzn-ErrorType") != "BadRequestException" {
				t.Errorf("x-amzn-ErrorType %q, body %s", resp.Header.Get("x-amzn-ErrorType"), body)
			}
			if !resp.Close {
				t.Errorf("the connection is kept open after a handshake with a body")
			}
		})
	}
	if n := connects.Load(); n != 1 {
		t.Errorf("$connect ran %d times, want once (for the handshake without a body)", n)
	}
}
