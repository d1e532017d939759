package h2

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/portico-dev/portico/internal/idlepoll"
)

// conn is one HTTP/2 connection. Its reader goroutine (serve) reads and
// processes every frame; handlers write their own frames.
//
// Locks, in the order they may be taken: mu (streams, windows, the
// connection's state), then wmu (the write buffer, the HPACK encoder, which
// streams have ended on the wire); fmu (flushing) is taken with neither held.
type conn struct {
	srv    *Server
	rwc    net.Conn
	tls    *tls.ConnectionState
	remote string
	ip     netip.Addr // the client address counted for Options.PerIP (zero: none)
	ctx    context.Context
	cancel context.CancelFunc

	br  *bufio.Reader
	fr  *http2.Framer // reading: the reader goroutine only
	hdr *headerDecoder

	wmu      sync.Mutex
	wfr      *http2.Framer // writes into wbuf
	wbuf     []byte
	henc     *hpack.Encoder
	hbuf     bytes.Buffer
	appended atomic.Uint64 // bytes ever appended to wbuf
	maxFrame atomic.Uint32 // the peer's SETTINGS_MAX_FRAME_SIZE

	fmu      sync.Mutex
	flushed  atomic.Uint64 // bytes of appended that were written
	reading  atomic.Bool   // the reader is reading the connection (or about to)
	spare    []byte
	werr     error // the first write error (under fmu)
	deadline time.Time

	mu          sync.Mutex
	cond        sync.Cond // the connection's send window grew, or it closed
	streams     map[uint32]*stream
	open        int // streams not closed: against MaxConcurrentStreams
	running     int // handlers running
	queued      []*stream
	sendWin     int64 // the connection's send window
	recvWin     int64 // what the peer may still send on the connection
	recvUnacked int64 // received bytes consumed and not yet returned
	peerInitWin int64 // the peer's SETTINGS_INITIAL_WINDOW_SIZE
	maxStreamID uint32
	settingsOut int  // our SETTINGS frames not acknowledged yet
	goneAway    bool // GOAWAY sent: no new streams
	shed        bool // taken by ShedIdle (claimIdle): its GOAWAY is on its way
	closed      bool
	resets      [32]uint32 // streams we reset lately: their DATA is ignored
	resetsNext  int
	idleArmed   bool
	idleEnd     time.Time // the idle timeout's deadline, while idleArmed
	blockEnd    time.Time // the deadline of a header block being read (ReadHeaderTimeout)

	// Dormant connections (Options.DormantAfter, dormant_linux.go): phase
	// says what the reader is doing; frames counts the frames read, which
	// the sweep compares with seen, its count from its last look (both under
	// mu for the sweep); waiter is the connection's place in the idle
	// poller while it is dormant (under mu).
	phase  atomic.Int32
	frames atomic.Uint64
	seen   uint64
	noDoze bool // under mu: the connection cannot go dormant
	waiter *idlepoll.Waiter
}

// Reader phases (conn.phase).
const (
	phaseReading int32 = iota // reading or processing frames
	phaseWaiting              // waiting for the first byte of the next frame
	phaseDozing               // told by the sweep to go dormant
	phaseDormant              // no reader: waiting in the idle poller
	phaseClosed               // closed (a dormant connection's awaken must not read it)
)

func newConn(s *Server, rwc net.Conn) *conn {
	c := &conn{srv: s, rwc: rwc, remote: rwc.RemoteAddr().String(),
		streams: map[uint32]*stream{}, sendWin: 65535, recvWin: 65535, peerInitWin: 65535}
	c.cond.L = &c.mu
	ctx := context.WithValue(s.base, http.LocalAddrContextKey, rwc.LocalAddr())
	if s.opts.ConnContext != nil {
		ctx = s.opts.ConnContext(ctx, rwc)
	}
	c.ctx, c.cancel = context.WithCancel(ctx)
	c.br = readerPool.Get().(*bufio.Reader)
	c.br.Reset(flushingReader{c})
	c.fr = newReadFramer(c.br)
	c.hdr = newHeaderDecoder(uint32(s.opts.MaxHeaderBytes))
	c.wfr = http2.NewFramer(appender{c}, nil)
	c.henc = hpack.NewEncoder(&c.hbuf)
	c.maxFrame.Store(16384)
	return c
}

