package h1

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// bytesConn is a net.Conn that reads from a byte slice (and discards writes).
type bytesConn struct {
	net.Conn
	r *bytes.Reader
}

func (b bytesConn) Read(p []byte) (int, error)         { return b.r.Read(p) }
func (b bytesConn) Write(p []byte) (int, error)        { return len(p), nil }
func (b bytesConn) SetReadDeadline(time.Time) error    { return nil }
func (b bytesConn) RemoteAddr() net.Addr               { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (b bytesConn) Close() error                       { return nil }
func (b bytesConn) SetWriteDeadline(t time.Time) error { return nil }

// connOn is a connection reading raw, at the point where serve reads a
// request (the first byte buffered, the header-size limit set).
func connOn(raw []byte, maxHeader int) *conn {
	bc := bytesConn{r: bytes.NewReader(raw)}
	c := &conn{s: New(nil, Options{MaxHeaderBytes: maxHeader, WireNames: true}), rwc: bc, rw: bc, remoteAddr: "127.0.0.1:1"}
	c.cr.c = c
	c.br = bufio.NewReaderSize(&c.cr, readBufferSize)
	c.cr.remain = int64(c.s.opts.MaxHeaderBytes) + headerSlack
	_, _ = c.br.Peek(1)
	return c
}

// describeRead is what a request read leaves for the handler and the client:
// the request's fields, its body read in small pieces (each read's count and
// error), and the bytes left behind it; or the error answer sent.
func describeRead(req *http.Request, err error, c *conn) string {
	if err != nil {
		reply, wait := errorReply(err)
		return fmt.Sprintf("error reply %q wait=%v", reply, wait)
	}
	var sb strings.Builder
	u := *req.URL
	user := "<nil>"
	if u.User != nil { // a pointer: compared by what it holds
		user = fmt.Sprintf("%q", u.User.String())
		u.User = nil
	}
	fmt.Fprintf(&sb, "method=%q uri=%q url=%#v user=%s proto=%q %d.%d host=%q cl=%d te=%#v close=%v trailer=%#v remote=%q header=%#v\n",
		req.Method, req.RequestURI, u, user, req.Proto, req.ProtoMajor, req.ProtoMinor, req.Host, req.ContentLength,
		req.TransferEncoding, req.Close, req.Trailer, req.RemoteAddr, req.Header)
	fmt.Fprintf(&sb, "nobody=%v\n", req.Body == http.NoBody)
	p := make([]byte, 7)
	for range 1 << 12 {
		n, err := req.Body.Read(p)
		fmt.Fprintf(&sb, "read %d %q %v\n", n, p[:n], err)
		if err != nil {
			n, err = req.Body.Read(p) // what a second read after the end gives
			fmt.Fprintf(&sb, "again %d %v\n", n, err)
			break
		}
	}
	fmt.Fprintf(&sb, "trailer after=%#v\n", req.Trailer)
	rest, _ := io.ReadAll(c.br)
	fmt.Fprintf(&sb, "rest=%q\n", rest)
	return sb.String()
}

// checkParse compares h1's request reader with net/http's on raw: the same
// request (or the same error answer) and the same bytes left behind; and where
// the fast path took the request, the same fields as http.ReadRequest and the
// same spellings of the header names as from net/http's reader.
func checkParse(t *testing.T, raw []byte) (fast bool) {
	t.Helper()
	const maxHeader = 4096
	ref := connOn(raw, maxHeader)
	reqRef, errRef := ref.readRequestStd()
	want := describeRead(reqRef, errRef, ref)

	c := connOn(raw, maxHeader)
	before := c.br.Buffered()
	if fr := parseRequest(c.br, true); fr == nil {
		if c.br.Buffered() != before {
			t.Fatalf("parseRequest declined %q after consuming %d bytes", raw, before-c.br.Buffered())
		}
	} else {
		fast = true
		req := &fr.req
		pub, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatalf("parseRequest took %q, http.ReadRequest refuses it: %v", raw, err)
		}
		h := req.Header.Clone()
		delete(h, "Host") // http.ReadRequest's last step
		if req.Method != pub.Method || req.RequestURI != pub.RequestURI || !reflect.DeepEqual(req.URL, pub.URL) ||
			req.Proto != pub.Proto || req.ProtoMajor != pub.ProtoMajor || req.ProtoMinor != pub.ProtoMinor ||
			!reflect.DeepEqual(h, pub.Header) || req.Host != pub.Host || req.ContentLength != pub.ContentLength ||
			!reflect.DeepEqual(req.TransferEncoding, pub.TransferEncoding) || req.Close != pub.Close ||
			(req.Body == http.NoBody) != (pub.Body == http.NoBody) {
			t.Fatalf("request %q:\nparseRequest:     %+v\nhttp.ReadRequest: %+v", raw, req, pub)
		}
		if errRef == nil && !slices.Equal(namesOf(fr.names), namesOf(ref.names)) {
			t.Fatalf("request %q: spellings %q from parseRequest, %q from net/http's reader", raw, namesOf(fr.names), namesOf(ref.names))
		}
		c = connOn(raw, maxHeader) // the whole read again, through readRequest
	}
	req, err := c.readRequest(true)
	if got := describeRead(req, err, c); got != want {
		t.Fatalf("request %q:\nh1:       %s\nnet/http: %s", raw, got, want)
	}
	return fast
}

