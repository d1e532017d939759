package h2

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// FuzzFrames feeds a connection the preface and then arbitrary bytes (the
// seeds are valid frame sequences). Once the server has read them all (or
// given up on them), the server is closed. Whatever the bytes, the server
// must not panic or deadlock: Close returns, the connection's goroutine ends
// and so does every handler; and what the server wrote must parse as HTTP/2
// frames.
func FuzzFrames(f *testing.F) {
	for _, seed := range frameSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var live liveHandlers
		srv := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			live.add(1)
			defer live.add(-1)
			fuzzHandler(w, r)
		}), Options{MaxConcurrentStreams: 3, MaxHeaderBytes: 512})
		c := newScriptConn(append([]byte(http2.ClientPreface), in...))
		served := make(chan struct{})
		go func() {
			defer close(served)
			srv.ServeConn(c)
		}()
		select {
		case <-c.drained:
		case <-served:
		case <-time.After(guard):
			t.Fatalf("the server neither read all of its input nor ended within %v", guard)
		}
		closed := make(chan error, 1)
		go func() { closed <- srv.Close() }()
		recv(t, closed, "Close's return")
		recv(t, served, "ServeConn's return")
		recv(t, live.none(), "the handlers' return")
		c.checkOutput(t)
	})
}

// scriptConn is a server's side of a connection whose client sent in and then
// waits: reads past in block until the connection closes (or the server shuts
// its writing side, as before it lingers on a failed connection); what the
// server writes is kept, or, with stall, never taken (writes block until the
// connection closes).
type scriptConn struct {
	mu      sync.Mutex
	cond    sync.Cond
	in      []byte
	out     bytes.Buffer
	over    bool // out grew too large to keep
	closed  bool
	wclosed bool
	drained chan struct{} // closed when the server reads past in
	once    sync.Once

	stall   bool
	stalled chan struct{} // closed when a write blocks
	sonce   sync.Once
}

func newScriptConn(in []byte) *scriptConn {
	c := &scriptConn{in: in, drained: make(chan struct{}), stalled: make(chan struct{})}
	c.cond.L = &c.mu
	return c
}

func (c *scriptConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.in) > 0 && !c.closed {
		n := copy(p, c.in)
		c.in = c.in[n:]
		return n, nil
	}
	c.once.Do(func() { close(c.drained) })
	for !c.closed && !c.wclosed {
		c.cond.Wait()
	}
	return 0, io.EOF
}

func (c *scriptConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stall {
		c.sonce.Do(func() { close(c.stalled) })
		for !c.closed {
			c.cond.Wait()
		}
	}
	if c.closed || c.wclosed {
		return 0, net.ErrClosed
	}
	if c.out.Len()+len(p) > 8<<20 {
		c.over = true
	}
	if !c.over {
		c.out.Write(p)
	}
	return len(p), nil
}

func (c *scriptConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.cond.Broadcast()
	return nil
}

// CloseWrite is what the server calls before it lingers on a connection it
// is done with.
func (c *scriptConn) CloseWrite() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wclosed = true
	c.cond.Broadcast()
	return nil
}

func (c *scriptConn) LocalAddr() net.Addr                { return fuzzAddr{} }
func (c *scriptConn) RemoteAddr() net.Addr               { return fuzzAddr{} }
func (c *scriptConn) SetDeadline(t time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(t time.Time) error { return nil }

// checkOutput checks that what the server wrote parses as HTTP/2: a SETTINGS
// frame first, then well-formed frames and header blocks, and no HEADERS or
// DATA on a stream after the server ended or reset it.
func (c *scriptConn) checkOutput(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.over || c.out.Len() == 0 {
		return
	}
	fr := http2.NewFramer(io.Discard, bytes.NewReader(c.out.Bytes()))
	fr.SetMaxReadFrameSize(1<<24 - 1)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	done := map[uint32]string{} // streams ended or reset, and how
	for i := 0; ; i++ {
		f, err := fr.ReadFrame()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("frame %d the server wrote: %v (%v)", i, err, fr.ErrorDetail())
		}
		if _, ok := f.(*http2.SettingsFrame); i == 0 && !ok {
			t.Fatalf("the server's first frame is %v, not SETTINGS", f.Header().Type)
		}
		id := f.Header().StreamID
		switch f := f.(type) {
		case *http2.MetaHeadersFrame, *http2.DataFrame:
			if how, ok := done[id]; ok {
				t.Fatalf("frame %d the server wrote: %v on stream %d after %s", i, f.Header().Type, id, how)
			}
			if f.Header().Flags.Has(http2.FlagDataEndStream) { // HEADERS' END_STREAM too
				done[id] = "END_STREAM"
			}
		case *http2.RSTStreamFrame:
			done[id] = "RST_STREAM"
		}
	}
}