// readerPool holds connections' read buffers: 4 KB, which an awake idle
// connection keeps (16 KB cost 6 KB more per idle connection, measured);
// frames larger than it are read past it. A dormant connection gives its
// buffer back.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}

// newReadFramer returns the framer that reads frames from br.
func newReadFramer(br *bufio.Reader) *http2.Framer {
	fr := http2.NewFramer(nil, br)
	fr.SetMaxReadFrameSize(maxFrameRead)
	return fr
}

// appender is the write framer's writer: frames go to the write buffer.
type appender struct{ c *conn }

func (a appender) Write(p []byte) (int, error) {
	a.c.wbuf = append(a.c.wbuf, p...)
	a.c.appended.Add(uint64(len(p)))
	return len(p), nil
}

// flushingReader reads the connection, first writing what the reader owes
// (acknowledgements, window updates): it runs only when the read buffer is
// empty, so frames read together are answered together.
type flushingReader struct{ c *conn }

func (f flushingReader) Read(p []byte) (int, error) {
	f.c.reading.Store(true)
	if f.c.appended.Load() > f.c.flushed.Load() {
		_ = f.c.flush()
	}
	n, err := f.c.rwc.Read(p)
	f.c.reading.Store(false)
	return n, err
}

// flushEnd flushes at the end of a response, unless the reader is at work:
// it flushes before it next reads the connection, with whatever else was
// appended by then (the responses of requests that arrived together leave in
// one write). The reader sets reading before it looks for bytes to flush, and
// a writer appends before it looks at reading, so one of the two flushes.
func (c *conn) flushEnd() error {
	if c.reading.Load() {
		return c.flush()
	}
	return nil
}

// flush writes everything appended so far (and whatever other writers
// appended before it got the turn); a writer whose bytes went out with
// another's flush returns at once.
func (c *conn) flush() error {
	return c.flushTo(c.appended.Load())
}

func (c *conn) flushTo(seq uint64) error {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	if c.flushed.Load() >= seq {
		return c.werr
	}
	c.wmu.Lock()
	b := c.wbuf
	c.wbuf = c.spare[:0]
	end := c.appended.Load()
	c.wmu.Unlock()
	if c.werr == nil && len(b) > 0 {
		if now := time.Now(); now.Add(c.srv.opts.WriteTimeout / 2).After(c.deadline) {
			c.deadline = now.Add(c.srv.opts.WriteTimeout)
			_ = c.rwc.SetWriteDeadline(c.deadline)
		}
		if _, err := c.rwc.Write(b); err != nil {
			c.werr = err
			go c.close(err)
		}
	}
	if cap(b) <= 16<<10 { // an idle connection keeps no large buffer
		c.spare = b[:0]
	} else {
		c.spare = nil
	}
	c.flushed.Store(end)
	return c.werr
}

// errConnClosed is what a handler's writes return once the connection closed.
var errConnClosed = errors.New("h2: connection closed")

// serve reads the connection until it ends or goes dormant.
func (c *conn) serve() {
	if !c.start() || !c.readFrames() {
		c.close(nil)
	}
}

