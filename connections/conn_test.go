package connections

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/internal/clock"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/testkit"
)

func chatKeys() map[string]bool {
	return map[string]bool{"$connect": false, "$disconnect": false, "$default": false, "echo": true, "fire": false}
}

func TestConnectMessageDisconnect(t *testing.T) {
	ts := newTestServer(t, Config{}, chatKeys())
	c := ts.dial(t, "?name=me")

	conn := ts.d.next(t, EventConnect)
	rc := conn.RequestContext
	if rc.RouteKey != "$connect" || rc.APIID != testAPI || rc.Stage != testStage || rc.MessageDirection != "IN" ||
		rc.Identity.UserAgent != "test-agent" || rc.Identity.SourceIP != "127.0.0.1" || rc.ConnectedAt == 0 ||
		rc.RequestID != "req-1" || rc.ExtendedRequestID != "ext-1" || rc.MessageID != nil || rc.DomainName == "" {
		t.Fatalf("connect context = %+v", rc)
	}
	if conn.QueryStringParameters["name"] != "me" || conn.Headers["User-Agent"] != "test-agent" || conn.StageVariables["v"] != "1" {
		t.Fatalf("connect event = %+v", conn)
	}
	id := rc.ConnectionID
	if len(id) != 16 || strings.ContainsAny(id, "+/=") {
		t.Fatalf("connection id %q is not 16 URL-safe characters", id)
	}

	// A two-way route sends the result back.
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"action":"echo","data":"hi"}`)); err != nil {
		t.Fatal(err)
	}
	msg := ts.d.next(t, EventMessage)
	if msg.RequestContext.RouteKey != "echo" || msg.Body != `{"action":"echo","data":"hi"}` || msg.RequestContext.MessageID == nil ||
		msg.RequestContext.ConnectionID != id || msg.RequestContext.ConnectedAt != rc.ConnectedAt || msg.Headers != nil {
		t.Fatalf("message event = %+v", msg)
	}
	if got := readText(t, c); got != `{"action":"echo","data":"hi"}` {
		t.Fatalf("route response = %q", got)
	}
	// A one-way route does not; the next echo's answer is the next message read.
	_ = c.WriteMessage(websocket.TextMessage, []byte(`{"action":"fire"}`))
	if ev := ts.d.next(t, EventMessage); ev.RequestContext.RouteKey != "fire" {
		t.Fatalf("route = %q", ev.RequestContext.RouteKey)
	}
	// Non-JSON goes to $default.
	_ = c.WriteMessage(websocket.TextMessage, []byte("not json"))
	if ev := ts.d.next(t, EventMessage); ev.RequestContext.RouteKey != "$default" || ev.IsBase64Encoded || ev.Body != "not json" {
		t.Fatalf("non-JSON event = %+v", ev)
	}
	_ = c.WriteMessage(websocket.TextMessage, []byte(`{"action":"echo","data":"2"}`))
	if got := readText(t, c); got != `{"action":"echo","data":"2"}` {
		t.Fatalf("second response = %q", got)
	}

	// The event serializes to the aws-lambda-go shape.
	raw, _ := json.Marshal(msg)
	for _, want := range []string{`"eventType":"MESSAGE"`, `"messageDirection":"IN"`, `"connectionId":"` + id + `"`, `"requestTimeEpoch":`} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("event JSON lacks %s: %s", want, raw)
		}
	}

	_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"))
	disc := ts.d.next(t, EventDisconnect)
	if disc.RequestContext.DisconnectStatusCode != 1000 || disc.RequestContext.DisconnectReason == nil || *disc.RequestContext.DisconnectReason != "bye" ||
		disc.RequestContext.ConnectionID != id {
		t.Fatalf("disconnect context = %+v", disc.RequestContext)
	}
	if _, err := ts.m.Get(testAPI, testStage, id); !errors.Is(err, errdefs.ErrGone) {
		t.Fatalf("Get after close: %v", err)
	}
}

func TestConnectRefused(t *testing.T) {
	ts := newTestServer(t, Config{}, chatKeys())
	ts.d.handle = func(ev *events.APIGatewayWebsocketProxyRequest) (*Response, error) {
		if ev.RequestContext.EventType == EventConnect {
			if ev.QueryStringParameters["token"] != "ok" {
				return &Response{StatusCode: 401}, nil
			}
			return &Response{StatusCode: 200, Headers: map[string]string{"Sec-WebSocket-Protocol": "chat"}}, nil
		}
		return nil, errors.New("boom")
	}
	_, status, err := wsDial(websocket.DefaultDialer, ts.ws+"?token=bad", nil)
	if err == nil || status != http.StatusUnauthorized {
		t.Fatalf("dial with a bad token: err=%v status=%d", err, status)
	}
	if ts.m.Len() != 0 {
		t.Fatalf("a refused connection was registered")
	}
	d := websocket.Dialer{Subprotocols: []string{"chat"}}
	c, _, err := wsDial(&d, ts.ws+"?token=ok", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Subprotocol() != "chat" {
		t.Fatalf("subprotocol = %q", c.Subprotocol())
	}
	// An integration error answers with API Gateway's error frame.
	_ = c.WriteMessage(websocket.TextMessage, []byte(`{"action":"echo"}`))
	var frame map[string]string
	if err := json.Unmarshal([]byte(readText(t, c)), &frame); err != nil || frame["message"] != "Internal server error" || frame["connectionId"] == "" || frame["requestId"] == "" {
		t.Fatalf("error frame = %v (%v)", frame, err)
	}
}

func TestNoDefaultRoute(t *testing.T) {
	ts := newTestServer(t, Config{}, map[string]bool{"echo": true})
	c := ts.dial(t, "")
	_ = c.WriteMessage(websocket.TextMessage, []byte(`not json`))
	got := readText(t, c)
	id := ts.waitConns(t, 1)[0].ConnectionID
	if !strings.HasPrefix(got, `{"message": "Forbidden", "connectionId":"`+id+`", "requestId":"`) {
		t.Fatalf("frame = %s", got)
	}
}

