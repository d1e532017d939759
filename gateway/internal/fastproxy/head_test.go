package fastproxy

import (
	"bufio"
	"bytes"
	"io"
	"math"
	"net/http"
	"reflect"
	"slices"
	"testing"
)

// FuzzCommonHead checks readCommonHead against http.ReadResponse on the same
// bytes: whatever it accepts, http.ReadResponse reads the same status, length,
// Close and body, and the client's header (holding one of the gateway's own
// fields beforehand) ends as RemoveHopByHop and copyHeaderInto would leave it
// from http.ReadResponse's header, event-stream flag included; what it
// declines it leaves unread, and the client's header as it was. The same head
// read a second time on the connection (its last head, not parsed again)
// gives the same.
func FuzzCommonHead(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nDate: Mon, 30 Nov 2026 19:57:51 GMT\r\n\r\nok",
		"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nx-custom_name: a\r\nX-CUSTOM_NAME: b\r\n\r\n",
		"HTTP/1.1 200\r\nContent-Length:  3 \r\nConnection: close\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-A: b\r\n folded\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-Ctl: a\x01b\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-Utf8: \xc3\xa9t\xc3\xa9\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, close\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nConnection: x-hop\r\nX-Hop: 1\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nConnection: close, x-hop\r\nX-Hop: 1\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nproxy-connection: x\r\nUpgrade: h2c\r\nTe: trailers\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nx-amzn-requestid: backend\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nDate: a\r\nX-Renamed-Date: b\r\nx-amzn-requestid: backend\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type:\r\nContent-Type: text/event-stream\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), true)
	f.Fuzz(func(t *testing.T, raw []byte, head bool) {
		for _, rename := range []bool{false, true} {
			c := &backendConn{cr: connReader{limit: math.MaxInt64}, fp: &Proxy{rename: testRename}, rename: rename}
			c.method = http.MethodGet
			if head {
				c.method = http.MethodHead
			}
			for round := range 2 { // the second reads the connection's last head
				c.br = bufio.NewReaderSize(bytes.NewReader(raw), 4096)
				checkCommonHead(t, c, raw, round)
			}
		}
	})
}

// testRename renames the fields a gateway's request might: the gateway's own
// x-amzn-RequestId and Date, to a name that may also come from the backend.
func testRename(name string) string {
	switch name {
	case "X-Amzn-Requestid", "Date":
		return "X-Renamed-" + name
	}
	return ""
}

// checkCommonHead reads raw with c.readCommonHead and compares what it gives
// with http.ReadResponse's (its fields renamed by renameFields when c.rename);
// unwindHead then leaves the client's header as it was.
func checkCommonHead(t *testing.T, c *backendConn, raw []byte, round int) {
	t.Helper()
	own := func() http.Header { return http.Header{"X-Amzn-Requestid": {"gateway"}} }
	_, _ = c.br.Peek(1)
	buffered := c.br.Buffered()
	dst := own()
	got, ok := c.readCommonHead(dst)
	if !ok {
		if c.br.Buffered() != buffered {
			t.Fatalf("declined %q but consumed %d bytes", raw, buffered-c.br.Buffered())
		}
		if !reflect.DeepEqual(dst, own()) {
			t.Fatalf("declined %q but changed the client's header to %v", raw, dst)
		}
		return
	}
	defer func() { _ = got.Body.Close() }()
	gotBody, gotErr := io.ReadAll(got.Body)
	want, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), &http.Request{Method: c.method})
	if err != nil {
		t.Fatalf("accepted %q, which http.ReadResponse refuses: %v", raw, err)
	}
	defer func() { _ = want.Body.Close() }()
	wantBody, wantErr := io.ReadAll(want.Body)
	wantStream := isEventStream(want.Header["Content-Type"])
	RemoveHopByHop(want.Header)
	if c.rename {
		renameFields(want.Header, testRename)
	}
	wantDst := own()
	copyHeaderInto(wantDst, want.Header)
	if c.rename {
		// A renamed field and one of the new name from the backend keep
		// their wire order on the common path, not through renameFields'
		// map.
		for _, h := range []http.Header{dst, wantDst} {
			for _, vv := range h {
				slices.Sort(vv)
			}
		}
	}
	if got.Status != want.Status || got.StatusCode != want.StatusCode || got.ContentLength != want.ContentLength ||
		got.Close != want.Close || got.Proto != want.Proto || !reflect.DeepEqual(dst, wantDst) || c.head.stream != wantStream {
		t.Fatalf("round %d, %q:\n got %q %d len %d close %v stream %v %v\nwant %q %d len %d close %v stream %v %v", round, raw,
			got.Status, got.StatusCode, got.ContentLength, got.Close, c.head.stream, dst,
			want.Status, want.StatusCode, want.ContentLength, want.Close, wantStream, wantDst)
	}
	if !bytes.Equal(gotBody, wantBody) || (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("%q: body %q (%v), http.ReadResponse's %q (%v)", raw, gotBody, gotErr, wantBody, wantErr)
	}
	c.unwindHead(dst)
	if !reflect.DeepEqual(dst, own()) {
		t.Fatalf("round %d, %q: unwound to %v", round, raw, dst)
	}
}

