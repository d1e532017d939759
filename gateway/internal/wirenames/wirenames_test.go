package wirenames

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// drain pops the blocks queued so far, as name lists (test only).
func (rec *headerRecorder) drain() [][]string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out [][]string
	for ; rec.pending > 0; rec.pending-- {
		b := &rec.queue[rec.head]
		rec.head = (rec.head + 1) % maxPendingBlocks
		rec.bytes -= len(b.names)
		var names []string
		for i := range b.ends {
			names = append(names, string(b.name(i)))
		}
		out = append(out, names)
	}
	return out
}

// scanChunks feeds the chunks to a new recorder, draining after each, and
// returns every block in order.
func scanChunks(chunks ...[]byte) ([][]string, *headerRecorder) {
	rec := newHeaderRecorder(64 << 10)
	var out [][]string
	for _, c := range chunks {
		rec.feed(c)
		out = append(out, rec.drain()...)
	}
	return out, rec
}

// pipelinedRequests is requests on one keep-alive connection whose bodies look like
// requests and headers, with the header blocks net/http sees (OPTIONS * is
// answered by net/http itself; the bytes after an upgrade are not HTTP).
var pipelinedRequests = []struct {
	raw   string
	names []string // nil: no block
}{
	{
		withLength("POST /a HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\n", "GET /evil HTTP/1.1\r\nX-Evil: 1\r\nContent-Length: 0\r\n\r\n\r\n\r\n"),
		[]string{"Host", "x-api-key", "Content-Length"},
	},
	{
		// Up to 4 CR/LF after a POST are skipped by net/http.
		"\r\nPOST /b HTTP/1.1\r\nhost: x\r\nTransfer-Encoding: chunked\r\nContent-type: a/b\r\nTrailer: X-T\r\n\r\n" +
			chunk("\r\nGET / HTTP/1.1\r\nA: b\r\n\r\n", `;name="v"`) +
			"A \t\r\n0\r\n\r\nPUT /\r\n" +
			"0\r\nX-T: v\r\nX-U: w\r\n\r\n",
		[]string{"host", "Transfer-Encoding", "Content-type", "Trailer"},
	},
	{
		"GET /c HTTP/1.1\r\nHost: x\r\nX-MiXeD: 1\r\nx-a: 1\r\nX-A: 2\r\nX-Long: a\r\n b\r\n\r\n",
		[]string{"Host", "X-MiXeD", "x-a", "X-A", "X-Long"},
	},
	{
		// HTTP/1.0 ignores Transfer-Encoding: the body is 5 bytes.
		"PUT /d HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n0\r\n\r\n",
		[]string{"Transfer-Encoding", "Content-Length", "Connection"},
	},
	{"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", nil},
	{"GET /e HTTP/1.1\nHost: x\nlower-case: 1\nContent-Length: 3\n\nGET", []string{"Host", "lower-case", "Content-Length"}},
	{
		"GET /f HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\n\r\n" +
			"0000000000000004\r\n\r\n\r\n\r\n" + "0\r\n\r\n",
		[]string{"Host", "Transfer-Encoding"},
	},
	{
		"GET /ws HTTP/1.1\r\nHost: x\r\nupgrade: websocket\r\nConnection: Upgrade\r\nsec-websocket-key: k\r\n\r\n" +
			"\x81\x85GET / HTTP/1.1\r\nX-Not: 1\r\n\r\n",
		[]string{"Host", "upgrade", "Connection", "sec-websocket-key"},
	},
}

// withLength is a request with a Content-Length body.
func withLength(head, body string) string {
	return fmt.Sprintf("%sContent-Length: %d\r\n\r\n%s", head, len(body), body)
}

// chunk is one chunk of a chunked body, with an extension.
func chunk(data, ext string) string {
	return fmt.Sprintf("%x%s\r\n%s\r\n", len(data), ext, data)
}

func withWire(t *testing.T, w Names) context.Context {
	return context.WithValue(t.Context(), wireNamesKey{}, w)
}

func pipelineBytes() ([]byte, [][]string) {
	var raw []byte
	var want [][]string
	for _, p := range pipelinedRequests {
		raw = append(raw, p.raw...)
		if p.names != nil {
			want = append(want, p.names)
		}
	}
	return raw, want
}

// TestPipelineIsWhatNetHTTPSees checks the test data: net/http parses the same
// header blocks from the same bytes.
func TestPipelineIsWhatNetHTTPSees(t *testing.T) {
	raw, want := pipelineBytes()
	got := goBlocks(t, raw)
	if len(got) != len(want) {
		t.Fatalf("net/http parsed %d requests, want %d", len(got), len(want))
	}
	for i, req := range got {
		var names []string
		for k := range req.Header {
			names = append(names, k)
		}
		b := blockOf(want[i])
		if _, ok := b.spellings(req.Header); !ok {
			t.Errorf("request %d: net/http header %v disagrees with %v", i, names, want[i])
		}
	}
}