func TestLimitsClose(t *testing.T) {
	cfg := Config{MaxFrameBytes: 1024, MaxMessageBytes: 4096}
	cases := []struct {
		name   string
		dialer websocket.Dialer
		typ    int
		data   []byte
		code   int
		reason string // of the close frame
	}{
		// The gorilla client fragments at its 1 KB write buffer: frames fit,
		// the message does not.
		{"message too big", websocket.Dialer{WriteBufferSize: 1000}, websocket.TextMessage, make([]byte, 5000), websocket.CloseMessageTooBig, "Message over 4096 bytes"},
		// One 2 KB frame, as browsers send.
		{"frame too big", websocket.Dialer{WriteBufferSize: 8192}, websocket.TextMessage, make([]byte, 2048), websocket.CloseMessageTooBig, "Frame over 1024 bytes"},
		// API Gateway refuses binary frames from clients and closes with 1003
		// (websocket-api-develop-binary-media-types).
		{"binary frame", websocket.Dialer{}, websocket.BinaryMessage, []byte{0xff, 0x00}, websocket.CloseUnsupportedData, binaryRefused},
		// A binary message in fragments is refused at its first frame.
		{"fragmented binary message", websocket.Dialer{WriteBufferSize: 1000}, websocket.BinaryMessage, make([]byte, 3000), websocket.CloseUnsupportedData, binaryRefused},
		{"invalid utf-8", websocket.Dialer{}, websocket.TextMessage, []byte("ok \xff\xfe"), websocket.CloseInvalidFramePayloadData, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := newTestServer(t, cfg, chatKeys())
			ws, _, err := wsDial(&c.dialer, ts.ws, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer ws.Close()
			other := ts.dial(t, "")
			_ = ws.WriteMessage(c.typ, c.data)
			if ce := readClose(t, ws); ce.Code != c.code || c.reason != "" && ce.Text != c.reason {
				t.Fatalf("close = %v, want %d %q", ce, c.code, c.reason)
			}
			if d := ts.d.next(t, EventDisconnect); d.RequestContext.DisconnectStatusCode != int64(c.code) {
				t.Fatalf("$disconnect code = %d", d.RequestContext.DisconnectStatusCode)
			}
			// The other connection is unaffected.
			_ = other.WriteMessage(websocket.TextMessage, []byte(`{"action":"echo","n":1}`))
			if got := readText(t, other); got != `{"action":"echo","n":1}` {
				t.Fatalf("other connection got %q", got)
			}
		})
	}
}

func TestMalformedFrame(t *testing.T) {
	ts := newTestServer(t, Config{}, chatKeys())
	ws := ts.dial(t, "")
	// An unmasked client frame with RSV2 set and a bad opcode.
	if _, err := ws.NetConn().Write([]byte{0xA3, 0x01, 'x'}); err != nil {
		t.Fatal(err)
	}
	if ce := readClose(t, ws); ce.Code != websocket.CloseProtocolError {
		t.Fatalf("close = %v", ce)
	}
}