// TestCommonHeadTakes checks that the heads a backend commonly sends, the
// hop-by-hop fields of a keep-alive included, take the common path, whose
// fields go to the client's header beside the gateway's own; and that a
// Connection field naming another field leaves the head to http.ReadResponse.
func TestCommonHeadTakes(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		want      http.Header // nil: declined
		closing   bool
	}{
		{"floor", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\nDate: Tue, 01 Dec 2026 14:57:34 GMT\r\n\r\nok",
			http.Header{"Content-Length": {"2"}, "Content-Type": {"application/json"}, "Date": {"Tue, 01 Dec 2026 14:57:34 GMT"}}, false},
		{"keep-alive", "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok",
			http.Header{"Content-Length": {"2"}}, false},
		{"close", "HTTP/1.1 503 Service Unavailable\r\nconnection: Close\r\nContent-Length: 2\r\n\r\nno",
			http.Header{"Content-Length": {"2"}}, true},
		{"hop-by-hop", "HTTP/1.1 200 OK\r\nProxy-Connection: x\r\nUpgrade: h2c\r\nte: trailers\r\nContent-Length: 0\r\n\r\n",
			http.Header{"Content-Length": {"0"}}, false},
		{"multiple values, one the gateway's", "HTTP/1.1 200 OK\r\nset-cookie: a=1\r\nContent-Length: 0\r\nSet-Cookie: b=2\r\nX-Amzn-Requestid: backend\r\n\r\n",
			http.Header{"Content-Length": {"0"}, "Set-Cookie": {"a=1", "b=2"}, "X-Amzn-Requestid": {"backend"}}, false},
		{"connection names a field", "HTTP/1.1 200 OK\r\nConnection: x-hop\r\nX-Hop: 1\r\nContent-Length: 2\r\n\r\nok", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &backendConn{cr: connReader{limit: math.MaxInt64}, method: http.MethodGet}
			for round := range 2 {
				c.br = bufio.NewReaderSize(bytes.NewReader([]byte(tc.raw)), 4096)
				_, _ = c.br.Peek(1)
				dst := http.Header{"X-Amzn-Requestid": {"gateway"}}
				resp, ok := c.readCommonHead(dst)
				if ok != (tc.want != nil) {
					t.Fatalf("round %d: taken %v", round, ok)
				}
				if !ok {
					return
				}
				_ = resp.Body.Close()
				want := http.Header{"X-Amzn-Requestid": {"gateway"}}
				for k, vv := range tc.want {
					want[k] = append(want[k], vv...)
				}
				if !reflect.DeepEqual(dst, want) || resp.Close != tc.closing {
					t.Fatalf("round %d: header %v close %v, want %v close %v", round, dst, resp.Close, want, tc.closing)
				}
			}
		})
	}
}

// TestCommonHeadValuesRoom: a request's room for the field values
// (ServeExtra's values) holds them when it has the capacity, so the client's
// header gets slices of it; a head with more fields than that gets a slice of
// its own, and the room is not kept by the connection either way.
func TestCommonHeadValuesRoom(t *testing.T) {
	raw := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nDate: Tue, 01 Dec 2026 14:57:34 GMT\r\n\r\nok"
	for _, tc := range []struct {
		name   string
		room   int
		inRoom bool
	}{{"room for all", 6, true}, {"room for all, exactly", 3, true}, {"too little room", 2, false}, {"no room", 0, false}} {
		t.Run(tc.name, func(t *testing.T) {
			room := make([]string, tc.room)
			c := &backendConn{cr: connReader{limit: math.MaxInt64}, method: http.MethodGet, values: room[:0]}
			c.br = bufio.NewReaderSize(bytes.NewReader([]byte(raw)), 4096)
			_, _ = c.br.Peek(1)
			dst := http.Header{}
			resp, ok := c.readCommonHead(dst)
			if !ok {
				t.Fatal("declined")
			}
			_ = resp.Body.Close()
			if c.values != nil {
				t.Error("the connection kept the request's room")
			}
			for _, name := range []string{"Content-Type", "Content-Length", "Date"} {
				vv := dst[name]
				if len(vv) != 1 || cap(vv) != 1 {
					t.Fatalf("%s: %q (cap %d)", name, vv, cap(vv))
				}
				in := false
				for i := range room {
					in = in || &room[i] == &vv[0]
				}
				if in != tc.inRoom {
					t.Errorf("%s in the room: %v, want %v", name, in, tc.inRoom)
				}
			}
		})
	}
}
