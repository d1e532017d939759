package h1

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// BenchmarkServe compares net/http's server with h1 on keep-alive connections
// from a minimal client (so that allocs/op are the server's), with a handler
// like the gateway's MOCK answer: a few headers and a small JSON body.
// h1+names keeps the header names' spellings (Options.WireNames), as the
// gateway's listener does.
func BenchmarkServe(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Requestid", "0e9a8d3c-4f1b-4c2a-9d7e-3f5a6b7c8d9e")
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	for _, engine := range []string{"net-http", "h1", "h1+names"} {
		b.Run(engine, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			if engine != "net-http" {
				s := New(h, Options{WireNames: engine == "h1+names"})
				go func() { _ = s.Serve(ln) }()
				defer func() { _ = s.Close() }()
			} else {
				s := &http.Server{Handler: h}
				go func() { _ = s.Serve(ln) }()
				defer func() { _ = s.Close() }()
			}
			rawLoad(b, ln.Addr().String(), "GET /prod/mock HTTP/1.1\r\nHost: bench\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n", 8)
		})
	}
}

// rawLoad sends b.N copies of req over conc keep-alive connections, each
// waiting for its response (read by Content-Length) before the next.
func rawLoad(b *testing.B, addr, req string, conc int) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer func() { _ = c.Close() }()
			br := bufio.NewReaderSize(c, 8192)
			for next.Add(1) <= int64(b.N) {
				if _, err := io.WriteString(c, req); err != nil {
					errs <- err
					return
				}
				if err := readRawResponse(br); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// cpuTime is the process's user and system CPU time: under a loaded machine
// it holds better than wall time.
func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// readRawResponse reads one response with a Content-Length, allocation-free.
func readRawResponse(br *bufio.Reader) error {
	cl := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				return err
			}
			cl = n
		}
	}
	if cl < 0 {
		return io.ErrUnexpectedEOF
	}
	_, err := br.Discard(cl)
	return err
}

// BenchmarkReadRequest compares the request reader's fast path with
// net/http's reader (what h1 used before it) on a wrk-like request held in
// the read buffer; "+names" keeps the header names' spellings (the request
// spells one name in lower case).
func BenchmarkReadRequest(b *testing.B) {
	raw := "GET /prod/mock HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\nx-api-key: k0123456789012345678901234567890123456789\r\n\r\n"
	for _, engine := range []string{"net-http", "h1", "net-http+names", "h1+names"} {
		b.Run(engine, func(b *testing.B) {
			c := connOn(nil, 0)
			c.s.opts.WireNames = strings.HasSuffix(engine, "+names")
			src := strings.NewReader("")
			b.ReportAllocs()
			cpu0 := cpuTime()
			defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }()
			for b.Loop() {
				src.Reset(raw)
				c.br.Reset(src)
				_, _ = c.br.Peek(1)
				var err error
				if strings.HasPrefix(engine, "h1") {
					_, err = c.readRequest(true)
				} else {
					_, err = c.readRequestStd()
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