// clockedServer is a test server whose connections run on a fake clock.
func clockedServer(t *testing.T, cfg Config) (*testServer, *clock.Fake) {
	t.Helper()
	ts := newTestServer(t, cfg, chatKeys())
	fc := clock.NewFake(time.Now())
	ts.m.SetClock(fc)
	return ts, fc
}

// dialClocked dials and waits until the connection's keepalive and limits timers
// are set, so that moving the clock reaches them.
func dialClocked(t *testing.T, ts *testServer, fc *clock.Fake) *websocket.Conn {
	t.Helper()
	before := fc.Pending()
	ws := ts.dial(t, "")
	waitUntil(t, "the connection's timers", func() bool { return fc.Pending() >= before+2 })
	return ws
}

// waitUntil polls cond until it holds (a guard of a minute against hanging).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		runtime.Gosched()
	}
}

func TestIdleAndLifetime(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		ts, fc := clockedServer(t, Config{IdleTimeout: 5 * time.Minute, PingInterval: time.Hour})
		ws := dialClocked(t, ts, fc)
		fc.Advance(5*time.Minute - time.Second)
		if ts.m.Len() != 1 {
			t.Fatal("closed before the idle timeout")
		}
		fc.Advance(time.Second)
		ce := readClose(t, ws)
		if ce.Code != websocket.CloseGoingAway || ce.Text != "Idle timeout" {
			t.Fatalf("close = %v", ce)
		}
		if d := ts.d.next(t, EventDisconnect); d.RequestContext.DisconnectStatusCode != 1001 || *d.RequestContext.DisconnectReason != "Idle timeout" {
			t.Fatalf("$disconnect = %+v", d.RequestContext)
		}
	})
	t.Run("a message resets idle", func(t *testing.T) {
		ts, fc := clockedServer(t, Config{IdleTimeout: 5 * time.Minute, PingInterval: time.Hour})
		ws := dialClocked(t, ts, fc)
		fc.Advance(4 * time.Minute)
		if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"echo"}`)); err != nil {
			t.Fatal(err)
		}
		_ = readText(t, ws) // the echo: the server has read the message
		fc.Advance(time.Minute)
		// The limits timer set itself again for 4 minutes on: wait for it.
		waitUntil(t, "the limits timer moved on", func() bool { return fc.PendingAt(fc.Now().Add(4*time.Minute)) == 1 })
		if ts.m.Len() != 1 {
			t.Fatal("a connection that spoke a minute ago was closed as idle")
		}
		fc.Advance(4 * time.Minute)
		if ce := readClose(t, ws); ce.Text != "Idle timeout" {
			t.Fatalf("close = %v", ce)
		}
	})
	t.Run("lifetime", func(t *testing.T) {
		ts, fc := clockedServer(t, Config{MaxLifetime: 30 * time.Minute, IdleTimeout: time.Hour, PingInterval: time.Hour})
		ws := dialClocked(t, ts, fc)
		fc.Advance(30 * time.Minute)
		ce := readClose(t, ws)
		if ce.Code != websocket.CloseGoingAway || ce.Text != "Connection lifetime exceeded" {
			t.Fatalf("close = %v", ce)
		}
	})
	t.Run("keepalive", func(t *testing.T) {
		ts, fc := clockedServer(t, Config{PingInterval: time.Minute})
		_ = dialClocked(t, ts, fc)
		// A client that never reads never answers pings: the server gives up at
		// the ping after the unanswered one.
		fc.Advance(time.Minute)
		waitUntil(t, "the first ping", func() bool { return fc.PendingAt(fc.Now().Add(time.Minute)) == 1 })
		fc.Advance(time.Minute)
		d := ts.d.next(t, EventDisconnect)
		if d.RequestContext.DisconnectStatusCode != 1001 || *d.RequestContext.DisconnectReason != "Keepalive timeout: no pong" {
			t.Fatalf("$disconnect = %+v", d.RequestContext)
		}
	})
	t.Run("keepalive answered", func(t *testing.T) {
		ts, fc := clockedServer(t, Config{PingInterval: time.Minute, IdleTimeout: time.Hour})
		ws := dialClocked(t, ts, fc)
		pongs := make(chan struct{}, 1)
		ws.SetPingHandler(func(data string) error {
			err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(10*time.Second))
			pongs <- struct{}{}
			return err
		})
		go func() {
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		}()
		c, err := ts.m.get(testAPI, testStage, ts.waitConns(t, 1)[0].ConnectionID)
		if err != nil {
			t.Fatal(err)
		}
		// A reading client answers pings; after many intervals it is still there.
		for i := 0; i < 20; i++ {
			fc.Advance(time.Minute)
			<-pongs
			waitUntil(t, "the pong", func() bool { return c.lastPong.Load() >= c.lastPing.Load() })
			waitUntil(t, "the next ping's timer", func() bool { return fc.PendingAt(fc.Now().Add(time.Minute)) == 1 })
		}
		if ts.m.Len() != 1 {
			t.Fatalf("an answering connection was closed")
		}
	})
}

func TestFlood(t *testing.T) {
	ts := newTestServer(t, Config{MessageRate: 0.001, MessageBurst: 2}, chatKeys())
	flood := ts.dial(t, "")
	calm := ts.dial(t, "")
	for i := 0; i < 10; i++ {
		_ = flood.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`{"action":"echo","n":%d}`, i)))
	}
	echoes, throttled := 0, 0
	for echoes+throttled < 10 {
		got := readText(t, flood)
		if strings.Contains(got, `"message": "Too Many Requests"`) {
			throttled++
		} else {
			echoes++
		}
	}
	if echoes != 2 || throttled != 8 {
		t.Fatalf("echoes=%d throttled=%d, want 2 and 8", echoes, throttled)
	}
	_ = calm.WriteMessage(websocket.TextMessage, []byte(`{"action":"echo","calm":1}`))
	if got := readText(t, calm); got != `{"action":"echo","calm":1}` {
		t.Fatalf("calm connection got %q", got)
	}
}

func TestSlowReaderOverflow(t *testing.T) {
	ts := newTestServer(t, Config{SendQueueMessages: 4, WriteTimeout: time.Minute}, chatKeys())
	slow := ts.dial(t, "")
	fast := ts.dial(t, "")
	infos := ts.waitConns(t, 2)
	slowID := infos[0].ConnectionID
	fastID := infos[1].ConnectionID
	big := bytes.Repeat([]byte("x"), 100<<10)
	var err error
	for i := 0; i < 2000 && err == nil; i++ {
		err = ts.m.Send(testAPI, testStage, slowID, big)
	}
	if !errors.Is(err, errdefs.ErrGone) {
		t.Fatalf("Send to a client that never reads: %v, want ErrGone after overflow", err)
	}
	// Closing (its close frame waits for the client's), it is listed no
	// more, as @connections answers 410 for it.
	for _, in := range ts.m.List(testAPI, testStage) {
		if in.ConnectionID == slowID {
			t.Errorf("the connection closed for its overflow is still listed")
		}
	}
	if _, err := ts.m.Get(testAPI, testStage, slowID); !errors.Is(err, errdefs.ErrGone) {
		t.Errorf("Get of the connection closed for its overflow: %v, want ErrGone", err)
	}
	if err := ts.m.Send(testAPI, testStage, fastID, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if got := readText(t, fast); got != "still here" {
		t.Fatalf("fast got %q", got)
	}
	d := ts.d.next(t, EventDisconnect)
	if d.RequestContext.ConnectionID != slowID || d.RequestContext.DisconnectStatusCode != websocket.ClosePolicyViolation ||
		!strings.Contains(*d.RequestContext.DisconnectReason, "Send queue overflow") {
		t.Fatalf("$disconnect = %+v", d.RequestContext)
	}
	_ = slow
}

// TestWriteTimeoutSaysSo: a client that reads nothing until a write to it
// times out is disconnected with a reason its $disconnect gets, and a WARN
// line. (wsapi28: it got 1006 with no reason and nothing was logged, the
// same as a client that vanished, while a send queue's overflow said why.)
func TestWriteTimeoutSaysSo(t *testing.T) {
	logs := &testkit.LockedBuffer{}
	ts := newTestServerLog(t, Config{SendQueueMessages: 100000, SendQueueBytes: 1 << 30, WriteTimeout: 100 * time.Millisecond}, chatKeys(),
		slog.New(slog.NewTextHandler(logs, nil)))
	slow := ts.dial(t, "")
	id := ts.waitConns(t, 1)[0].ConnectionID
	big := bytes.Repeat([]byte("x"), 100<<10)
	var err error
	for i := 0; i < 2000 && err == nil; i++ { // a few MB fill the socket's buffers
		err = ts.m.Send(testAPI, testStage, id, big)
	}
	d := ts.d.next(t, EventDisconnect)
	if d.RequestContext.ConnectionID != id || d.RequestContext.DisconnectReason == nil ||
		!strings.Contains(*d.RequestContext.DisconnectReason, "Write timeout") {
		t.Fatalf("$disconnect = %+v, want the write timeout as its reason", d.RequestContext)
	}
	if !strings.Contains(logs.String(), "websocket write timed out") {
		t.Fatalf("the write timeout is not logged:\n%s", logs.String())
	}
	_ = slow
}

func TestShutdown(t *testing.T) {
	ts := newTestServer(t, Config{}, chatKeys())
	ws := ts.dial(t, "")
	ts.waitConns(t, 1)
	done := make(chan error, 1)
	go func() { done <- ts.m.Shutdown(t.Context()) }()
	if ce := readClose(t, ws); ce.Code != websocket.CloseGoingAway {
		t.Fatalf("close = %v", ce)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, status, err := wsDial(websocket.DefaultDialer, ts.ws, nil); err == nil || status != http.StatusServiceUnavailable {
		t.Fatalf("dial after shutdown: %v", err)
	}
}

// frameRecorder is a frameHandler that records what it got.
type frameRecorder struct{ got []string }

func (r *frameRecorder) message(typ int, data []byte) {
	r.got = append(r.got, fmt.Sprintf("msg %d %q", typ, data))
}
func (r *frameRecorder) ping(data []byte) { r.got = append(r.got, fmt.Sprintf("ping %q", data)) }
func (r *frameRecorder) pong(data []byte) { r.got = append(r.got, fmt.Sprintf("pong %q", data)) }

// clientFrame is a masked client frame.
func clientFrame(b0 byte, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteByte(b0)
	n := len(payload)
	switch {
	case n < 126:
		b.WriteByte(0x80 | byte(n))
	case n < 1<<16:
		b.Write([]byte{0x80 | 126, byte(n >> 8), byte(n)})
	default:
		b.Write([]byte{0x80 | 127, 0, 0, 0, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	}
	key := []byte{1, 2, 3, 4}
	b.Write(key)
	for i, c := range payload {
		b.WriteByte(c ^ key[i&3])
	}
	return b.Bytes()
}

// TestFrameReaderChunks feeds one stream of frames in chunks of every size and
// checks that the same messages, control frames and limit come out.
func TestFrameReaderChunks(t *testing.T) {
	big := bytes.Repeat([]byte("b"), 300)
	var stream []byte
	for _, f := range [][]byte{
		clientFrame(0x81, []byte("hello")),
		clientFrame(0x89, []byte("p")),                   // ping
		clientFrame(0x01, []byte("frag-")),               // text, not final
		clientFrame(0x8A, nil),                           // pong between fragments
		clientFrame(0x80, []byte("mented")),              // final continuation
		clientFrame(0x81, big),                           // text, 16-bit length
		clientFrame(0x81, bytes.Repeat([]byte{0}, 2000)), // over the frame limit
	} {
		stream = append(stream, f...)
	}
	want := []string{`msg 1 "hello"`, `ping "p"`, `pong ""`, `msg 1 "frag-mented"`, fmt.Sprintf("msg 1 %q", big)}
	for _, chunk := range []int{1, 2, 3, 7, 100, len(stream)} {
		r := &frameReader{maxFrame: 1024, maxMessage: 4096}
		h := &frameRecorder{}
		in := bytes.Clone(stream) // feed unmasks in place
		var err error
		for off := 0; off < len(in) && err == nil; off += chunk {
			err = r.feed(in[off:min(off+chunk, len(in))], h)
		}
		var re *readEnd
		if !errors.As(err, &re) || re.code != websocket.CloseMessageTooBig || re.reason != "Frame over 1024 bytes" {
			t.Fatalf("chunk %d: err = %v", chunk, err)
		}
		if fmt.Sprint(h.got) != fmt.Sprint(want) {
			t.Fatalf("chunk %d: got %v\nwant %v", chunk, h.got, want)
		}
	}
}

// TestFrameReaderRefuses checks the protocol's rules and the close frame.
func TestFrameReaderRefuses(t *testing.T) {
	cases := []struct {
		name  string
		frame []byte
		code  int
	}{
		{"unmasked", []byte{0x81, 0x01, 'x'}, websocket.CloseProtocolError},
		{"reserved bit", clientFrame(0xC1, []byte("x")), websocket.CloseProtocolError},
		{"bad opcode", clientFrame(0x83, []byte("x")), websocket.CloseProtocolError},
		{"fragmented ping", clientFrame(0x09, nil), websocket.CloseProtocolError},
		{"long ping", clientFrame(0x89, make([]byte, 126)), websocket.CloseProtocolError},
		{"lone continuation", clientFrame(0x80, []byte("x")), websocket.CloseProtocolError},
		{"message too big", append(clientFrame(0x01, make([]byte, 1000)), clientFrame(0x00, make([]byte, 1000))...), websocket.CloseMessageTooBig},
		{"binary", clientFrame(0x82, []byte{0xff}), websocket.CloseUnsupportedData},
		{"binary first fragment", clientFrame(0x02, []byte{0xff}), websocket.CloseUnsupportedData},
		{"close 1000", clientFrame(0x88, websocket.FormatCloseMessage(1000, "bye")), 1000},
		{"close without code", clientFrame(0x88, nil), websocket.CloseNoStatusReceived},
		{"close code 1005", clientFrame(0x88, []byte{0x03, 0xED}), websocket.CloseProtocolError},
		{"close reason not utf-8", clientFrame(0x88, []byte{0x03, 0xE8, 0xff}), websocket.CloseInvalidFramePayloadData},
	}
	for _, c := range cases {
		r := &frameReader{maxFrame: 1024, maxMessage: 1500}
		err := r.feed(c.frame, &frameRecorder{})
		var re *readEnd
		if !errors.As(err, &re) || re.code != c.code || re.reply == nil {
			t.Errorf("%s: err = %v, want code %d with a close frame", c.name, err, c.code)
		}
	}
}

// TestHandshakeWithEarlyData checks that bytes sent right behind the upgrade
// request are not lost.
func TestHandshakeWithEarlyData(t *testing.T) {
	ts := newTestServer(t, Config{}, chatKeys())
	nc, err := net.Dial("tcp", ts.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := "GET /" + testAPI + "/" + testStage + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	msg := []byte(`{"action":"echo"}`)
	masked := append([]byte{0x81, 0x80 | byte(len(msg)), 0, 0, 0, 0}, msg...) // zero mask key
	if _, err := nc.Write(append([]byte(req), masked...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v", resp.Status)
	}
	hdr := make([]byte, 2)
	_ = nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := br.Read(hdr); err != nil || hdr[0] != 0x81 || int(hdr[1]) != len(msg) {
		t.Fatalf("echo frame header %x: %v", hdr, err)
	}
}

// FuzzFrameReader feeds any byte stream to a frame reader whole, then in
// chunks cut where the fuzzer says: it never panics, and the chunks give the
// same messages, control frames and end as the whole stream.
func FuzzFrameReader(f *testing.F) {
	f.Add(append(clientFrame(0x81, []byte("hello")), clientFrame(0x88, websocket.FormatCloseMessage(1000, "bye"))...), uint8(3))
	f.Add(append(clientFrame(0x01, []byte("frag-")), append(clientFrame(0x89, []byte("p")), clientFrame(0x80, []byte("mented"))...)...), uint8(1))
	f.Add(clientFrame(0x81, bytes.Repeat([]byte("b"), 300)), uint8(7))
	f.Add([]byte{0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, uint8(2))
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8) {
		run := func(size int) ([]string, string) {
			r := &frameReader{maxFrame: 512, maxMessage: 1024}
			h := &frameRecorder{}
			in := bytes.Clone(stream)
			var err error
			for off := 0; off < len(in) && err == nil; off += size {
				err = r.feed(in[off:min(off+size, len(in))], h)
			}
			end := "open"
			var re *readEnd
			if errors.As(err, &re) {
				end = fmt.Sprintf("%d %q reply=%v", re.code, re.reason, re.reply != nil)
			} else if err != nil {
				t.Fatalf("feed returned %T %v, not a *readEnd", err, err)
			}
			return h.got, end
		}
		wholeGot, wholeEnd := run(max(len(stream), 1))
		got, end := run(int(chunk%64) + 1)
		if fmt.Sprint(got) != fmt.Sprint(wholeGot) || end != wholeEnd {
			t.Fatalf("in chunks of %d: %v, %s\nwhole: %v, %s", chunk%64+1, got, end, wholeGot, wholeEnd)
		}
	})
}

// TestHandshakeRefusedBeforeConnect checks that a handshake RFC 6455 does not
// allow is answered with API Gateway's JSON error shape, a version other
// than 13 with 426 and the version served (RFC 6455 4.2.2), and that $connect
// never runs for it.
func TestHandshakeRefusedBeforeConnect(t *testing.T) {
	ts := newTestServer(t, Config{}, chatKeys())
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	for _, tc := range []struct {
		name    string
		proto   string
		headers string
		status  int
		typ     string
		version string // the Sec-WebSocket-Version answered
		says    string // in the message, when set
	}{
		{"version 8", "HTTP/1.1", "Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 8\r\n", http.StatusUpgradeRequired, "UpgradeRequired", "13", ""},
		{"no version", "HTTP/1.1", "Sec-WebSocket-Key: " + key + "\r\n", http.StatusUpgradeRequired, "UpgradeRequired", "13", ""},
		{"key not base64", "HTTP/1.1", "Sec-WebSocket-Key: abc\r\nSec-WebSocket-Version: 13\r\n", http.StatusBadRequest, "BadRequestException", "", ""},
		{"key of 8 bytes", "HTTP/1.1", "Sec-WebSocket-Key: AAAAAAAAAAA=\r\nSec-WebSocket-Version: 13\r\n", http.StatusBadRequest, "BadRequestException", "", ""},
		{"no key", "HTTP/1.1", "Sec-WebSocket-Version: 13\r\n", http.StatusBadRequest, "BadRequestException", "", ""},
		{"HTTP/1.0", "HTTP/1.0", "Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n", http.StatusBadRequest, "BadRequestException", "", ""},
		{"key twice", "HTTP/1.1", "Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n", http.StatusBadRequest, "BadRequestException", "", "Sec-WebSocket-Key once"},
		{"same key twice", "HTTP/1.1", "Sec-WebSocket-Key: " + key + "\r\nsec-websocket-key: " + key + "\r\nSec-WebSocket-Version: 13\r\n", http.StatusBadRequest, "BadRequestException", "", "Sec-WebSocket-Key once"},
		{"versions 13 and 8", "HTTP/1.1", "Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 8\r\n", http.StatusBadRequest, "BadRequestException", "", "Sec-WebSocket-Version once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", ts.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
			req := "GET /" + testAPI + "/" + testStage + " " + tc.proto + "\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + tc.headers + "\r\n"
			if _, err := nc.Write([]byte(req)); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			defer resp.Body.Close()
			var body struct{ Message string }
			err = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json" ||
				resp.Header.Get("X-Amzn-Errortype") != tc.typ || err != nil || body.Message == "" {
				t.Fatalf("%s, %s %q, message %q (%v); want %d %s", resp.Status, resp.Header.Get("Content-Type"),
					resp.Header.Get("X-Amzn-Errortype"), body.Message, err, tc.status, tc.typ)
			}
			if !strings.Contains(body.Message, tc.says) {
				t.Fatalf("message %q does not say %q", body.Message, tc.says)
			}
			if got := resp.Header.Get("Sec-WebSocket-Version"); got != tc.version {
				t.Fatalf("Sec-WebSocket-Version %q, want %q", got, tc.version)
			}
			// $connect is dispatched before the handshake is answered: by
			// now it would have been.
			select {
			case ev := <-ts.d.events:
				t.Fatalf("%s ran for a refused handshake", ev.RequestContext.RouteKey)
			default:
			}
		})
	}
	// A good handshake still connects (and runs $connect).
	ts.dial(t, "")
	ts.d.next(t, EventConnect)
}

// TestShutdownLateWithoutConnections: a stop whose graceful part ended before
// the manager's hook ran (the listeners' hooks used it all up waiting for a
// slow request) is no failure when there is no connection to close; it used
// to fail at random with "0 still closing at shutdown".
func TestShutdownLateWithoutConnections(t *testing.T) {
	for range 200 {
		m := New(Config{}, nil)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := m.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown with no connection and an ended context: %v", err)
		}
	}
}

// TestConnectRefusedWithAnInvalidStatus: a $connect whose statusCode is not a
// final HTTP status (1xx, or beyond 599) refuses the handshake with 500, as
// a final answer: not a 101 without the handshake's headers, nor a 100
// followed by a 200.
func TestConnectRefusedWithAnInvalidStatus(t *testing.T) {
	for _, code := range []int{100, 101, 199, 600} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			ts := newTestServer(t, Config{}, chatKeys())
			ts.d.handle = func(*events.APIGatewayWebsocketProxyRequest) (*Response, error) {
				return &Response{StatusCode: code, Body: []byte("denied")}, nil
			}
			_, status, err := wsDial(websocket.DefaultDialer, ts.ws, nil)
			if err == nil || status != http.StatusInternalServerError {
				t.Fatalf("dial: err=%v status=%d, want 500", err, status)
			}
			if ts.m.Len() != 0 {
				t.Fatalf("a refused connection was registered")
			}
		})
	}
}

// TestConnectHeadersFraming: the headers a $connect returns are added to the
// 101 response, but not those that describe HTTP's framing
// (Transfer-Encoding and the like, which RFC 9112 forbids on a 101), nor on
// a refusal, whose body's length Portico sets.
func TestConnectHeadersFraming(t *testing.T) {
	for _, code := range []int{200, 403} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			ts := newTestServer(t, Config{}, chatKeys())
			ts.d.handle = func(*events.APIGatewayWebsocketProxyRequest) (*Response, error) {
				return &Response{StatusCode: code, Body: []byte("no"), Headers: map[string]string{
					"Transfer-Encoding": "chunked", "Keep-Alive": "timeout=5", "TE": "trailers", "Trailer": "X-T", "X-Custom": "kept"}}, nil
			}
			var head strings.Builder
			br := rawHandshake(t, ts)
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("response head %q: %v", head.String(), err)
				}
				if line == "\r\n" {
					break
				}
				head.WriteString(line)
			}
			h := strings.ToLower(head.String())
			if !strings.Contains(h, "x-custom: kept") {
				t.Errorf("the function's header is missing:\n%s", head.String())
			}
			for _, name := range []string{"transfer-encoding", "keep-alive", "te:", "trailer"} {
				if strings.Contains(h, "\n"+name) {
					t.Errorf("%s sent:\n%s", name, head.String())
				}
			}
		})
	}
}

// TestConnectHeadersInvalidNamesDropped: a header name with CR/LF (or another
// character no field name may hold) that a $connect returned was written raw
// into the 101 response, so that it split the head ("X-Bad\r\nName: 1") or
// ended it early, and the bytes after reached the client as frames the
// server never framed; a DEL in a value passed too. Such names are dropped,
// on the 101 and on a refusal, as net/http and Portico's h1 writer drop
// them, and a value's control characters are spaces; the other headers stay.
func TestConnectHeadersInvalidNamesDropped(t *testing.T) {
	for _, code := range []int{200, 403} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			ts := newTestServer(t, Config{}, chatKeys())
			ts.d.handle = func(*events.APIGatewayWebsocketProxyRequest) (*Response, error) {
				return &Response{StatusCode: code, Body: []byte("no"),
					Headers:           map[string]string{"X-Bad\r\nName": "1", "X-Split\r\n\r\nJUNK": "2", "X-Sp ace": "3", "X-Del": "a\x7fb", "X-Ok": "kept"},
					MultiValueHeaders: map[string][]string{"X-Multi\nBad": {"4"}, "X-Multi-Ok": {"m1", "m2"}}}, nil
			}
			br := rawHandshake(t, ts)
			status, err := br.ReadString('\n')
			if err != nil || !strings.Contains(status, map[int]string{200: " 101 ", 403: " 403 "}[code]) {
				t.Fatalf("status line %q: %v", status, err)
			}
			var fields []string
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("response head %q: %v", fields, err)
				}
				if line == "\r\n" {
					break
				}
				fields = append(fields, strings.ToLower(strings.TrimSuffix(line, "\r\n")))
			}
			head := strings.Join(fields, "\n")
			for _, f := range fields {
				name, _, ok := strings.Cut(f, ":")
				if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") {
					t.Errorf("malformed header line %q in the head:\n%s", f, head)
				}
			}
			for _, want := range []string{"x-ok: kept", "x-multi-ok: m1", "x-multi-ok: m2", "x-del: a b"} {
				if !slices.Contains(fields, want) {
					t.Errorf("%q missing from the head:\n%s", want, head)
				}
			}
			for _, bad := range []string{"x-bad", "name", "x-split", "junk", "x-sp", "x-multi\n", "bad: 4"} {
				if strings.Contains(head, bad) {
					t.Errorf("%q written into the head:\n%s", bad, head)
				}
			}
		})
	}
}

// rawHandshake sends a WebSocket handshake to ts's stage over a plain TCP
// connection (closed when the test ends) and returns its reader.
func rawHandshake(t *testing.T, ts *testServer) *bufio.Reader {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second)) // a hang guard
	req := "GET /" + testAPI + "/" + testStage + " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	return bufio.NewReader(c)
}
