package gateway_test

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/wstest"
)

// rawWS is a WebSocket client that writes frames as it is told, valid or not.
type rawWS struct {
	c  net.Conn
	br *bufio.Reader
}

// dialRawWS sends the handshake request req (written as is) to addr and returns
// the answer's status; a 101 leaves the connection open as a rawWS.
func dialRawWS(t *testing.T, addr, req string) (*rawWS, int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		_ = c.Close()
		t.Fatalf("handshake %.80q: %v", req, err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		_ = c.Close()
		t.Errorf("handshake %.80q: no answer: %v", req, err)
		return nil, 0
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		_ = c.Close()
		return nil, resp.StatusCode
	}
	t.Cleanup(func() { _ = c.Close() })
	return &rawWS{c: c, br: br}, resp.StatusCode
}

// wsFrame encodes one frame: fin, the reserved bits (rsv, 0-7), the opcode, and
// the payload, masked when mask is set (as a client must).
func wsFrame(fin bool, rsv, op byte, mask bool, payload []byte) []byte {
	b0 := rsv<<4 | op
	if fin {
		b0 |= 0x80
	}
	f := []byte{b0, 0}
	if mask {
		f[1] = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		f[1] |= byte(n)
	case n < 1<<16:
		f[1] |= 126
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f[1] |= 127
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	if !mask {
		return append(f, payload...)
	}
	key := []byte{0x12, 0x34, 0x56, 0x78}
	f = append(f, key...)
	for i, c := range payload {
		f = append(f, c^key[i%4])
	}
	return f
}

// readFrame reads one server frame: its opcode and payload.
func (w *rawWS) readFrame() (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(w.br, h[:]); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 != 0 {
		return 0, nil, errors.New("a masked server frame")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(w.br, l[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(w.br, l[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(l[:])
	}
	if n > 1<<20 {
		return 0, nil, fmt.Errorf("a %d-byte server frame", n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(w.br, p); err != nil {
		return 0, nil, err
	}
	return h[0] & 0x0f, p, nil
}

// wsStep is what a client sends in one go, and what it must draw: replies
// (text frames), pongs, or (close, non-zero) the close code that ends the
// connection.
type wsStep struct {
	name    string
	frames  [][]byte
	replies int
	pongs   int
	close   int
}

func text(p string) []byte { return wsFrame(true, 0, websocket.TextMessage, true, []byte(p)) }

// wsSteps are the steps TestWebSocketAPIRefusesBadInput draws from.
func wsSteps() []wsStep {
	big := strings.Repeat("b", 30<<10)
	cont := func(fin bool, p string) []byte { return wsFrame(fin, 0, 0, true, []byte(p)) }
	first := func(p string) []byte { return wsFrame(false, 0, websocket.TextMessage, true, []byte(p)) }
	ok := func(name string, msgs ...string) wsStep {
		s := wsStep{name: name, replies: len(msgs)}
		for _, m := range msgs {
			s.frames = append(s.frames, text(m))
		}
		return s
	}
	fatal := func(name string, code int, frames ...[]byte) wsStep {
		return wsStep{name: name, frames: frames, close: code}
	}
	return []wsStep{
		ok("json", `{"n":1}`),
		ok("actions", `{"action":"mock"}`, `{"action":1}`, `{"action":{"a":[1]}}`, `{"action":null}`, `{"action":"$connect"}`,
			`{"action":"$disconnect"}`, `{"action":"`+strings.Repeat("a", 5000)+`"}`, `{"action":"\u0000"}`),
		ok("not json", "hello", "{", "[]", `"action"`, "\u00e9\u4e16", `{"action":"mock"`),
		ok("deep", strings.Repeat(`{"a":`, 2000)+"1"+strings.Repeat("}", 2000)),
		ok("big", `{"pad":"`+big+`"}`),
		{name: "fragmented", frames: [][]byte{first(`{"action":`), cont(false, `"mo`), cont(true, `ck"}`)}, replies: 1},
		{name: "utf-8 split across frames", frames: [][]byte{first("{\"s\":\"\xc3"), cont(true, "\xa9\"}")}, replies: 1},
		{name: "ping inside a message", frames: [][]byte{first(`{"n":`), wsFrame(true, 0, websocket.PingMessage, true, []byte("p")), cont(true, `2}`)},
			replies: 1, pongs: 1},
		{name: "ping", frames: [][]byte{wsFrame(true, 0, websocket.PingMessage, true, []byte("hi"))}, pongs: 1},
		{name: "unsolicited pong", frames: [][]byte{wsFrame(true, 0, websocket.PongMessage, true, []byte("x"))}},
		fatal("invalid utf-8", 1007, text("{\"s\":\"\xff\xfe\"}")),
		fatal("invalid utf-8 across frames", 1007, first("\xc3"), cont(true, "(")),
		fatal("binary", 1003, wsFrame(true, 0, websocket.BinaryMessage, true, []byte(`{"n":1}`))),
		fatal("reserved bits", 1002, wsFrame(true, 4, websocket.TextMessage, true, []byte(`{}`))),
		fatal("opcode 3", 1002, wsFrame(true, 0, 3, true, []byte(`{}`))),
		fatal("opcode 11", 1002, wsFrame(true, 0, 11, true, nil)),
		fatal("unmasked", 1002, wsFrame(true, 0, websocket.TextMessage, false, []byte(`{}`))),
		fatal("long ping", 1002, wsFrame(true, 0, websocket.PingMessage, true, make([]byte, 126))),
		fatal("fragmented ping", 1002, wsFrame(false, 0, websocket.PingMessage, true, nil)),
		fatal("continuation first", 1002, cont(true, `{}`)),
		fatal("new message inside one", 1002, first(`{`), text(`{}`)),
		fatal("frame over the limit", 1009, text(strings.Repeat("x", 40<<10))),
		fatal("message over the limit", 1009, first(big), cont(false, big), cont(false, big), cont(false, big), cont(true, big)),
		fatal("close", 1000, wsFrame(true, 0, websocket.CloseMessage, true, []byte{0x03, 0xe8})),
		fatal("close with one byte", 1002, wsFrame(true, 0, websocket.CloseMessage, true, []byte{0x03})),
	}
}

// TestWebSocketAPIRefusesBadInput is TestGatewayRefusesBadInput for a
// WebSocket API: bad handshakes, and on 300 connections random runs of good
// messages and bad frames (invalid UTF-8, binary, reserved bits and opcodes,
// unmasked, oversized and fragmented control frames, continuations out of
// place, frames and messages over the limits, malformed close frames). Each
// handshake is answered without a 5xx; each good message before the first bad
// frame is answered; each bad frame ends its connection with its close code
// (RFC 6455 and docs/websockets.md) in a close frame, never a cut; and a
// connection opened first answers throughout. Then @connections calls with odd
// ids, methods and bodies: AWS's errors, no 5xx.
func TestWebSocketAPIRefusesBadInput(t *testing.T) {
	t.Parallel()
	const token = "ws-bad-input-token"
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 5)
	var api struct {
		ID string `json:"id"`
	}
	fn := map[string]any{"type": "AWS_PROXY", "uri": "function:probe"}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "wsbad", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": []any{
			map[string]any{"routeKey": "$connect", "integration": fn},
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": fn},
			map[string]any{"routeKey": "mock", "routeResponseSelectionExpression": "$default", "integration": map[string]any{
				"type": "MOCK", "requestTemplates": map[string]string{"$default": `{"statusCode": 200}`},
				"responses": map[string]any{"default": map[string]any{"statusCode": "200",
					"responseTemplates": map[string]string{"$default": `{"mocked": "$context.routeKey"}`}}}}},
		}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	addr := strings.TrimPrefix(env.GatewayURL, "http://")
	path := "/" + api.ID + "/dev"

	witness, _, err := wstest.Dial(websocket.DefaultDialer, "ws://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer witness.Close()
	witnessAnswers := func(when string) {
		t.Helper()
		if err := witness.WriteMessage(websocket.TextMessage, []byte(`{"action":"mock"}`)); err != nil {
			t.Fatalf("witness %s: %v", when, err)
		}
		if got := wstest.ReadText(t, witness); got != `{"mocked": "mock"}` {
			t.Fatalf("witness %s: %q", when, got)
		}
	}
	witnessAnswers("first")

	handshake := func(method, target string, hdr ...string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, addr)
		for i := 0; i+1 < len(hdr); i += 2 {
			fmt.Fprintf(&b, "%s: %s\r\n", hdr[i], hdr[i+1])
		}
		b.WriteString("\r\n")
		return b.String()
	}
	std := []string{"Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version", "13"}
	with := func(kv ...string) []string { return append(append([]string{}, std...), kv...) }
	for _, h := range []struct {
		name string
		req  string
	}{
		{"no key", handshake("GET", path, "Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Version", "13")},
		{"short key", handshake("GET", path, "Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Key", "abc", "Sec-WebSocket-Version", "13")},
		{"version 8", handshake("GET", path, "Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version", "8")},
		{"no upgrade", handshake("GET", path, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version", "13")},
		{"upgrade h2c", handshake("GET", path, "Upgrade", "h2c", "Connection", "Upgrade", "HTTP2-Settings", "AAMAAABkAAQCAAAAAAIAAAAA")},
		{"POST", handshake("POST", path, with("Content-Length", "0")...)},
		{"PROPFIND", handshake("PROPFIND", path, std...)},
		{"bad query", handshake("GET", path+"?a=%ZZ&b=%00&c", std...)},
		{"dot segments", handshake("GET", path+"/../..", std...)},
		{"other stage", handshake("GET", "/"+api.ID+"/nope", std...)},
		{"odd protocols", handshake("GET", path, with("Sec-WebSocket-Protocol", ", ,\x7f,chat")...)},
		{"extensions", handshake("GET", path, with("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits=99, x-nope")...)},
		{"long header", handshake("GET", path, with("X-Long", strings.Repeat("h", 12000))...)},
		{"bad header bytes", handshake("GET", path, with("X-Bytes", "\xff\xfe", "Cookie", "a=1; ;\xff")...)},
		{"chunked body", handshake("GET", path, with("Transfer-Encoding", "chunked")...) + "5\r\nhello\r\n0\r\n\r\n"},
	} {
		ws, status := dialRawWS(t, addr, h.req)
		if ws != nil {
			_, _ = ws.c.Write(wsFrame(true, 0, websocket.CloseMessage, true, []byte{0x03, 0xe8}))
			_ = ws.c.Close()
		}
		if status >= 500 || status == 0 {
			t.Errorf("handshake %s: %d", h.name, status)
		}
	}

	steps := wsSteps()
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 28))
	closes := map[int]int{}
	for n := range 300 {
		ws, status := dialRawWS(t, addr, handshake("GET", path, std...))
		if ws == nil {
			t.Fatalf("connection %d: handshake %d", n, status)
		}
		var run []string
		var frames [][]byte
		want, pongs, code := 0, 0, 0
		for range 1 + rng.IntN(4) {
			s := steps[rng.IntN(len(steps))]
			run = append(run, s.name)
			frames = append(frames, s.frames...)
			if s.close != 0 {
				code = s.close
				break
			}
			want += s.replies
			pongs += s.pongs
		}
		desc := fmt.Sprintf("connection %d %q", n, run)
		go func() { // written apart, so that a server that stops reading cannot block the test
			for _, f := range frames {
				if _, err := ws.c.Write(f); err != nil {
					return
				}
			}
		}()
		replies, gotPongs, gotClose := 0, 0, 0
		if code == 0 { // all good: every reply and pong, then a clean close
			for replies < want || gotPongs < pongs {
				op, p, err := ws.readFrame()
				if err != nil {
					t.Fatalf("%s: %d of %d replies, %d of %d pongs, then %v", desc, replies, want, gotPongs, pongs, err)
				}
				switch op {
				case websocket.TextMessage:
					replies++
				case websocket.PongMessage:
					gotPongs++
				case websocket.PingMessage:
				default:
					t.Fatalf("%s: unexpected frame %d %.100q", desc, op, p)
				}
			}
			_, _ = ws.c.Write(wsFrame(true, 0, websocket.CloseMessage, true, []byte{0x03, 0xe8}))
			code = 1000
		}
		for gotClose == 0 {
			op, p, err := ws.readFrame()
			if err != nil {
				t.Errorf("%s: cut without a close frame (want %d): %v", desc, code, err)
				break
			}
			switch op {
			case websocket.TextMessage:
				replies++
			case websocket.CloseMessage:
				gotClose = -1
				if len(p) >= 2 {
					gotClose = int(binary.BigEndian.Uint16(p))
				}
			}
		}
		closes[gotClose]++
		if gotClose != 0 && gotClose != code {
			t.Errorf("%s: closed with %d, want %d", desc, gotClose, code)
		}
		if replies > want {
			t.Errorf("%s: %d replies to %d good messages", desc, replies, want)
		}
		_ = ws.c.Close()
		if n%50 == 49 {
			witnessAnswers(fmt.Sprintf("after %d connections", n+1))
		}
	}
	t.Logf("close codes: %v", closes)

	// @connections with odd ids, methods and bodies.
	var live string
	{
		ws, _, err := wstest.Dial(websocket.DefaultDialer, "ws://"+addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"n":0}`)); err != nil {
			t.Fatal(err)
		}
		var ev struct {
			RequestContext struct {
				ConnectionID string `json:"connectionId"`
			} `json:"requestContext"`
		}
		if err := json.Unmarshal([]byte(wstest.ReadText(t, ws)), &ev); err != nil || ev.RequestContext.ConnectionID == "" {
			t.Fatalf("no connection id: %v", err)
		}
		live = ev.RequestContext.ConnectionID
	}
	ids := []string{url.PathEscape(live), "nope", "%00", "..", "%2F..%2F", strings.Repeat("a", 3000), "%ff%fe", "", url.PathEscape(live) + "%00"}
	bodies := []string{"", "x", strings.Repeat("y", 130<<10), "\xff\xfe"}
	// Bad signatures come last: ten from one address and it is refused
	// (429) for a while, whatever it sends.
	badAuths := []string{"", "Bearer wrong", "AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=00", "Bearer " + token + " x"}
	client := &http.Client{Timeout: 30 * time.Second}
	statuses := map[int]int{}
	examples := map[int]string{}
	for n := range 300 {
		method := []string{"GET", "POST", "DELETE", "PUT", "PATCH", "HEAD"}[rng.IntN(6)]
		id, body, auth := ids[rng.IntN(len(ids))], bodies[rng.IntN(len(bodies))], "Bearer "+token
		if n >= 270 {
			auth = badAuths[rng.IntN(len(badAuths))]
		}
		if method == "DELETE" && id == url.PathEscape(live) {
			id = "nope" // the live one stays, for the check below
		}
		req, err := http.NewRequest(method, env.GatewayURL+path+"/@connections/"+id, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header["Authorization"] = []string{auth}
		}
		desc := fmt.Sprintf("@connections %s %.60s auth %.30q body %d bytes", method, id, auth, len(body))
		status, got, ok := sendBad(t, client, req, desc, "x-amzn-RequestId")
		if !ok {
			continue
		}
		statuses[status]++
		if _, ok := examples[status]; !ok {
			examples[status] = fmt.Sprintf("%s: %.100s", desc, got)
		}
		switch {
		case status >= 500:
			t.Errorf("%s: %d %.200s", desc, status, got)
		case status >= 400 && method != "HEAD" && !isGatewayMessage(got):
			t.Errorf("%s: %d with a body that is not AWS's message: %.200q", desc, status, got)
		}
	}
	t.Logf("@connections answers by status: %v", statuses)
	for _, s := range slices.Sorted(maps.Keys(examples)) {
		t.Logf("%d, e.g. %s", s, examples[s])
	}
	witnessAnswers("at the end")
}
