package h1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// namesCases are requests and the spellings WireNames must give for them;
// fast says whether parseRequest takes the request (else net/http's reader
// does).
var namesCases = []struct {
	name string
	raw  string
	want string // the spellings, comma-separated
	fast bool
}{
	{"canonical", "GET /a HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\nX-Api-Key: k\r\n\r\n", "", true},
	{"spelled", "GET /a?q=1 HTTP/1.1\r\nhost: h\r\nx-api-key: k\r\nContent-type: a/b\r\nX-MiXeD: m\r\n\r\n",
		"x-api-key,Content-type,X-MiXeD", true},
	{"first spelling wins", "GET /a HTTP/1.1\r\nHost: h\r\nX-Rep: 1\r\nx-rep: 2\r\nx-Other: 1\r\nX-OTHER: 2\r\nx-other: 3\r\n\r\n",
		"x-Other", true},
	{"pragma adds cache-control", "GET /a HTTP/1.0\r\nConnection: keep-alive\r\npragma: no-cache\r\n\r\n", "pragma", true},
	{"content length", "POST /a HTTP/1.1\r\nHost: h\r\ncontent-length: 3\r\n\r\nabc", "content-length", true},
	{"escaped path", "GET /a%20b HTTP/1.1\r\nHost: h\r\nx-api-key: k\r\nAccept: */*\r\n\r\n", "x-api-key", false},
	{"chunked", "POST /a HTTP/1.1\r\nhost: h\r\nx-api-key: k\r\ntransfer-encoding: chunked\r\n" +
		"trailer: x-t\r\nX-MiXeD: m\r\n\r\n3;ext=1\r\nabc\r\n0\r\nx-t: 1\r\n\r\n", "x-api-key,X-MiXeD", true},
	{"chunked, upper case", "POST /a HTTP/1.1\r\nhost: h\r\nx-api-key: k\r\ntransfer-encoding: Chunked\r\n" +
		"trailer: x-t\r\nX-MiXeD: m\r\n\r\n3;ext=1\r\nabc\r\n0\r\nx-t: 1\r\n\r\n", "x-api-key,X-MiXeD", false},
	{"obs-fold", "GET /a HTTP/1.1\r\nHost: h\r\nx-fold: a\r\n b\r\nX-Fold2: c\r\n\td\r\nx-after: e\r\n\r\n", "x-fold,x-after", false},
	{"bare LF", "GET /a HTTP/1.1\nHost: h\nx-lf: 1\nX-Lf: 2\nx-Two: 3\n\n", "x-lf,x-Two", false},
	{"absolute form", "GET http://h/a HTTP/1.1\r\nHost: h\r\nx-abs: 1\r\n\r\n", "x-abs", false},
	{"head past the read buffer", "GET /a HTTP/1.1\r\nHost: h\r\nx-early: 1\r\nX-Big: " + strings.Repeat("v", 6000) +
		"\r\nx-late: 2\r\n\r\n", "x-early,x-late", false},
	{"many fields", "GET /a HTTP/1.1\r\nHost: h\r\n" + manyFields() + "\r\n", "x-f20,x-f41", false},
}

// manyFields is 60 fields: X-F0..X-F59 canonical except x-f20 and x-f41, each
// repeated later in another spelling (past the fast path's and headNames'
// small bounds).
func manyFields() string {
	var sb strings.Builder
	for i := range 60 {
		name := "X-F" + itoa(i)
		if i == 20 || i == 41 {
			name = strings.ToLower(name)
		}
		sb.WriteString(name + ": 1\r\n")
	}
	for _, n := range []string{"x-f3", "x-f20", "X-F41", "x-f59"} {
		sb.WriteString(n + ": 2\r\n")
	}
	return sb.String()
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// namesHandler answers with the request's spellings, comma-separated.
var namesHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	_, _ = io.WriteString(w, strings.Join(WireNames(r.Context()), ","))
})

// TestWireNames sends every case on its own connection, then all of them
// pipelined in one write on one connection, and checks the spellings the
// handler sees; with the option off there are none.
func TestWireNames(t *testing.T) {
	for _, tc := range namesCases {
		c := connOn([]byte(tc.raw), 64<<10)
		if fast := parseRequest(c.br, true) != nil; fast != tc.fast {
			t.Fatalf("%s: parsed by the fast path: %v, want %v", tc.name, fast, tc.fast)
		}
	}
	addr := startH1(t, namesHandler, Options{WireNames: true, MaxHeaderBytes: 64 << 10})
	off := startH1(t, namesHandler, Options{MaxHeaderBytes: 64 << 10})
	for _, tc := range namesCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := namesExchange(t, addr, tc.raw, 1)[0]; got != tc.want {
				t.Errorf("spellings %q, want %q", got, tc.want)
			}
			if got := namesExchange(t, off, tc.raw, 1)[0]; got != "" {
				t.Errorf("option off: spellings %q", got)
			}
		})
	}
	var all strings.Builder
	for _, tc := range namesCases {
		all.WriteString(tc.raw)
	}
	got := namesExchange(t, addr, all.String(), len(namesCases))
	for i, tc := range namesCases {
		if got[i] != tc.want {
			t.Errorf("pipelined %s: spellings %q, want %q", tc.name, got[i], tc.want)
		}
	}
}

// namesExchange writes raw on a new connection and returns the bodies of n
// responses.
func namesExchange(t *testing.T, addr, raw string, n int) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(time.Minute)) // a safety net, not a timing
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	out := make([]string, n)
	for i := range out {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i+1, err)
		}
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("response %d: %d %q %v", i+1, resp.StatusCode, b, err)
		}
		out[i] = string(b)
	}
	return out
}

// TestWireNamesAllocations: a request whose names are all canonical costs no
// allocation for its spellings, and a spelled one a single allocation.
func TestWireNamesAllocations(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		more float64
	}{
		{"GET /a HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\nX-Api-Key: k\r\n\r\n", 0},
		{"GET /a HTTP/1.1\r\nhost: h\r\nx-api-key: k\r\nuser-agent: u\r\n\r\n", 1},
	} {
		br := bufio.NewReaderSize(nil, readBufferSize)
		allocs := func(names bool) float64 {
			return testing.AllocsPerRun(100, func() {
				br.Reset(strings.NewReader(tc.raw))
				_, _ = br.Peek(1)
				if parseRequest(br, names) == nil {
					t.Fatal("not parsed")
				}
			})
		}
		if off, on := allocs(false), allocs(true); on-off != tc.more {
			t.Errorf("%q: %v allocations with spellings, %v without", tc.raw, on, off)
		}
	}
}

// TestHeadNamesAllocations: picking the names out of a head read by net/http's
// reader allocates the context and the spelled names only (uncommon
// canonical names included).
func TestHeadNamesAllocations(t *testing.T) {
	for _, tc := range []struct {
		head string
		want float64
	}{
		{"GET /a%20 HTTP/1.1\r\nHost: h\r\nX-One: 1\r\nX-Two: 2\r\nX-Three-Long-Name: 3\r\nAccept: a\r\n\r\n", 0},
		{"GET /a%20 HTTP/1.1\r\nHost: h\r\nX-One: 1\r\nx-two: 2\r\nX-Three-Long-Name: 3\r\naccept: a\r\n\r\n", 3},
	} {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(tc.head)))
		if err != nil {
			t.Fatal(err)
		}
		head := []byte(tc.head)
		if got := testing.AllocsPerRun(100, func() { headNames(head, req.Header) }); got != tc.want {
			t.Errorf("%q: %v allocations, want %v", tc.head, got, tc.want)
		}
	}
}
