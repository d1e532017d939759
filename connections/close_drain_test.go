package connections

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// rawClient is a WebSocket client on a bare connection (plain or TLS) that
// writes frames as it likes.
type rawClient struct {
	nc net.Conn
	br *bufio.Reader
}

// dialRaw upgrades a bare connection to srv (an httptest server, TLS or not).
func dialRaw(t *testing.T, srv *httptest.Server) *rawClient {
	t.Helper()
	var nc net.Conn
	var err error
	if srv.TLS != nil {
		nc, err = tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // G402: the test server's own certificate
	} else {
		nc, err = net.Dial("tcp", srv.Listener.Addr().String())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(time.Minute)) // a safety net, not a wait
	upgrade := "GET /" + testAPI + "/" + testStage + " HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := nc.Write([]byte(upgrade)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v", resp.Status)
	}
	return &rawClient{nc: nc, br: br}
}

// frame reads one server frame (of any length) and returns its opcode and payload.
func (c *rawClient) frame() (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	p := make([]byte, n)
	_, err := io.ReadFull(c.br, p)
	return h[0] & 0x0f, p, err
}

// closeFrom reads frames until the server's close frame and returns its code
// and reason.
func (c *rawClient) closeFrom(t *testing.T) (int, string) {
	t.Helper()
	for {
		op, p, err := c.frame()
		if err != nil {
			t.Fatalf("connection ended without a close frame: %v", err)
		}
		if op == websocket.CloseMessage {
			if len(p) < 2 {
				t.Fatalf("close frame %q", p)
			}
			return int(binary.BigEndian.Uint16(p)), string(p[2:])
		}
	}
}

// bigFrameHeader is the header of a client's masked text frame of n bytes
// (a zero mask: the payload goes as it is).
func bigFrameHeader(n int) []byte {
	h := []byte{0x81, 0x80 | 127}
	h = binary.BigEndian.AppendUint64(h, uint64(n))
	return append(h, 0, 0, 0, 0)
}

// TestCloseDrainsWhileClientWrites: a client still writing a frame the server
// refused (over MaxFrameBytes, or binary) gets the close frame with its code and
// reason, over ws:// and wss://, rather than a reset that browsers report as
// 1006: the server reads and discards what the client goes on writing until the
// client's close frame (RFC 6455 5.5.1) before it closes the socket.
func TestCloseDrainsWhileClientWrites(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tls    bool
		op     byte
		size   int
		code   int
		reason string
	}{
		{"ws frame too big", false, websocket.TextMessage, 256 << 10, websocket.CloseMessageTooBig, "Frame over 32768 bytes"},
		{"wss frame too big", true, websocket.TextMessage, 256 << 10, websocket.CloseMessageTooBig, "Frame over 32768 bytes"},
		{"ws binary", false, websocket.BinaryMessage, 30000, websocket.CloseUnsupportedData, binaryRefused},
		{"wss binary", true, websocket.BinaryMessage, 30000, websocket.CloseUnsupportedData, binaryRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newFakeDispatcher(map[string]bool{"$default": true, "$disconnect": false})
			m := New(Config{}, nil)
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				m.ServeWebSocket(w, r, Endpoint{APIID: testAPI, Stage: testStage, DomainName: r.Host}, d)
			}))
			if tc.tls {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_ = m.Shutdown(ctx)
				srv.Close()
			})
			c := dialRaw(t, srv)
			// The frame's header and its first bytes, then the rest in small
			// writes, as a browser goes on sending a frame it started.
			size := tc.size
			hdr := bigFrameHeader(size)
			hdr[0] = 0x80 | tc.op
			if _, err := c.nc.Write(append(hdr, make([]byte, 1000)...)); err != nil {
				t.Fatal(err)
			}
			chunk := make([]byte, 2048)
			for sent := 1000; sent < size; sent += len(chunk) {
				if _, err := c.nc.Write(chunk[:min(len(chunk), size-sent)]); err != nil {
					t.Fatalf("writing the frame after %d bytes: %v", sent, err)
				}
			}
			code, reason := c.closeFrom(t)
			if code != tc.code || reason != tc.reason {
				t.Fatalf("close = %d %q, want %d %q", code, reason, tc.code, tc.reason)
			}
			// The client answers; the server then closes the connection cleanly.
			if _, err := c.nc.Write(maskedFrame(websocket.CloseMessage, "\x03\xe8")); err != nil {
				t.Fatalf("close reply: %v", err)
			}
			if _, _, err := c.frame(); !errors.Is(err, io.EOF) {
				t.Fatalf("after the close handshake: %v, want EOF", err)
			}
			if ev := d.next(t, EventDisconnect); ev.RequestContext.DisconnectStatusCode != int64(tc.code) {
				t.Fatalf("$disconnect code %d", ev.RequestContext.DisconnectStatusCode)
			}
		})
	}
}

// TestDrainerFindsCloseFrame: the drainer skips whole frames, however their
// bytes are split, and stops at the client's close frame.
func TestDrainerFindsCloseFrame(t *testing.T) {
	var stream []byte
	stream = append(stream, bigFrameHeader(70000)...)
	stream = append(stream, make([]byte, 70000)...)
	stream = append(stream, maskedFrame(websocket.TextMessage, strings.Repeat("y", 100))...)
	stream = append(stream, maskedFrame(websocket.PingMessage, "p")...)
	before := len(stream)
	stream = append(stream, maskedFrame(websocket.CloseMessage, "\x03\xe8")...)
	for _, chunk := range []int{1, 3, 7, 4096, len(stream)} {
		d := &drainer{}
		fed := 0
		for fed < len(stream) && !d.feed(stream[fed:min(fed+chunk, len(stream))]) {
			fed += chunk
		}
		if !d.closed || fed < before-chunk {
			t.Fatalf("chunks of %d: closed %v after %d of %d bytes", chunk, d.closed, fed, len(stream))
		}
	}
	if (&drainer{}).feed(stream[:before]) {
		t.Fatal("a close frame found in data frames")
	}
}