func namesOf(nc *namesCtx) []string {
	if nc == nil {
		return nil
	}
	return nc.names
}

// parseSeeds are requests the fast path takes and requests it leaves to
// net/http, with their odd corners.
var parseSeeds = []string{
	"GET /prod/mock HTTP/1.1\r\nHost: bench\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n",
	"GET /a/b?c=d&e HTTP/1.1\r\nHost: example.com:8080\r\nX-Api-Key: k\r\nx-lower: v\r\nAccept: a\r\nAccept: b\r\n\r\n",
	"GET /a? HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /a?b? HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /a?%zz#f HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET //x/./../y;z=1:@$&+,= HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /%7Efoo/%2F HTTP/1.0\r\n\r\n",
	"GET /a!b'(c)* HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET http://other:81/echo HTTP/1.1\r\nHost: x\r\n\r\n",
	"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
	"CONNECT /rpc HTTP/1.1\r\n\r\n",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
	"GET / HTTP/1.2\r\nHost: x\r\n\r\n",
	"GET / HTTP/1.1\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	"GET / HTTP/1.0\r\nConnection: Keep-Alive, close\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nconnection: foo, CLOSE\r\nConnection: bar\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nPragma: no-cache\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nPragma: no-cache\r\nCache-Control: max-age=1\r\n\r\n",
	"GET / HTTP/1.1\r\nHost:\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
	"GET / HTTP/1.1\r\nhOST: \t x \t\r\nX-Empty:\r\nX-Sp:   \r\nx-api-key: abc\r\nX-AMZ-DATE: 1\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX-Obs: \x80\xff\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX-Ctl: a\x01b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX-Del: a\x7fb\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nBad : y\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\n: y\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX-Fold: a\r\n b\r\n\r\n",
	"GET / HTTP/1.1\r\n Host: x\r\n\r\n",
	"GET / HTTP/1.1\nHost: x\n\n",
	"GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n",
	"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
	"G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
	" GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
	"HELLO\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 10000) + "\r\n\r\n",
	"POST /echo?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: x\r\n\r\n",
	"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nshort",
	"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
	"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 007\r\n\r\nabcdefg",
	"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length:  3 \r\n\r\nabc",
	"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc",
	"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -3\r\n\r\nabc",
	"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\nabc",
	"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775807\r\n\r\nabc",
	"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775808\r\n\r\nabc",
	"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
	"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
	"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
	"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc",
	"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	// aws-lambda-go's POST of a result, and chunked bodies' corners.
	"POST /2018-06-01/runtime/invocation/8476a536/response HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUser-Agent: aws-lambda-go/go1.26\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\nTrailer: Lambda-Runtime-Function-Error-Body,Lambda-Runtime-Function-Error-Type\r\nAccept-Encoding: gzip\r\n\r\n1a\r\n{\"echo\":{\"hello\":\"world\"}}\r\n0\r\n\r\n",
	"POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Type\r\n\r\n2\r\n{}\r\n0\r\nLambda-Runtime-Function-Error-Type: Runtime.X\r\nx-other: 2\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
	"POST /r HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\ntrailer:  , x-a ,X-B,, \r\nTrailer: x-c\r\n\r\n3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n",
	"POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: content-length\r\n\r\n0\r\n\r\n",
	"POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer:\r\n\r\n0\r\n\r\n",
	"POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
	"POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n",
	"POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nExpect: 100-continue\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
	"POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
	"POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",
	"POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n",
	"POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
	"POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n",
	"GET /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"POST /echo HTTP/1.1\r\nHost: x\r\nTrailer: X-T\r\nContent-Length: 1\r\n\r\na",
	"POST /echo HTTP/1.0\r\nContent-Length: 2\r\n\r\nab",
	"GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab",
}