func blockOf(names []string) *headerBlock {
	b := &headerBlock{}
	for _, n := range names {
		b.add([]byte(n))
	}
	return b
}

// goBlocks parses raw as net/http's server does, request after request, until an
// error, an upgrade or the end; it leaves out OPTIONS *.
func goBlocks(t testing.TB, raw []byte) []*http.Request {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(raw))
	var out []*http.Request
	lastPost := false
	for {
		if lastPost {
			peek, _ := br.Peek(4)
			_, _ = br.Discard(numLeadingCRorLF(peek))
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			return out
		}
		lastPost = req.Method == http.MethodPost
		if req.Method != http.MethodOptions || req.RequestURI != "*" {
			out = append(out, req)
		}
		if req.Method == http.MethodConnect || req.Header.Get("Upgrade") != "" {
			return out
		}
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return out
		}
	}
}

func TestHeaderScannerAtEveryBoundary(t *testing.T) {
	raw, want := pipelineBytes()
	check := func(how string, got [][]string) {
		t.Helper()
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("%s: got %q\nwant %q", how, got, want)
		}
	}
	for i := 0; i <= len(raw); i++ {
		got, _ := scanChunks(raw[:i], raw[i:])
		check(fmt.Sprintf("split at %d", i), got)
	}
	var bytewise [][]byte
	for i := range raw {
		bytewise = append(bytewise, raw[i:i+1])
	}
	got, rec := scanChunks(bytewise...)
	check("byte by byte", got)
	if !rec.off.Load() {
		t.Errorf("the scanner goes on after an upgrade")
	}
	// Three-way splits around every position inside the chunked request.
	start := len(pipelinedRequests[0].raw)
	end := start + len(pipelinedRequests[1].raw)
	for i := start; i < end; i++ {
		for j := i; j < end; j += 3 {
			got, _ := scanChunks(raw[:i], raw[i:j], raw[j:])
			check("three-way split", got)
		}
	}
}