// start reads the client's preface and first SETTINGS and sends the server's:
// false when the connection is to close.
func (c *conn) start() bool {
	if d := c.srv.opts.ReadHeaderTimeout; d > 0 {
		_ = c.rwc.SetReadDeadline(time.Now().Add(d))
	}
	if tc, ok := c.rwc.(*tls.Conn); ok {
		if err := tc.HandshakeContext(c.ctx); err != nil {
			c.srv.opts.Log.Debug("h2: TLS handshake", "remote", c.remote, "err", err)
			return false
		}
		st := tc.ConnectionState()
		if st.NegotiatedProtocol != http2.NextProtoTLS {
			return false
		}
		c.tls = &st
	}
	var preface [len(http2.ClientPreface)]byte
	if _, err := io.ReadFull(c.br, preface[:]); err != nil || string(preface[:]) != http2.ClientPreface {
		return false
	}
	c.mu.Lock()
	c.settingsOut++
	c.recvWin = connWindow
	c.mu.Unlock()
	c.wmu.Lock()
	_ = c.wfr.WriteSettings(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: c.srv.opts.MaxConcurrentStreams},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: streamWindow},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: uint32(c.srv.opts.MaxHeaderBytes)},
	)
	_ = c.wfr.WriteWindowUpdate(0, connWindow-65535)
	c.wmu.Unlock()
	if c.flush() != nil {
		return false
	}
	f, err := c.fr.ReadFrame()
	if err != nil {
		c.fail(err)
		return false
	}
	if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
		c.goAway(http2.ErrCodeProtocol, true)
		return false
	}
	if err := c.processFrame(f); err != nil {
		c.fail(err)
		return false
	}
	c.mu.Lock()
	if c.srv.opts.IdleTimeout <= 0 {
		// No idle timeout: ReadHeaderTimeout's deadline ends here.
		_ = c.rwc.SetReadDeadline(time.Time{})
	}
	c.armIdle()
	c.mu.Unlock()
	return true
}

// readFrames reads and processes frames until the connection is to close
// (false) or has gone dormant (true: the reader must not touch it again).
// Before it waits for the next frame it says so (phaseWaiting), so that the
// sweep can tell it to go dormant, and takes back the connection after the
// first byte came unless the sweep did.
func (c *conn) readFrames() bool {
	for {
		if c.br.Buffered() == 0 {
			// From reading only: a reader that awaken started is already
			// waiting, and the sweep may have told it to doze since (a
			// Store would undo that, and the sweep's past deadline would
			// then read as the idle timeout's).
			c.phase.CompareAndSwap(phaseReading, phaseWaiting)
			_, err := c.br.Peek(1)
			for err != nil || !c.phase.CompareAndSwap(phaseWaiting, phaseReading) {
				if c.phase.Load() != phaseDozing {
					c.fail(err)
					return false
				}
				var dormant bool
				if dormant, err = c.doze(err); dormant {
					return true
				}
			}
		}
		f, err := c.fr.ReadFrame()
		c.frames.Add(1)
		if err == nil {
			err = c.processFrame(f)
		}
		if err == nil {
			continue
		}
		var se http2.StreamError
		if errors.As(err, &se) {
			c.resetID(se.StreamID, se.Code)
			continue
		}
		c.fail(err)
		return false
	}
}

// fail ends the connection for err: a protocol error is answered with
// GOAWAY, a read timeout on an idle connection with GOAWAY(NO_ERROR).
func (c *conn) fail(err error) {
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &ce):
		c.goAway(http2.ErrCode(ce), true)
	case errors.Is(err, http2.ErrFrameTooLarge):
		c.goAway(http2.ErrCodeFrameSize, true)
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.goAway(http2.ErrCodeNo, true)
	}
}

// armIdle starts the idle timeout (the read deadline) when no stream is
// open; the reader clears it when one opens. Under mu.
func (c *conn) armIdle() {
	if c.open == 0 && !c.idleArmed && c.srv.opts.IdleTimeout > 0 {
		c.idleArmed = true
		c.idleEnd = time.Now().Add(c.srv.opts.IdleTimeout)
		// A header block being read keeps its own deadline when it is the
		// earlier one.
		if c.phase.Load() != phaseDormant && (c.blockEnd.IsZero() || c.idleEnd.Before(c.blockEnd)) {
			_ = c.rwc.SetReadDeadline(c.idleEnd)
		}
	}
}

func (c *conn) processFrame(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.HeadersFrame:
		hb, err := c.readHeaderBlock(f)
		if err != nil {
			return err
		}
		return c.processHeaders(hb)
	case *http2.DataFrame:
		return c.processData(f)
	case *http2.SettingsFrame:
		return c.processSettings(f)
	case *http2.WindowUpdateFrame:
		return c.processWindowUpdate(f)
	case *http2.PingFrame:
		if !f.IsAck() {
			c.wmu.Lock()
			_ = c.wfr.WritePing(true, f.Data)
			c.wmu.Unlock()
		}
		return nil
	case *http2.RSTStreamFrame:
		return c.processReset(f)
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol}
		}
		return nil
	case *http2.GoAwayFrame:
		c.goAway(http2.ErrCodeNo, false)
		return nil
	case *http2.PushPromiseFrame, *http2.ContinuationFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	return nil // unknown frame types are ignored
}

