package fastproxy

import (
	"bufio"
	"bytes"
	"io"
	"math"
	"net/http"
	"reflect"
	"testing"
)

// FuzzCommonHead checks readCommonHead against http.ReadResponse on the same
// bytes: whatever it accepts, http.ReadResponse reads the same status, header,
// length, Close and body; what it declines it leaves unread.
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
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), true)
	f.Fuzz(func(t *testing.T, raw []byte, head bool) {
		c := &backendConn{br: bufio.NewReaderSize(bytes.NewReader(raw), 4096), cr: connReader{limit: math.MaxInt64}}
		c.method = http.MethodGet
		if head {
			c.method = http.MethodHead
		}
		_, _ = c.br.Peek(1)
		buffered := c.br.Buffered()
		got, ok := c.readCommonHead()
		if !ok {
			if c.br.Buffered() != buffered {
				t.Fatalf("declined %q but consumed %d bytes", raw, buffered-c.br.Buffered())
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
		if got.Status != want.Status || got.StatusCode != want.StatusCode || got.ContentLength != want.ContentLength ||
			got.Close != want.Close || got.Proto != want.Proto || !reflect.DeepEqual(got.Header, want.Header) {
			t.Fatalf("%q:\n got %q %d len %d close %v %v\nwant %q %d len %d close %v %v", raw,
				got.Status, got.StatusCode, got.ContentLength, got.Close, got.Header,
				want.Status, want.StatusCode, want.ContentLength, want.Close, want.Header)
		}
		if !bytes.Equal(gotBody, wantBody) || (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%q: body %q (%v), http.ReadResponse's %q (%v)", raw, gotBody, gotErr, wantBody, wantErr)
		}
	})
}