func TestHeaderScannerStops(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		want int // blocks
	}{
		{"http2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0},
		{"garbage", "\x16\x03\x01\x02\x00\x01\r\n\x00\x01\xfc\x03\x03", 0},
		{"two transfer encodings", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", 0},
		{"gzip", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0},
		{"bad length", "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", 0},
		{"two lengths", "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 0},
		{"folded length", "POST / HTTP/1.1\r\nContent-Length: 5\r\n 6\r\n\r\n", 0},
		{"bare LF in chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", 1},
		{"space before extension", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1 ;a\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", 1},
		{"no CRLF after chunk", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", 1},
		{"CONNECT", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\nGET / HTTP/1.1\r\n\r\n", 1},
		{"no colon", "GET / HTTP/1.1\r\nHost x\r\n\r\n", 0},
		{"huge header", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 70<<10) + "\r\n\r\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, rec := scanChunks([]byte(tc.raw))
			if len(got) != tc.want || !rec.off.Load() {
				t.Fatalf("blocks %q, off %v; want %d blocks and off", got, rec.off.Load(), tc.want)
			}
		})
	}
}

func TestHeaderRecorderBounds(t *testing.T) {
	rec := newHeaderRecorder(64 << 10)
	rec.feed([]byte(strings.Repeat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", maxPendingBlocks+1)))
	h := http.Header{}
	if w := rec.take(h); w != nil || !rec.disabled {
		t.Fatalf("after overflowing the queue: %v, disabled %v", w, rec.disabled)
	}
	// Taking without a block means the two are out of step.
	rec = newHeaderRecorder(64 << 10)
	if rec.take(h); !rec.disabled {
		t.Fatal("a request without a block does not disable")
	}
}

func TestSpellings(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		want Names
		ok   bool
	}{
		{"canonical", "GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: a\r\n\r\n", nil, true},
		{"spelled", "GET / HTTP/1.1\r\nhost: x\r\nx-api-key: k\r\nContent-type: a/b\r\n\r\n",
			Names{"x-api-key", "Content-type"}, true},
		{"first spelling wins", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\nx-b: 1\r\nX-B: 2\r\n\r\n", Names{"x-b"}, true},
		{"pragma", "GET / HTTP/1.1\r\nHost: x\r\npragma: no-cache\r\n\r\n", Names{"pragma"}, true},
		{"chunked", "POST / HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\ntrailer: x-t\r\n\r\n0\r\n\r\n", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blocks, _ := scanChunks([]byte(tc.raw))
			reqs := goBlocks(t, []byte(tc.raw))
			if len(blocks) != 1 || len(reqs) != 1 {
				t.Fatalf("%d blocks, %d requests", len(blocks), len(reqs))
			}
			w, ok := blockOf(blocks[0]).spellings(reqs[0].Header)
			if ok != tc.ok || !slices.Equal(w, tc.want) {
				t.Fatalf("spellings %v %v, want %v %v", w, ok, tc.want, tc.ok)
			}
			r := reqs[0].WithContext(t.Context())
			if len(w) > 0 {
				r = reqs[0].WithContext(withWire(t, w))
			}
			for _, n := range tc.want {
				canonical := http.CanonicalHeaderKey(n)
				if got := HeaderName(r, canonical); got != n {
					t.Errorf("HeaderName(%q) = %q, want %q", canonical, got, n)
				}
			}
			if got := HeaderName(r, "Not-Sent"); got != "Not-Sent" {
				t.Errorf("headerWireName of an unsent header = %q", got)
			}
		})
	}
	// A block that is not the request's.
	if _, ok := blockOf([]string{"Host", "X-A"}).spellings(http.Header{"X-B": nil}); ok {
		t.Error("a different set of names agrees")
	}
	if _, ok := blockOf([]string{"Host", "X-A"}).spellings(http.Header{"X-A": nil, "X-B": nil}); ok {
		t.Error("a missing name agrees")
	}
}

func TestIsCanonicalName(t *testing.T) {
	for _, n := range []string{"X-Api-Key", "x-api-key", "Content-type", "X-MiXeD", "A", "a", "X--Y", "1-a", "X_y", "x y", "Ünï", "-A", ""} {
		if got, want := isCanonicalName([]byte(n)), http.CanonicalHeaderKey(n) == n; got != want {
			t.Errorf("isCanonicalName(%q) = %v, want %v", n, got, want)
		}
	}
}

// FuzzHeaderScanner feeds arbitrary bytes in arbitrary pieces: the scanner must
// not panic, must find the same blocks whatever the pieces, and every block it
// finds must agree with the request net/http parses from the same bytes.
func FuzzHeaderScanner(f *testing.F) {
	raw, _ := pipelineBytes()
	f.Add(raw, uint64(0))
	f.Add(raw, uint64(0x123456789abcdef))
	for _, p := range pipelinedRequests {
		f.Add([]byte(p.raw), uint64(7))
	}
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nGET /\r\n0\r\nA:b\r\n\r\nGET / HTTP/1.1\r\nb: 1\r\n\r\n"), uint64(3))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		var bytewise [][]byte
		for i := range data {
			bytewise = append(bytewise, data[i:i+1])
		}
		whole, _ := scanChunks(bytewise...)
		var pieces [][]byte
		for rest := data; len(rest) > 0; {
			n := int(seed%7) + 1
			seed = seed/7 + seed*31 + 1
			n = min(n, len(rest))
			pieces = append(pieces, rest[:n])
			rest = rest[n:]
		}
		split, _ := scanChunks(pieces...)
		if !slices.EqualFunc(whole, split, slices.Equal) {
			t.Fatalf("byte by byte %q, in pieces %q", whole, split)
		}
		reqs := goBlocks(t, data)
		for i := 0; i < len(whole) && i < len(reqs); i++ {
			if _, ok := blockOf(whole[i]).spellings(reqs[i].Header); !ok {
				t.Fatalf("block %d %q disagrees with net/http's %v", i, whole[i], reqs[i].Header)
			}
		}
	})
}

// numLeadingCRorLF counts the CR and LF bytes at the start of v, as net/http's
// server does after a POST.
func numLeadingCRorLF(v []byte) int {
	n := 0
	for n < len(v) && (v[n] == '\r' || v[n] == '\n') {
		n++
	}
	return n
}

// BenchmarkHeaderRecorder measures one request through a connection's recorder:
// scanning its header block, skipping its body and taking its spellings.
func BenchmarkHeaderRecorder(b *testing.B) {
	raw := []byte(withLength("POST /abc/dev/items/42 HTTP/1.1\r\nhost: api.example.com\r\nuser-agent: bench/1.0\r\n"+
		"accept: */*\r\ncontent-type: application/json\r\nx-api-key: 0123456789abcdef\r\nx-amzn-trace-id: Root=1-2-3\r\n"+
		"accept-encoding: gzip, deflate\r\nconnection: keep-alive\r\n", `{"hello":"world","n":[1,2,3]}`))
	reqs := goBlocks(b, raw)
	if len(reqs) != 1 {
		b.Fatal("bad request")
	}
	h := reqs[0].Header
	rec := newHeaderRecorder(64 << 10)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		rec.feed(raw)
		if w := rec.take(h); len(w) != 7 {
			b.Fatalf("spellings %v", w)
		}
	}
}