// TestParseRequestSameAsNetHTTP holds the fast path to net/http's reader on
// the seeds, and checks that it takes the plain ones.
func TestParseRequestSameAsNetHTTP(t *testing.T) {
	took := 0
	for _, raw := range parseSeeds {
		if checkParse(t, []byte(raw)) {
			took++
		}
	}
	for _, raw := range []string{
		"GET /prod/mock HTTP/1.1\r\nHost: bench\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n",
		"GET /a/b?c=d&e HTTP/1.1\r\nHost: example.com:8080\r\nX-Api-Key: k\r\nx-lower: v\r\nAccept: a\r\nAccept: b\r\n\r\n",
		"GET / HTTP/1.1\r\nhOST: \t x \t\r\nX-Empty:\r\nX-Sp:   \r\nx-api-key: abc\r\nX-AMZ-DATE: 1\r\n\r\n",
		"POST /echo?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	} {
		if !checkParse(t, []byte(raw)) {
			t.Errorf("the fast path declined the plain request %q", raw)
		}
	}
	if took < 20 {
		t.Errorf("the fast path took only %d of %d seeds", took, len(parseSeeds))
	}
}

// TestParseRequestAllocations: a wrk-like request costs four allocations (the
// head's string, the request with its URL, values and response, and the header
// map's two), lower-case common names included.
func TestParseRequestAllocations(t *testing.T) {
	raw := "GET /prod/mock HTTP/1.1\r\nHost: bench\r\nuser-agent: wrk\r\nAccept: */*\r\nx-api-key: k\r\n\r\n"
	allocs, took := parseAllocs(raw)
	if !took {
		t.Fatal("declined")
	}
	if allocs > 4 {
		t.Fatalf("%v allocations per request", allocs)
	}
}

// parseAllocs is what parseRequest allocates for raw, buffered, and whether
// it took the request.
func parseAllocs(raw string) (allocs float64, took bool) {
	br := bufio.NewReaderSize(nil, readBufferSize)
	src := strings.NewReader("")
	allocs = testing.AllocsPerRun(100, func() {
		src.Reset(raw)
		br.Reset(src)
		_, _ = br.Peek(1)
		took = parseRequest(br, false) != nil
	})
	return allocs, took
}

// TestParseRequestChunked: aws-lambda-go's POST of every result to the
// Runtime API (chunked, with its declared trailers) is read by the fast path
// in a few allocations; a Transfer-Encoding it does not take is left to
// net/http's reader before anything is allocated for it.
func TestParseRequestChunked(t *testing.T) {
	for _, tc := range []struct {
		name, te string
		took     bool
		max      float64
	}{
		{"canonical", "Transfer-Encoding: chunked", true, 10},
		{"lower case", "transfer-encoding: chunked", true, 10},
		{"gzip", "Transfer-Encoding: gzip", false, 0},
		{"twice", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", false, 0},
	} {
		raw := "POST /2018-06-01/runtime/invocation/1234/response HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n" +
			"User-Agent: aws-lambda-go/go1.26\r\n" + tc.te + "\r\nContent-Type: application/json\r\n" +
			"Trailer: Lambda-Runtime-Function-Error-Body,Lambda-Runtime-Function-Error-Type\r\nAccept-Encoding: gzip\r\n\r\n" +
			"2\r\n{}\r\n0\r\n\r\n"
		allocs, took := parseAllocs(raw)
		if took != tc.took {
			t.Fatalf("%s: fast path took it: %v", tc.name, took)
		}
		if allocs > tc.max {
			t.Errorf("%s: %v allocations, want at most %v", tc.name, allocs, tc.max)
		}
		if took := checkParse(t, []byte(raw)); took != tc.took { // and the same as net/http's reader
			t.Errorf("%s: fast path took it: %v", tc.name, took)
		}
	}
}

// FuzzReadRequest compares h1's request reader (its fast path, then net/http's
// reader) with net/http's on the same bytes.
func FuzzReadRequest(f *testing.F) {
	for _, raw := range parseSeeds {
		f.Add([]byte(raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkParse(t, raw)
	})
}

func TestClBodyErrors(t *testing.T) {
	// The connection ends early: io.ErrUnexpectedEOF, then io.EOF (net/http's body).
	b := &clBody{r: strings.NewReader("ab"), n: 5}
	p := make([]byte, 10)
	var got []string
	for range 4 {
		n, err := b.Read(p)
		got = append(got, fmt.Sprintf("%d %v", n, err))
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if want := "2 <nil>|0 unexpected EOF|0 EOF"; strings.Join(got, "|") != want {
		t.Fatalf("got %q, want %q", strings.Join(got, "|"), want)
	}
}
