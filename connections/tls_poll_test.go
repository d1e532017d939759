package connections

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// maskedFrame is a client's final frame (RFC 6455 section 5.2), masked.
func maskedFrame(op byte, payload string) []byte {
	key := [4]byte{0x11, 0x22, 0x33, 0x44}
	f := []byte{0x80 | op, 0x80 | byte(len(payload))}
	f = append(f, key[:]...)
	for i := range len(payload) {
		f = append(f, payload[i]^key[i%4])
	}
	return f
}

// readServerFrame reads one unmasked frame of under 126 bytes.
func readServerFrame(t *testing.T, br *bufio.Reader) (op byte, payload string) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, h[1]&0x7f)
	if _, err := io.ReadFull(br, p); err != nil {
		t.Fatal(err)
	}
	return h[0] & 0x0f, string(p)
}

// TestTLSConnectionsPolled: a wss connection is read through the poller, not
// by a goroutine of its own. Messages written right behind the upgrade request
// (so that crypto/tls may hold their record behind it, where no readiness of
// the socket would announce them) and bursts of frames in one record are all
// answered; the idle connection is then watched by the poller;
// the close handshake completes.
func TestTLSConnectionsPolled(t *testing.T) {
	d := newFakeDispatcher(map[string]bool{"$default": true})
	m := New(Config{}, nil)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.ServeWebSocket(w, r, Endpoint{APIID: testAPI, Stage: testStage, DomainName: r.Host}, d)
	}))
	srv.StartTLS()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = m.Shutdown(ctx)
		srv.Close()
	})
	conn, err := tls.Dial("tcp", strings.TrimPrefix(srv.URL, "https://"), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // G402: the test server's own certificate
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Minute)) // a safety net, not a wait
	upgrade := "GET /" + testAPI + "/" + testStage + " HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	// The upgrade request, then at once three frames in a record of their own.
	var early []byte
	for i := range 3 {
		early = append(early, maskedFrame(websocket.TextMessage, "early"+strconv.Itoa(i))...)
	}
	if _, err := conn.Write([]byte(upgrade)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(early); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close() // a 101 has none: the frames follow
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v", resp.Status)
	}
	got := map[string]bool{}
	read := func(n int) {
		t.Helper()
		for range n {
			op, p := readServerFrame(t, br)
			if op != websocket.TextMessage {
				t.Fatalf("frame op %d %q", op, p)
			}
			got[p] = true
		}
	}
	read(3)
	// A burst: ten frames in one record.
	var burst []byte
	for i := range 10 {
		burst = append(burst, maskedFrame(websocket.TextMessage, "burst"+strconv.Itoa(i))...)
	}
	if _, err := conn.Write(burst); err != nil {
		t.Fatal(err)
	}
	read(10)
	// One by one, as a browser sends them.
	for i := range 5 {
		if _, err := conn.Write(maskedFrame(websocket.TextMessage, "one"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
		read(1)
	}
	for _, want := range []string{"early0", "early1", "early2", "burst0", "burst9", "one0", "one4"} {
		if !got[want] {
			t.Fatalf("no echo of %s in %v", want, got)
		}
	}
	list := m.List(testAPI, testStage)
	if len(list) != 1 {
		t.Fatalf("%d connections", len(list))
	}
	c := m.lookup(testAPI, testStage, list[0].ConnectionID)
	if c == nil || c.tlsRaw == nil || c.waiter.Load() == nil {
		t.Fatal("the wss connection is not watched by the poller")
	}
	// The close handshake.
	if _, err := conn.Write(maskedFrame(websocket.CloseMessage, "\x03\xe8bye")); err != nil {
		t.Fatal(err)
	}
	if op, p := readServerFrame(t, br); op != websocket.CloseMessage || len(p) < 2 || p[0] != 0x03 || p[1] != 0xe8 {
		t.Fatalf("close reply: op %d %q", op, p)
	}
	waitUntil(t, "the connection to end", func() bool { return len(m.List(testAPI, testStage)) == 0 })
}