// readHeaderBlock reads the header block f begins. A block that goes on in
// CONTINUATION frames must end within ReadHeaderTimeout, as an HTTP/1.1
// request's header must: the read deadline is that, or the idle timeout's
// when it comes first, until the block is read.
func (c *conn) readHeaderBlock(f *http2.HeadersFrame) (*headerBlock, error) {
	d := c.srv.opts.ReadHeaderTimeout
	if f.HeadersEnded() || d <= 0 {
		return c.hdr.readHeaderBlock(c.fr, f, uint32(c.srv.opts.MaxHeaderBytes))
	}
	c.mu.Lock()
	c.blockEnd = time.Now().Add(d)
	if !c.idleArmed || c.blockEnd.Before(c.idleEnd) {
		_ = c.rwc.SetReadDeadline(c.blockEnd)
	}
	c.mu.Unlock()
	hb, err := c.hdr.readHeaderBlock(c.fr, f, uint32(c.srv.opts.MaxHeaderBytes))
	c.mu.Lock()
	c.blockEnd = time.Time{}
	if c.idleArmed {
		_ = c.rwc.SetReadDeadline(c.idleEnd)
	} else {
		_ = c.rwc.SetReadDeadline(time.Time{})
	}
	c.mu.Unlock()
	return hb, err
}

func (c *conn) processSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.settingsOut == 0 {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		c.settingsOut--
		return nil
	}
	// More entries than any client needs (there are six settings) is an
	// attack, as net/http's server takes it: a 16 KB frame holds 2,730
	// entries, and each INITIAL_WINDOW_SIZE walks every open stream and
	// wakes its writer. (A setting repeated is applied in order, as RFC
	// 9113 §6.5.3 requires and h2spec checks, where net/http refuses it.)
	if f.NumSettings() > maxSettings {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	// The write lock is held until the acknowledgement is appended: a
	// handler that a new window lets write appends its DATA after it (a
	// client that waits for the acknowledgement before the DATA must see
	// them in that order).
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			c.mu.Lock()
			delta := int64(s.Val) - c.peerInitWin
			c.peerInitWin = int64(s.Val)
			for _, st := range c.streams {
				st.sendWin += delta
				if st.sendWin > math.MaxInt32 {
					c.mu.Unlock()
					return http2.ConnectionError(http2.ErrCodeFlowControl)
				}
				st.cond.Broadcast()
			}
			c.mu.Unlock()
		case http2.SettingMaxFrameSize:
			c.maxFrame.Store(s.Val)
		case http2.SettingHeaderTableSize:
			c.henc.SetMaxDynamicTableSizeLimit(s.Val)
		}
		return nil
	}); err != nil {
		return err
	}
	_ = c.wfr.WriteSettingsAck()
	return nil
}