type fuzzAddr struct{}

func (fuzzAddr) Network() string { return "fuzz" }
func (fuzzAddr) String() string  { return "fuzz:1" }

// liveHandlers counts the handlers running.
type liveHandlers struct {
	mu   sync.Mutex
	n    int
	cond *sync.Cond
}

func (l *liveHandlers) add(d int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n += d
	if l.cond != nil {
		l.cond.Broadcast()
	}
}

// none is closed when no handler runs.
func (l *liveHandlers) none() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.cond == nil {
			l.cond = sync.NewCond(&l.mu)
		}
		for l.n > 0 {
			l.cond.Wait()
		}
		close(ch)
	}()
	return ch
}

func fuzzHandler(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/echo":
		_, _ = io.Copy(w, r.Body)
	case "/big":
		_, _ = w.Write(make([]byte, 100<<10))
	case "/trailer":
		w.Header().Set("Trailer", "X-Sum")
		n, _ := io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, strings.Repeat("t", int(n%5000)))
		w.Header().Set("X-Sum", "1")
	case "/flush":
		_, _ = io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, "second")
	case "/panic":
		panic(http.ErrAbortHandler)
	default:
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}
}

// frameSeeds are valid frame sequences: requests with and without bodies,
// CONTINUATION, padding, trailers, flow control, resets, priorities, a
// header list over the limit, more streams than allowed, GOAWAY.
func frameSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	var buf, hbuf bytes.Buffer
	fr := http2.NewFramer(&buf, nil)
	enc := hpack.NewEncoder(&hbuf)
	block := func(method, path string, fields ...string) []byte {
		hbuf.Reset()
		all := append([]string{":method", method, ":scheme", "https", ":authority", "localhost", ":path", path}, fields...)
		for i := 0; i+1 < len(all); i += 2 {
			_ = enc.WriteField(hpack.HeaderField{Name: all[i], Value: all[i+1]})
		}
		return bytes.Clone(hbuf.Bytes())
	}
	check := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	seed := func(write func()) {
		buf.Reset()
		hbuf.Reset()
		enc = hpack.NewEncoder(&hbuf)
		check(fr.WriteSettings())
		write()
		seeds = append(seeds, bytes.Clone(buf.Bytes()))
	}
	headers := func(id uint32, end bool, b []byte) {
		check(fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b, EndStream: end, EndHeaders: true}))
	}

	seed(func() {
		headers(1, true, block("GET", "/"))
	})
	seed(func() {
		check(fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10}, http2.Setting{ID: http2.SettingMaxFrameSize, Val: 16384}))
		headers(1, false, block("POST", "/echo", "content-length", "5"))
		check(fr.WriteData(1, false, []byte("hello")))
		check(fr.WriteData(1, true, nil))
		check(fr.WriteWindowUpdate(0, 1000))
		check(fr.WriteWindowUpdate(1, 100))
		check(fr.WritePing(false, [8]byte{1}))
	})
	seed(func() {
		b := block("GET", "/big", "accept", "*/*")
		check(fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:4], EndStream: true}))
		check(fr.WriteContinuation(1, true, b[4:]))
		check(fr.WriteRSTStream(1, http2.ErrCodeCancel))
		check(fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block("GET", "/flush"), EndStream: true, EndHeaders: true,
			Priority: http2.PriorityParam{StreamDep: 1, Weight: 10}}))
		check(fr.WritePriority(5, http2.PriorityParam{StreamDep: 3, Weight: 200, Exclusive: true}))
		check(fr.WriteGoAway(0, http2.ErrCodeNo, nil))
	})
	seed(func() {
		check(fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block("POST", "/trailer", "trailer", "x-check"),
			EndHeaders: true, PadLength: 7}))
		check(fr.WriteDataPadded(1, false, []byte("body"), make([]byte, 9)))
		headers(1, true, func() []byte {
			hbuf.Reset()
			_ = enc.WriteField(hpack.HeaderField{Name: "x-check", Value: "ok"})
			return bytes.Clone(hbuf.Bytes())
		}())
		check(fr.WriteSettingsAck())
	})
	seed(func() {
		for id := uint32(1); id <= 11; id += 2 {
			path := "/"
			if id == 5 {
				path = "/panic"
			}
			headers(id, id%4 == 1, block("GET", path))
			if id%3 == 0 {
				check(fr.WriteRSTStream(id, http2.ErrCodeCancel))
			}
		}
		check(fr.WriteData(7, true, []byte("late")))
	})
	seed(func() {
		headers(1, true, block("GET", "/", "x-big", strings.Repeat("b", 200), "x-big2", strings.Repeat("c", 200)))
		headers(3, true, block("GET", "/"))
	})
	return seeds
}