func (c *conn) processWindowUpdate(f *http2.WindowUpdateFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.StreamID == 0 {
		c.sendWin += int64(f.Increment)
		if c.sendWin > math.MaxInt32 {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		c.cond.Broadcast()
		return nil
	}
	st := c.streams[f.StreamID]
	if st == nil {
		if f.StreamID > c.maxStreamID {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		return nil
	}
	st.sendWin += int64(f.Increment)
	if st.sendWin > math.MaxInt32 {
		return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeFlowControl}
	}
	st.cond.Broadcast()
	return nil
}

func (c *conn) processReset(f *http2.RSTStreamFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.StreamID > c.maxStreamID {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	if st := c.streams[f.StreamID]; st != nil {
		c.closeStream(st, errStreamReset)
	} else {
		// A stream the server reset first, which the client now resets
		// too: what it sends on it from here on it sent knowing the stream
		// closed, a stream error STREAM_CLOSED (RFC 9113 5.1), no longer
		// DATA in flight to ignore.
		c.forgetReset(f.StreamID)
	}
	return nil
}

// forgetReset takes id off the streams the server reset lately. Under mu.
func (c *conn) forgetReset(id uint32) {
	for i, r := range c.resets {
		if r == id {
			c.resets[i] = 0
		}
	}
}

// errStreamReset is what a handler reads and writes once the client reset its
// stream.
var errStreamReset = errors.New("h2: stream reset by the client")

func (c *conn) processData(f *http2.DataFrame) error {
	id, n := f.StreamID, int64(f.Length)
	c.mu.Lock()
	if n > c.recvWin {
		c.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	c.recvWin -= n
	st := c.streams[id]
	if st == nil || st.recvClosed {
		if id > c.maxStreamID {
			c.mu.Unlock()
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		// Closed: the connection's window comes back at once.
		c.recvWin += n
		reset := c.resetLately(id)
		c.mu.Unlock()
		c.windowBack(n)
		if reset {
			return nil
		}
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed}
	}
	if n > st.recvWin {
		c.recvWin += n
		c.mu.Unlock()
		c.windowBack(n)
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeFlowControl}
	}
	st.recvWin -= n
	data := f.Data()
	pad := n - int64(len(data))
	st.received += int64(len(data))
	if st.declared >= 0 && (st.received > st.declared || f.StreamEnded() && st.received != st.declared) {
		c.recvWin += n
		c.mu.Unlock()
		c.windowBack(n)
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	if st.bodyClosed {
		// The handler closed the body: what comes is dropped, and its
		// window comes back at once, as padding's does.
		pad = n
	} else if len(data) > 0 {
		st.body = append(st.body, data...)
	}
	if pad > 0 {
		// Padding is not the handler's to read: its window comes back now.
		c.recvWin += pad
		st.recvWin += pad
	}
	if f.StreamEnded() {
		st.recvClosed = true
		st.bodyErr = io.EOF
		if st.sendClosed {
			c.closeStream(st, nil)
		}
	}
	st.cond.Broadcast()
	c.mu.Unlock()
	if pad > 0 {
		c.wmu.Lock()
		_ = c.wfr.WriteWindowUpdate(0, uint32(pad))
		if !f.StreamEnded() {
			_ = c.wfr.WriteWindowUpdate(id, uint32(pad))
		}
		c.wmu.Unlock()
	}
	return nil
}

// windowBack returns n bytes to the client's connection window (the frame
// goes with the next flush).
func (c *conn) windowBack(n int64) {
	if n > 0 {
		c.wmu.Lock()
		_ = c.wfr.WriteWindowUpdate(0, uint32(n))
		c.wmu.Unlock()
	}
}

// resetLately reports whether the server reset stream id lately (DATA the
// client sent before it learnt of that is not an error). Under mu.
func (c *conn) resetLately(id uint32) bool {
	for _, r := range c.resets {
		if r == id {
			return true
		}
	}
	return false
}

func (c *conn) processHeaders(f *headerBlock) error {
	id := f.StreamID
	if id%2 == 0 {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.mu.Lock()
	if st := c.streams[id]; st != nil {
		defer c.mu.Unlock()
		if st.recvClosed {
			return http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed}
		}
		// Trailers.
		if !f.StreamEnded() {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if len(f.PseudoFields()) > 0 || f.Truncated {
			return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
		}
		if st.declared >= 0 && st.received != st.declared {
			return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
		}
		for _, hf := range f.RegularFields() {
			key := http.CanonicalHeaderKey(hf.Name)
			if _, ok := st.trailer[key]; ok {
				st.trailer[key] = append(st.trailer[key], hf.Value)
			}
		}
		st.recvClosed = true
		st.bodyErr = io.EOF
		if st.sendClosed {
			c.closeStream(st, nil)
		}
		st.cond.Broadcast()
		return nil
	}
	if id <= c.maxStreamID {
		c.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeStreamClosed)
	}
	c.maxStreamID = id
	if c.goneAway || c.closed {
		c.mu.Unlock()
		return nil
	}
	if f.HasPriority() && f.Priority.StreamDep == id {
		c.mu.Unlock()
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	if c.open >= int(c.srv.opts.MaxConcurrentStreams) {
		code := http2.ErrCodeProtocol
		if c.settingsOut > 0 {
			code = http2.ErrCodeRefusedStream
		}
		c.mu.Unlock()
		return http2.StreamError{StreamID: id, Code: code}
	}
	c.mu.Unlock()

	st := newStream(c, id)
	r, h, err := c.newRequest(st, f)
	if err != nil {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	st.sendWin = c.peerInitWin
	c.streams[id] = st
	c.open++
	if c.idleArmed {
		c.idleArmed = false
		_ = c.rwc.SetReadDeadline(time.Time{})
	}
	if f.StreamEnded() {
		st.recvClosed = true
		st.bodyErr = io.EOF
	}
	st.req, st.h = r, h
	if c.running >= int(c.srv.opts.MaxConcurrentStreams) {
		// Streams opened and reset at once leave handlers running: those
		// beyond the limit wait their turn, and a client that piles them up
		// is told to calm down.
		if len(c.queued) >= 4*int(c.srv.opts.MaxConcurrentStreams) {
			return http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)
		}
		c.queued = append(c.queued, st)
		return nil
	}
	c.running++
	c.srv.workers.run(st)
	return nil
}

// closeStream ends st (err is what its body reads and writes return from now
// on, nil for a stream that ended both ways). Under mu.
func (c *conn) closeStream(st *stream, err error) {
	if st.closed {
		return
	}
	st.closed = true
	if err != nil {
		st.resetErr = err
		if st.bodyErr == nil || errors.Is(st.bodyErr, io.EOF) && !st.recvClosed {
			st.bodyErr = err
		}
		if st.cancel != nil {
			st.cancel()
		}
	}
	delete(c.streams, st.id)
	c.open--
	st.cond.Broadcast()
	c.cond.Broadcast() // a writer may wait for the connection's window
	c.armIdle()
	c.closeIfDone()
}

// closeIfDone closes a connection that was sent GOAWAY once nothing is left
// to serve. Under mu.
func (c *conn) closeIfDone() {
	if c.goneAway && c.open == 0 && c.running == 0 && !c.closed {
		go func() {
			_ = c.flush()
			c.close(nil)
		}()
	}
}

// resetID resets stream id with code (a stream error the reader found).
func (c *conn) resetID(id uint32, code http2.ErrCode) {
	c.mu.Lock()
	st := c.streams[id]
	if st != nil {
		c.closeStream(st, errStreamError)
	}
	c.resets[c.resetsNext] = id
	c.resetsNext = (c.resetsNext + 1) % len(c.resets)
	c.mu.Unlock()
	c.wmu.Lock()
	if st != nil {
		st.ended = true // its handler's frames must not follow
	}
	_ = c.wfr.WriteRSTStream(id, code)
	c.wmu.Unlock()
}

// errStreamError is what a handler reads and writes once the server reset
// its stream for the client's protocol error.
var errStreamError = errors.New("h2: stream reset for a protocol error")

// reset resets st from its handler's side and writes the frame.
func (c *conn) reset(st *stream, code http2.ErrCode, err error) {
	c.mu.Lock()
	// A stream the client reset itself gets no RST_STREAM from us, and is
	// not one the server reset: what the client sends on it after its own
	// RST_STREAM is a stream error STREAM_CLOSED (RFC 9113 5.1), not DATA
	// in flight to ignore, even when the handler ends (an aborted proxy's
	// panic, say) before the reader comes to that DATA.
	clientReset := st.closed && errors.Is(st.resetErr, errStreamReset)
	c.closeStream(st, err)
	if !clientReset {
		c.resets[c.resetsNext] = st.id
		c.resetsNext = (c.resetsNext + 1) % len(c.resets)
	}
	c.mu.Unlock()
	c.wmu.Lock()
	// NO_ERROR asks the client to stop sending a body, after the whole
	// response (END_STREAM) went out.
	if (!st.ended || code == http2.ErrCodeNo) && !clientReset {
		st.ended = true
		_ = c.wfr.WriteRSTStream(st.id, code)
	}
	c.wmu.Unlock()
	_ = c.flush()
}

// idle reports whether c has no stream open or queued and waits for the next
// frame (or is dormant): a connection ShedIdle may close.
func (c *conn) idle() bool {
	if ph := c.phase.Load(); ph != phaseWaiting && ph != phaseDormant {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.closed && !c.goneAway && c.open == 0 && c.running == 0 && len(c.queued) == 0
}

// claimIdle reports whether c is idle and not yet taken by another shedding,
// and takes it: ShedIdle closes each idle connection for one new one only.
func (c *conn) claimIdle() bool {
	if !c.idle() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shed || c.goneAway || c.closed {
		return false
	}
	c.shed = true
	return true
}

// goAway sends GOAWAY: with fatal the connection then closes (after the
// client had a moment to read it), without it the streams open go on and the
// connection closes when they are done.
func (c *conn) goAway(code http2.ErrCode, fatal bool) {
	c.mu.Lock()
	if c.closed || c.goneAway && !fatal {
		c.mu.Unlock()
		return
	}
	c.goneAway = true
	last := c.maxStreamID
	c.mu.Unlock()
	c.wmu.Lock()
	_ = c.wfr.WriteGoAway(last, code, nil)
	c.wmu.Unlock()
	_ = c.flush()
	if !fatal {
		c.mu.Lock()
		c.closeIfDone()
		c.mu.Unlock()
		return
	}
	// Let the client read the GOAWAY before the connection resets: stop
	// writing, then take what it still sends for up to a second.
	if cw, ok := c.rwc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.rwc.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.Copy(io.Discard, io.LimitReader(c.rwc, 1<<20))
	c.close(nil)
}

// close closes the connection: every stream's reads and writes fail and its
// context ends.
func (c *conn) close(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.phase.Store(phaseClosed) // a dormant connection's awaken must not serve it
	c.unwatch()
	if err == nil {
		err = errConnClosed
	}
	for _, st := range c.streams {
		c.closeStream(st, err)
	}
	for _, st := range c.queued {
		if st.cancel != nil {
			st.cancel()
		}
	}
	c.queued = nil
	c.cond.Broadcast()
	c.mu.Unlock()
	c.cancel()
	_ = c.rwc.Close()
	c.srv.forget(c)
}

// runHandler serves one stream, and the streams queued behind it.
func (c *conn) runHandler(st *stream) {
	for st != nil {
		c.serveStream(st)
		c.mu.Lock()
		unread := c.dropBody(st)
		st = nil
		for len(c.queued) > 0 && st == nil {
			next := c.queued[0]
			c.queued = c.queued[1:]
			if !next.closed {
				st = next
			} else {
				unread += c.dropBody(next)
			}
		}
		if st == nil {
			c.running--
			c.closeIfDone()
		}
		closed := c.closed
		c.mu.Unlock()
		if unread > 0 && !closed {
			c.windowBack(unread)
			_ = c.flushEnd()
		}
	}
}

// dropBody drops what st's body holds once no handler will read it, and
// returns its size to the connection's window (the caller sends the
// WINDOW_UPDATE). Under mu.
func (c *conn) dropBody(st *stream) int64 {
	n := int64(len(st.body))
	st.body = nil
	c.recvWin += n
	return n
}

// testHookStreamDone, set by tests, runs once a stream's handler has returned
// (or panicked) and its finish or reset is done, with the stream's server.
var testHookStreamDone atomic.Pointer[func(s *Server, id uint32)]

func (c *conn) serveStream(st *stream) {
	w := st.writer()
	defer func() {
		if p := recover(); p != nil {
			if err, _ := p.(error); !errors.Is(err, http.ErrAbortHandler) {
				c.srv.opts.Log.Error("h2: handler panic", "remote", c.remote, "uri", st.req.RequestURI, "panic", p)
			}
			c.reset(st, http2.ErrCodeInternal, errConnClosed)
		} else {
			w.finish()
		}
		st.cancel()
		w.release()
		if h := testHookStreamDone.Load(); h != nil {
			(*h)(c.srv, st.id)
		}
	}()
	st.h.ServeHTTP(w, st.req)
}
