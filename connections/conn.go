package connections

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gorilla/websocket"
	"golang.org/x/net/http/httpguts"
	"golang.org/x/time/rate"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/connset"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/internal/idlepoll"
	"github.com/portico-dev/portico/internal/ids"
	"github.com/portico-dev/portico/internal/netaddr"
	"github.com/portico-dev/portico/internal/rawquery"
)

// requestTimeLayout is API Gateway's requestTime format: "20/Jan/2024:11:55:00 +0000".
const requestTimeLayout = "02/Jan/2006:15:04:05 -0700"

// closeGrace is how long a closing connection waits for the client's close frame.
const closeGrace = time.Second

// Conn is one live WebSocket connection. Its methods are safe for concurrent use.
//
// An idle connection holds no goroutine and no buffer: on Linux a process-wide
// epoll poller (poller_linux.go) starts a short-lived reader when its socket
// has bytes (TLS connections, whose bytes only crypto/tls can read, keep a
// reader goroutine each); a writer goroutine runs only while messages are
// queued, borrowing a pooled write buffer.
type Conn struct {
	m  *Manager
	d  Dispatcher
	nc net.Conn // the upgraded connection; nil when the upgrade failed
	// ctx is the upgrade request's context without its cancellation: messages
	// and $disconnect are dispatched with it.
	ctx context.Context

	// writeMu serialises writing frames; closeSent is set once a close frame
	// went. unsent is the rest of a frame that a non-blocking write could not
	// write whole: whatever writes next writes it first.
	writeMu   sync.Mutex
	closeSent bool
	unsent    []byte
	// readMu serialises feeding rd: the poller arms a socket again only after
	// its bytes were read, and the mutex tells the race detector so.
	readMu sync.Mutex
	rd     frameReader
	// raw is the socket of a plain (not TLS) connection, set before ready is
	// closed: the poller reads it, and send writes to it without waiting.
	// tlsRaw is the socket under a TLS connection, which the poller watches
	// for readiness only: nc reads and writes it.
	raw    syscall.RawConn
	tlsRaw syscall.RawConn
	waiter atomic.Pointer[idlepoll.Waiter] // set when the poller watches the socket

	id         string
	apiID      string
	stage      string
	domainName string
	sourceIP   string
	userAgent  string
	authorizer any
	verify     func() bool // Endpoint.Verify
	// routes are the routes the connection was last served by: when its stage
	// is deleted under it, its $disconnect still runs on them.
	routes atomic.Pointer[Routes]

	connectedAt time.Time
	deadline    time.Time // connectedAt + MaxLifetime

	lastInbound atomic.Int64 // unix nanos of the last message or ping from the client
	lastActive  atomic.Int64 // unix nanos of the last message in either direction
	lastPing    atomic.Int64
	lastPong    atomic.Int64
	// lastDone is when the last of the client's messages in flight finished
	// (unix nanos): a connection whose messages are in flight is not idle.
	lastDone atomic.Int64
	// parked is set while the reader waits for an in-flight slot (past
	// MaxInFlight): the client's frames, pongs too, then wait unread in the
	// socket. resumed is when the reader last stopped waiting (unix nanos). A
	// ping unanswered while reads were held back is not the client's fault.
	parked   atomic.Bool
	resumed  atomic.Int64
	limiter  *rate.Limiter // made at the first message (a new one is full)
	inflight chan struct{}

	// slot is the connection's counts of Endpoint.Conns and Endpoint.PerIP
	// (nil: none), given back when it closes (releaseSlot).
	slot atomic.Pointer[slot]

	mu          sync.Mutex
	queue       []outMsg
	queuedBytes int
	writing     bool
	closed      bool // no more sends
	closeCode   int  // the server's close code, once it decided to close
	closeReason string
	// afterSends is a close to start once what is being sent has been
	// (closeAfterSends).
	afterSends *closeRequest
	// stopPing and stopLimits cancel the keepalive timer and the idle and
	// lifetime timer, both on the manager's clock.
	stopPing, stopLimits func() bool
	ended                bool          // end ran
	finished             chan struct{} // closed when reading ended
	// ready is closed once the upgrade finished: nc is set, or nil when the
	// upgrade failed. The connection is registered before the upgrade (so that it
	// is known to @connections as soon as the client sees the handshake); whatever
	// touches nc from another goroutine waits for ready first.
	ready chan struct{}
}

// closeRequest is a close code and reason.
type closeRequest struct {
	code   int
	reason string
}

type outMsg struct {
	typ  int
	data []byte
}

func messageType(data []byte) int {
	if utf8.Valid(data) {
		return websocket.TextMessage
	}
	return websocket.BinaryMessage
}

// ServeWebSocket serves a WebSocket upgrade request for ep: it runs the $connect
// route (when the stage has one) before the handshake completes, refuses the
// handshake with the route's status when it is not 2xx, and otherwise upgrades,
// registers the connection and reads it in its own goroutine. It writes every
// response itself.
func (m *Manager) ServeWebSocket(w http.ResponseWriter, r *http.Request, ep Endpoint, d Dispatcher) {
	if !checkHandshake(w, r) {
		return
	}
	m.mu.RLock()
	stopping := m.stopping
	m.mu.RUnlock()
	if stopping {
		writeJSONError(w, http.StatusServiceUnavailable, "ServiceUnavailableException", "Service Unavailable")
		return
	}
	// held is the counts taken of ep.Conns and ep.PerIP: the connection's
	// once it is registered (add), given back here on every way out before
	// that.
	var held *slot
	if ep.Conns != nil || ep.PerIP != nil {
		held = &slot{}
		defer func() {
			if held != nil {
				held.release()
			}
		}()
	}
	if ep.Conns != nil {
		if !ep.Conns.AcquireUpgrade() {
			m.refuseFull(w, ep)
			return
		}
		held.conns = ep.Conns
	}
	if ep.PerIP != nil {
		ip := peerAddr(r)
		if !ep.PerIP.AdmitUpgrade(ip) {
			m.refuseClient(w, ep, ip)
			return
		}
		held.perIP, held.ip = ep.PerIP, ip
	}
	ctx := r.Context()
	routes, err := d.Routes(ctx, ep.APIID, ep.Stage)
	if err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			writeJSONError(w, http.StatusForbidden, "ForbiddenException", "Forbidden")
			return
		}
		m.log.Error("websocket upgrade: loading routes failed", "api", ep.APIID, "stage", ep.Stage, "err", err)
		writeJSONError(w, http.StatusInternalServerError, "InternalServerErrorException", "Internal server error")
		return
	}
	// A raw ';' separates parameters as '&' does, as the gateway reads REST
	// and HTTP queries (and API Gateway splits the data at it); a query that
	// does not decode (`?a=%zz`) is refused as they refuse it, not passed
	// on without the pairs that do not.
	query, err := url.ParseQuery(rawquery.AmpersandSeparated(r.URL.RawQuery))
	if err != nil {
		m.log.Debug("websocket upgrade: bad query string: handshake refused", "api", ep.APIID, "stage", ep.Stage, "err", err)
		writeJSONError(w, http.StatusBadRequest, "BadRequestException", "Bad Request")
		return
	}
	now := m.now()
	c := &Conn{
		m: m, d: d,
		id: ids.URLSafe(connectionIDBytes), apiID: ep.APIID, stage: ep.Stage, domainName: ep.DomainName,
		sourceIP: cmp.Or(ep.SourceIP, remoteIP(r)), userAgent: r.UserAgent(),
		connectedAt: now, deadline: now.Add(m.cfg.MaxLifetime), verify: ep.Verify,
		inflight: make(chan struct{}, m.cfg.MaxInFlight),
		finished: make(chan struct{}),
		ready:    make(chan struct{}),
	}
	c.lastInbound.Store(now.UnixNano())
	c.lastActive.Store(now.UnixNano())
	c.routes.Store(routes)

	var respHeader http.Header
	if routes.Has(RouteConnect) {
		ev := c.event(EventConnect, RouteConnect, ep.RequestID, now, routes.StageVariables)
		ev.RequestContext.ExtendedRequestID = ep.ExtendedRequestID
		addHandshake(ev, r, query)
		resp, err := d.Dispatch(ctx, ev)
		if err != nil {
			m.log.Warn("$connect failed: handshake refused", "api", ep.APIID, "stage", ep.Stage, "connectionId", c.id, "err", err)
			if errors.Is(err, errdefs.ErrTimeout) {
				writeJSONError(w, http.StatusGatewayTimeout, "IntegrationTimeoutException", timedOut)
				return
			}
			writeJSONError(w, http.StatusInternalServerError, "InternalServerErrorException", "Internal server error")
			return
		}
		if resp != nil {
			if resp.StatusCode < 200 || resp.StatusCode > 299 {
				refuse(w, resp)
				return
			}
			c.authorizer = resp.Authorizer
			respHeader = resp.header(func(k string) bool {
				switch k {
				case "Sec-Websocket-Extensions", "Content-Type", "Connection", "Upgrade", "Sec-Websocket-Accept":
					return false
				}
				return true
			})
		}
	}

	if !m.add(c) {
		close(c.ready)
		writeJSONError(w, http.StatusServiceUnavailable, "ServiceUnavailableException", "Service Unavailable")
		c.runDisconnect(context.WithoutCancel(ctx), websocket.CloseGoingAway, "Server shutting down")
		return
	}
	c.slot.Store(held) // given back by end or abandon
	upgrading := held
	held = nil
	if c.verify != nil && !c.verify() {
		// The configuration changed while $connect ran, and a Reverify may
		// have looked before the connection was registered.
		c.abandon()
		writeJSONError(w, http.StatusForbidden, "ForbiddenException", "Forbidden")
		c.runDisconnect(context.WithoutCancel(ctx), websocket.ClosePolicyViolation, "refused: the connection is no longer verified")
		return
	}
	fw := &hijackWrapper{ResponseWriter: w}
	if upgrading != nil {
		// The upgrade's double count ends as the listener gives the HTTP
		// connection's count back: later would let others in past the
		// bounds meanwhile.
		fw.hijacked = upgrading.settle
	}
	// The library does the handshake; frames are read by rd and written by
	// writeFrame, so its connection object is dropped at once.
	_, err = m.upgrader.Upgrade(fw, r, respHeader)
	if err != nil {
		// The upgrader has answered the client already.
		m.log.Debug("websocket upgrade failed", "api", ep.APIID, "stage", ep.Stage, "err", err)
		c.abandon()
		c.runDisconnect(context.WithoutCancel(ctx), websocket.CloseAbnormalClosure, "handshake failed")
		return
	}
	c.nc, c.ctx = fw.nc, ep.Context
	if sc, ok := c.nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	} else {
		c.tlsRaw = socketUnder(c.nc)
	}
	if c.ctx == nil {
		c.ctx = context.WithoutCancel(ctx)
	}
	c.rd = frameReader{maxFrame: m.cfg.MaxFrameBytes, maxMessage: m.cfg.MaxMessageBytes}
	c.mu.Lock()
	c.stopPing = m.clock.AfterFunc(m.cfg.PingInterval, c.keepalive)
	c.stopLimits = m.clock.AfterFunc(c.limitAt(now).Sub(now), c.checkLimits)
	aborted := c.closed && c.closeCode == 0 && c.afterSends == nil
	c.mu.Unlock()
	close(c.ready)
	if aborted { // aborted during the upgrade
		c.end(websocket.CloseAbnormalClosure, "")
		return
	}
	if len(fw.pre) > 0 { // frames sent right behind the upgrade request
		c.readMu.Lock()
		err := c.rd.feed(fw.pre, c)
		c.readMu.Unlock()
		if err != nil {
			c.readEnded(err)
			return
		}
	}
	// The handler returns: net/http's per-request buffers are released.
	c.watch()
}

// checkHandshake checks the whole of a WebSocket opening handshake (RFC 6455
// 4.2.1), what the upgrader would refuse, before $connect runs: it answers a
// handshake that is not one and returns false.
func checkHandshake(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	switch {
	case !websocket.IsWebSocketUpgrade(r):
		h.Set("Upgrade", "websocket")
		writeJSONError(w, http.StatusUpgradeRequired, "UpgradeRequired", "Upgrade Required")
	case !r.ProtoAtLeast(1, 1):
		writeJSONError(w, http.StatusBadRequest, "BadRequestException",
			"Bad Request: a WebSocket handshake needs HTTP/1.1 or later, not "+r.Proto)
	case r.Method != http.MethodGet:
		writeJSONError(w, http.StatusBadRequest, "BadRequestException",
			"Bad Request: a WebSocket handshake is a GET request, not "+r.Method)
	case r.ContentLength != 0 || len(r.TransferEncoding) > 0:
		// An opening handshake carries no content. Its body would stay in the
		// connection's buffer and be read as frames after the switch: a
		// message that a proxy framing the request never saw as one. The
		// connection is closed, not drained, as for any framing doubt.
		h.Set("Connection", "close")
		writeJSONError(w, http.StatusBadRequest, "BadRequestException",
			"Bad Request: a WebSocket handshake has no body (Content-Length or Transfer-Encoding)")
	case len(r.Header["Sec-Websocket-Key"]) > 1:
		// RFC 6455 11.3.1 and 11.3.5: these fields appear once at most; with
		// two, which one the Accept answers is a guess.
		writeJSONError(w, http.StatusBadRequest, "BadRequestException",
			"Bad Request: send Sec-WebSocket-Key once (RFC 6455 11.3.1), not "+strconv.Itoa(len(r.Header["Sec-Websocket-Key"]))+" times")
	case len(r.Header["Sec-Websocket-Version"]) > 1:
		writeJSONError(w, http.StatusBadRequest, "BadRequestException",
			"Bad Request: send Sec-WebSocket-Version once (RFC 6455 11.3.5), not "+strconv.Itoa(len(r.Header["Sec-Websocket-Version"]))+" times: Sec-WebSocket-Version: 13")
	case r.Header.Get("Sec-Websocket-Version") != "13":
		// RFC 6455 4.2.2: the versions the server speaks.
		h.Set("Sec-WebSocket-Version", "13")
		writeJSONError(w, http.StatusUpgradeRequired, "UpgradeRequired",
			"Upgrade Required: the WebSocket version served is 13 (Sec-WebSocket-Version: 13)")
	case !validChallengeKey(r.Header.Get("Sec-Websocket-Key")):
		writeJSONError(w, http.StatusBadRequest, "BadRequestException",
			"Bad Request: Sec-WebSocket-Key must be the base64 encoding of 16 random bytes")
	default:
		return true
	}
	return false
}

// validChallengeKey reports whether key is the base64 encoding of 16 bytes
// (RFC 6455 4.1), as the upgrader requires.
func validChallengeKey(key string) bool {
	b, err := base64.StdEncoding.DecodeString(key)
	return err == nil && len(b) == 16
}

// refuse answers a handshake that $connect refused, with its status and body;
// a status that is no final HTTP status (1xx, or beyond 599) with 500: a 1xx
// would not end the answer (a 101 without the handshake's headers, a 100
// with the next answer still to come).
func refuse(w http.ResponseWriter, resp *Response) {
	status := resp.StatusCode
	if status < 200 || status > 599 {
		status = http.StatusInternalServerError
	}
	maps.Copy(w.Header(), resp.header(func(string) bool { return true }))
	if len(resp.Body) == 0 {
		writeJSONError(w, status, "", http.StatusText(status))
		return
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(status)
	_, _ = w.Write(resp.Body)
}

// header is the response's headers and multi-value headers merged, the
// multi-value ones winning for the same name (case-insensitively), without
// the framing headers (framingHeader) and those keep rejects (it is given
// canonical names); nil when none is left.
func (resp *Response) header(keep func(canonical string) bool) http.Header {
	var h http.Header
	add := func(k string, vs []string) {
		// A name no field may have (CR, LF, space, ...) would split the
		// head: gorilla's Upgrader writes names as they are.
		if !httpguts.ValidHeaderFieldName(k) {
			return
		}
		k = http.CanonicalHeaderKey(k)
		if framingHeader(k) || !keep(k) {
			return
		}
		if h == nil {
			h = http.Header{}
		}
		for i, v := range vs {
			vs[i] = h1.FieldValue(v)
		}
		h[k] = vs
	}
	for k, v := range resp.Headers {
		add(k, []string{v})
	}
	for k, vs := range resp.MultiValueHeaders {
		if len(vs) > 0 {
			add(k, slices.Clone(vs))
		}
	}
	return h
}

// framingHeader reports whether a header field a $connect returned describes
// HTTP's framing of the answer, which Portico decides (RFC 9112: a 101 has no
// Transfer-Encoding; a refusal's length is its body's).
func framingHeader(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Transfer-Encoding", "Content-Length", "Te", "Trailer", "Keep-Alive", "Proxy-Connection":
		return true
	}
	return false
}

// writeJSONError writes API Gateway's error shape {"message": "..."}.
func writeJSONError(w http.ResponseWriter, status int, typ, message string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if typ != "" {
		h.Set("x-amzn-ErrorType", typ)
	}
	body, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{message}) // a struct of one string always marshals
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return netaddr.Unmapped(host)
}

// addHandshake adds the upgrade request's headers and query string q (its
// parameters) to the $connect event, as API Gateway passes them.
func addHandshake(ev *events.APIGatewayWebsocketProxyRequest, r *http.Request, q url.Values) {
	h := r.Header.Clone()
	h.Set("Host", r.Host)
	ip := remoteIP(r)
	h.Set("X-Forwarded-For", netaddr.ForwardedFor(h.Values("X-Forwarded-For"), ip))
	// Always the gateway's own, whatever the client sent, as API Gateway and
	// the REST/HTTP events (gateway forwardedHeaders) set them: a $connect
	// function or authorizer that refuses plain ws:// by X-Forwarded-Proto
	// must not be fooled by a client's header.
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	h.Set("X-Forwarded-Proto", proto)
	h.Set("X-Forwarded-Port", netaddr.ForwardedPort(r))
	ev.Headers = make(map[string]string, len(h))
	ev.MultiValueHeaders = make(map[string][]string, len(h))
	for k, vs := range h {
		ev.Headers[k] = vs[len(vs)-1]
		ev.MultiValueHeaders[k] = vs
	}
	if len(q) > 0 {
		ev.QueryStringParameters = make(map[string]string, len(q))
		ev.MultiValueQueryStringParameters = make(map[string][]string, len(q))
		for k, vs := range q {
			ev.QueryStringParameters[k] = vs[len(vs)-1]
			ev.MultiValueQueryStringParameters[k] = vs
		}
	}
}

// event builds the event of one call, with the fields every event type has.
func (c *Conn) event(eventType, routeKey, requestID string, now time.Time, stageVars map[string]string) *events.APIGatewayWebsocketProxyRequest {
	ev := &events.APIGatewayWebsocketProxyRequest{
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			RouteKey:          routeKey,
			EventType:         eventType,
			ExtendedRequestID: requestID,
			RequestTime:       now.UTC().Format(requestTimeLayout),
			MessageDirection:  "IN",
			Stage:             c.stage,
			ConnectedAt:       c.connectedAt.UnixMilli(),
			RequestTimeEpoch:  now.UnixMilli(),
			Identity:          events.APIGatewayRequestIdentity{SourceIP: c.sourceIP, UserAgent: c.userAgent},
			RequestID:         requestID,
			DomainName:        c.domainName,
			ConnectionID:      c.id,
			APIID:             c.apiID,
			AccountID:         functions.AccountID,
			Authorizer:        c.authorizer,
		},
	}
	if len(stageVars) > 0 {
		ev.StageVariables = stageVars
	}
	return ev
}

func (c *Conn) info() Info {
	return Info{
		ConnectionID: c.id, APIID: c.apiID, Stage: c.stage,
		ConnectedAt:  c.connectedAt.UTC(),
		LastActiveAt: time.Unix(0, c.lastActive.Load()).UTC(),
		SourceIP:     c.sourceIP, UserAgent: c.userAgent,
	}
}

// ID returns the connection id.
func (c *Conn) ID() string { return c.id }

func (c *Conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// limitAt is when the connection reaches its idle timeout or its lifetime,
// whichever comes first. It is idle from the later of the client's last
// message or ping and the end of its last message's dispatch; while any of its
// messages is in flight (or the reader waits for a slot, the server's
// backpressure) it is not idle at all, so the earliest it can be is now plus
// the idle timeout.
func (c *Conn) limitAt(now time.Time) time.Time {
	from := max(c.lastInbound.Load(), c.lastDone.Load())
	if len(c.inflight) > 0 || c.parked.Load() {
		from = max(from, now.UnixNano())
	}
	idle := time.Unix(0, from).Add(c.m.cfg.IdleTimeout)
	if idle.Before(c.deadline) {
		return idle
	}
	return c.deadline
}

// checkLimits runs on the limits timer: it closes a connection past its lifetime
// or idle since the idle timeout with 1001, else sets the timer again for the
// new limit (the client spoke in between).
func (c *Conn) checkLimits() {
	now := c.m.now()
	at := c.limitAt(now)
	if now.Before(at) {
		c.mu.Lock()
		if !c.closed {
			c.stopLimits = c.m.clock.AfterFunc(at.Sub(now), c.checkLimits)
		}
		c.mu.Unlock()
		return
	}
	reason := "Idle timeout"
	if !now.Before(c.deadline) {
		reason = "Connection lifetime exceeded"
	}
	c.closeWith(websocket.CloseGoingAway, reason)
}

// ping answers a client's ping (frameHandler).
func (c *Conn) ping(data []byte) {
	c.lastInbound.Store(c.m.now().UnixNano())
	err := c.writeFrame(websocket.PongMessage, data, c.m.cfg.WriteTimeout)
	var ne net.Error
	if err != nil && !errors.Is(err, websocket.ErrCloseSent) && (!errors.As(err, &ne) || !ne.Timeout()) {
		c.abort()
	}
}

// pong notes a client's pong (frameHandler).
func (c *Conn) pong([]byte) {
	c.lastPong.Store(c.m.now().UnixNano())
}

// keepalive runs on the keepalive timer: it closes a connection that answered
// nothing since the last ping, else pings it again. While the reader waits for
// an in-flight slot, or once it resumed after the last ping, the answer may be
// unread in the socket: that connection is pinged again, not closed.
func (c *Conn) keepalive() {
	if c.isClosed() {
		return
	}
	last := c.lastPing.Load()
	if last != 0 && c.lastPong.Load() < last && c.lastInbound.Load() < last &&
		!c.parked.Load() && c.resumed.Load() < last {
		c.closeWith(websocket.CloseGoingAway, "Keepalive timeout: no pong")
		return
	}
	c.lastPing.Store(c.m.now().UnixNano())
	if err := c.writeFrame(websocket.PingMessage, nil, c.m.cfg.WriteTimeout); err != nil {
		c.abortWrite(err)
		return
	}
	c.mu.Lock()
	if !c.closed {
		c.stopPing = c.m.clock.AfterFunc(c.m.cfg.PingInterval, c.keepalive)
	}
	c.mu.Unlock()
}

// send writes a message or queues it; it never waits for the client. When
// nothing is being written to the connection, the caller's goroutine writes the
// frame at once with one non-blocking system call (writeNow); what the socket
// does not take then, and every message sent while another is being written,
// goes to the connection's queue, which a writer goroutine drains in order.
func (c *Conn) send(typ int, data []byte) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return goneError(c.id)
	}
	if !c.writing {
		// This goroutine is the writer until it says otherwise: messages sent
		// meanwhile are queued behind this one.
		c.writing = true
		c.mu.Unlock()
		switch c.writeNow(typ, data) {
		case wroteAll:
			c.lastActive.Store(c.m.now().UnixNano())
			c.mu.Lock()
			if len(c.queue) == 0 {
				c.writing = false
				c.closeIfSentLocked() // unlocks
				return nil
			}
			c.mu.Unlock()
			go c.writeLoop()
			return nil
		case wrotePart: // the rest is c.unsent, which the writer writes first
			go c.writeLoop()
			return nil
		case writeFailed:
			c.abort()
			c.mu.Lock()
			c.queue, c.queuedBytes, c.writing = nil, 0, false
			c.mu.Unlock()
			return goneError(c.id)
		}
		// wroteNone: the socket is full or busy; queue the message and start
		// the writer (this goroutine still holds the writing role).
		c.mu.Lock()
		return c.enqueue(typ, data, true)
	}
	return c.enqueue(typ, data, false)
}

// enqueue queues a message, with c.mu held (it releases it), and closes the
// connection when its queue is full. writer says that the caller holds the
// writing role: it then starts the writer, or gives the role up on failure.
func (c *Conn) enqueue(typ int, data []byte, writer bool) error {
	if c.closed || !c.fits(data) {
		full := !c.closed
		var after *closeRequest
		if writer {
			// Nothing is being written any more: a close waiting for
			// that (closeAfterSends) starts.
			c.writing = false
			after, c.afterSends = c.afterSends, nil
		}
		c.mu.Unlock()
		if full {
			c.overflow()
		}
		if after != nil {
			c.closeWith(after.code, after.reason)
		}
		return goneError(c.id)
	}
	c.queue = append(c.queue, outMsg{typ: typ, data: data})
	c.queuedBytes += len(data)
	c.mu.Unlock()
	if writer {
		go c.writeLoop()
	}
	return nil
}

// fits reports whether the queue has room for data (c.mu held).
func (c *Conn) fits(data []byte) bool {
	return len(c.queue) < c.m.cfg.SendQueueMessages && c.queuedBytes+len(data) <= c.m.cfg.SendQueueBytes
}

// overflow closes a connection whose client does not read its messages.
func (c *Conn) overflow() {
	c.m.log.Warn("websocket send queue overflow: closing the connection", "connectionId", c.id, "api", c.apiID, "stage", c.stage)
	c.closeWith(websocket.ClosePolicyViolation, "Send queue overflow: the client is not reading its messages")
}

// What writeNow did with a frame.
const (
	wroteNone   = iota // nothing: the socket is full, or another write holds it
	wroteAll           // the whole frame
	wrotePart          // its beginning; the rest is in c.unsent
	writeFailed        // the socket is broken
)

// writeNow writes one frame to a plain connection's socket without waiting:
// one write system call in the caller's goroutine, with a pooled buffer and
// no deadline (it cannot block). It does nothing (wroteNone) when the
// connection is not ready, is TLS, already sent its close frame, has another
// write in progress (a control frame, or the writer waiting on a slow client),
// or its socket buffer is full.
func (c *Conn) writeNow(typ int, data []byte) int {
	select {
	case <-c.ready:
	default:
		return wroteNone
	}
	if c.raw == nil || !c.writeMu.TryLock() {
		return wroteNone
	}
	defer c.writeMu.Unlock()
	if c.closeSent || c.unsent != nil {
		return wroteNone
	}
	w := frameWriters.Get().(*frameWriter)
	defer w.release()
	w.buf = appendFrame(w.buf[:0], typ, data)
	n, err := w.writeTo(c.raw)
	switch {
	case err == nil && n == len(w.buf):
		return wroteAll
	case err == nil && n > 0:
		c.unsent = append([]byte(nil), w.buf[n:]...)
		return wrotePart
	case err == nil, errors.Is(err, errWouldBlock), errors.Is(err, os.ErrDeadlineExceeded):
		return wroteNone
	default:
		c.m.log.Debug("websocket write failed", "connectionId", c.id, "err", err)
		return writeFailed
	}
}

// errWouldBlock is a full socket buffer (EAGAIN) to writeNow.
var errWouldBlock = errors.New("the socket's buffer is full")

// frameWriter holds the buffer one non-blocking write encodes its frame into,
// and the function RawConn.Write calls with the socket; pooled, so that a send
// allocates nothing.
type frameWriter struct {
	buf   []byte
	n     int
	err   error
	write func(fd uintptr) bool
}

var frameWriters = sync.Pool{New: func() any {
	w := &frameWriter{}
	w.write = w.writeFD
	return w
}}

// maxPooledFrame bounds the buffers kept in frameWriters.
const maxPooledFrame = 64 << 10

func (w *frameWriter) release() {
	if cap(w.buf) > maxPooledFrame {
		w.buf = nil
	}
	w.err = nil
	frameWriters.Put(w)
}

// writeTo writes w.buf to the socket with one system call, never waiting for
// it to be writable; it returns how much the socket took.
func (w *frameWriter) writeTo(raw syscall.RawConn) (int, error) {
	w.n, w.err = 0, nil
	if err := raw.Write(w.write); err != nil {
		return 0, err
	}
	return max(w.n, 0), w.err
}

// appendFrame appends an unfragmented, unmasked frame (RFC 6455 section 5.2).
func appendFrame(dst []byte, op int, data []byte) []byte {
	return append(appendFrameHeader(dst, op, len(data)), data...)
}

// appendFrameHeader appends the header of a server's frame of n bytes.
func appendFrameHeader(dst []byte, op, n int) []byte {
	b0 := 0x80 | byte(op)
	switch {
	case n < 126:
		return append(dst, b0, byte(n))
	case n < 1<<16:
		return binary.BigEndian.AppendUint16(append(dst, b0, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, b0, 127), uint64(n))
	}
}

// writeLoop writes queued messages until the queue is empty, then ends.
func (c *Conn) writeLoop() {
	<-c.ready
	if c.nc == nil {
		c.mu.Lock()
		c.queue, c.queuedBytes, c.writing = nil, 0, false
		c.mu.Unlock()
		return
	}
	if err := c.flushUnsent(); err != nil {
		c.writeFailed(err)
		return
	}
	for {
		c.mu.Lock()
		if len(c.queue) == 0 || c.closeCode != 0 {
			c.queue, c.queuedBytes, c.writing = nil, 0, false
			c.closeIfSentLocked() // unlocks
			return
		}
		msg := c.queue[0]
		c.queue[0] = outMsg{}
		c.queue = c.queue[1:]
		c.queuedBytes -= len(msg.data)
		c.mu.Unlock()
		if err := c.writeFrame(msg.typ, msg.data, c.m.cfg.WriteTimeout); err != nil {
			c.writeFailed(err)
			return
		}
		c.lastActive.Store(c.m.now().UnixNano())
	}
}

// abortWrite ends the connection after a write to it failed. A write that
// timed out (the client read nothing for write-timeout while its socket's
// buffers were full) is logged at WARN, and $disconnect gets the reason, as
// for a send queue's overflow; another failure (the client gone) is the
// abnormal closure it looks like.
func (c *Conn) abortWrite(err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.m.log.Warn("websocket write timed out: closing the connection (the client did not read what it was sent within write-timeout)",
			"connectionId", c.id, "api", c.apiID, "stage", c.stage, "writeTimeout", c.m.cfg.WriteTimeout)
		c.abortWith("Write timeout: the client did not read within " + c.m.cfg.WriteTimeout.String())
		return
	}
	c.m.log.Debug("websocket write failed", "connectionId", c.id, "err", err)
	c.abort()
}

// writeFailed ends writeLoop after a failed write: the connection is aborted and
// what was queued is dropped.
func (c *Conn) writeFailed(err error) {
	c.abortWrite(err)
	c.mu.Lock()
	c.queue, c.queuedBytes, c.writing = nil, 0, false
	c.mu.Unlock()
}

// closeWith starts the server's close of the connection: no more sends, a close
// frame with code and reason, and a short wait for the client's answer. It never
// blocks the caller; the first close wins.
func (c *Conn) closeWith(code int, reason string) {
	c.mu.Lock()
	if c.closeCode != 0 {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.closeCode, c.closeReason = code, reason
	c.mu.Unlock()
	go func() {
		<-c.ready
		if c.nc == nil {
			return
		}
		// Wait for the client's close frame, briefly; the server's code is
		// reported. The wait starts now: a write in progress to a client that
		// does not read holds the close frame back, and ending unblocks it.
		time.AfterFunc(closeGrace, c.graceOver)
		msg := websocket.FormatCloseMessage(code, reason)
		if err := c.writeFrame(websocket.CloseMessage, msg, closeGrace); err != nil {
			c.abort()
		}
	}()
}

// graceOver ends the wait for the client's close frame after the server's
// (closeWith). Closing the socket now, under bytes a client still sending has
// not had read, makes the kernel answer with a reset, which can overtake the
// close frame and which browsers report as 1006. So, as RFC 6455 7.1.1 asks,
// the server half-closes the connection instead (the end of its stream after
// its close frame: TLS's close_notify and TCP's FIN) and reads on, discarding,
// until the client ends its side (its close frame, or the end of its stream)
// or one more closeGrace passes; what it reads meanwhile is discarded as
// during the grace.
func (c *Conn) graceOver() {
	if c.hasEnded() {
		return
	}
	halfClose(c.nc)
	time.AfterFunc(closeGrace, func() { c.end(0, "") })
}

// halfClose ends the writing side of nc: a TLS connection's close_notify, and
// the FIN of the TCP connection under it (found through NetConn). A connection
// with neither is left as it is.
func halfClose(nc net.Conn) {
	type closeWriter interface{ CloseWrite() error }
	for range 4 {
		if tc, ok := nc.(*tls.Conn); ok {
			_ = tc.CloseWrite()
		} else if cw, ok := nc.(closeWriter); ok {
			_ = cw.CloseWrite()
			return
		}
		u, ok := nc.(interface{ NetConn() net.Conn })
		if !ok {
			return
		}
		nc = u.NetConn()
	}
}

// abort closes the network connection at once and ends the connection.
func (c *Conn) abort() { c.abortWith("") }

// abortWith is abort with the reason $disconnect gets.
func (c *Conn) abortWith(reason string) {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	select {
	case <-c.ready:
		if c.nc != nil {
			c.end(websocket.CloseAbnormalClosure, reason)
		}
	default:
		// Still upgrading: the upgrade path sees closed and ends it.
	}
}

// writeFrame writes one unfragmented frame (RFC 6455 section 5.2; a server's
// frames are not masked) within timeout. Writes are serialised, each one
// system call; after a close frame nothing more is written (ErrCloseSent).
//
// The deadline is cleared afterwards: writeNow's non-blocking writes go
// through the same socket, which refuses every write once a deadline passed.
// The rest of a frame writeNow left (c.unsent) goes first.
func (c *Conn) writeFrame(op int, data []byte, timeout time.Duration) error {
	var hdr [10]byte
	n := len(data)
	hl := len(appendFrameHeader(hdr[:0], op, n))
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.closeSent {
		return websocket.ErrCloseSent
	}
	if op == websocket.CloseMessage {
		c.closeSent = true
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(timeout))
	defer func() { _ = c.nc.SetWriteDeadline(time.Time{}) }()
	var err error
	switch {
	case c.unsent != nil:
		bufs := net.Buffers{c.unsent, hdr[:hl], data}
		c.unsent = nil
		_, err = bufs.WriteTo(c.nc)
	case n <= 4096:
		_, err = c.nc.Write(append(append(make([]byte, 0, hl+n), hdr[:hl]...), data...))
	default:
		bufs := net.Buffers{hdr[:hl], data} // writev on a socket
		_, err = bufs.WriteTo(c.nc)
	}
	return err
}

// flushUnsent writes the rest of a frame writeNow left, within the write
// timeout.
func (c *Conn) flushUnsent() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.unsent == nil {
		return nil
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.m.cfg.WriteTimeout))
	defer func() { _ = c.nc.SetWriteDeadline(time.Time{}) }()
	_, err := c.nc.Write(c.unsent)
	c.unsent = nil
	return err
}

// slot is what an upgraded connection counts against: Endpoint.Conns and,
// under its peer address, Endpoint.PerIP (either may be nil).
type slot struct {
	conns *connset.Limit
	perIP *connset.PerIP
	ip    netip.Addr
	// settled is set once the upgrade's double count has ended (settle).
	settled atomic.Bool
}

// settle ends the upgrade's double count (UpgradeDone), once: the HTTP
// connection has been hijacked (and gave its own count back), or the
// handshake is over.
func (s *slot) settle() {
	if !s.settled.CompareAndSwap(false, true) {
		return
	}
	if s.conns != nil {
		s.conns.UpgradeDone()
	}
	s.perIP.UpgradeDone(s.ip)
}

// release gives back the counts s holds.
func (s *slot) release() {
	s.settle()
	if s.conns != nil {
		s.conns.Release()
	}
	s.perIP.Release(s.ip)
}

// releaseSlot gives back the connection's counts of Endpoint.Conns and
// Endpoint.PerIP, once.
func (c *Conn) releaseSlot() {
	if s := c.slot.Swap(nil); s != nil {
		s.release()
	}
}

// peerAddr is the address the upgrade's listener counted its connection
// under (connset.Addr): the peer's IP address, IPv4-mapped ones unmapped;
// the zero Addr when RemoteAddr is not one.
func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// refuseFull answers a handshake that found Endpoint.Conns full (AcquireUpgrade:
// another upgrade at the bound in the same moment): 429 Too Many
// Requests, as API Gateway refuses a handshake past its connection quotas
// (the client may retry later; the server is not failing), and logs the
// refusals once a minute. Idle keep-alive connections are shed to make room,
// as for an HTTP connection refused at the bound.
func (m *Manager) refuseFull(w http.ResponseWriter, ep Endpoint) {
	n := m.refusedFull.Add(1)
	m.refusedLog.Do(func() {
		m.log.Warn("WebSocket handshake refused (429): the public listeners hold as many connections as gateway-max-conns allows, "+
			"WebSocket connections included; closing idle keep-alive connections",
			"api", ep.APIID, "stage", ep.Stage, "max", ep.Conns.Max(), "refusedSoFar", n)
	})
	ep.Conns.Shed(nil)
	writeJSONError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Too Many Requests")
}

// refuseClient answers a handshake from a client address that holds as many
// connections as Endpoint.PerIP allows, its WebSockets included: 429, as
// refuseFull, logged once a minute.
func (m *Manager) refuseClient(w http.ResponseWriter, ep Endpoint, ip netip.Addr) {
	n := m.refusedClient.Add(1)
	m.refusedClientLog.Do(func() {
		m.log.Warn("WebSocket handshake refused (429): the client holds as many connections as gateway-max-conns-per-ip allows, "+
			"WebSocket connections included",
			"api", ep.APIID, "stage", ep.Stage, "client", ip.String(), "max", ep.PerIP.Max(), "refusedSoFar", n)
	})
	writeJSONError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Too Many Requests")
}

// abandon gives up a connection that was registered (Manager.add) but will
// never be upgraded: it is marked closed, whatever waits for ready is let go,
// and it is unregistered and finished without a reader. The caller answers the
// client and runs $disconnect.
func (c *Conn) abandon() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	close(c.ready)
	c.releaseSlot()
	c.m.remove(c)
	c.m.readerDone(c.id)
	close(c.finished)
}

// closeAfterSends is closeWith once what is being sent, or queued to be, has
// been written: no more sends are taken from now on, and the close frame
// follows the last message queued.
func (c *Conn) closeAfterSends(code int, reason string) {
	c.mu.Lock()
	if c.closeCode != 0 || c.afterSends != nil {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.afterSends = &closeRequest{code, reason}
	if c.writing {
		c.mu.Unlock() // the writer closes when it is done
		return
	}
	c.closeIfSentLocked()
}

// closeIfSentLocked starts the close closeAfterSends asked for, if any, now
// that nothing is being written. It is called with c.mu held, and unlocks it.
func (c *Conn) closeIfSentLocked() {
	req := c.afterSends
	c.afterSends = nil
	c.mu.Unlock()
	if req != nil {
		c.closeWith(req.code, req.reason)
	}
}

// waitMessages waits, within ctx, for the messages of c in flight to finish
// (their routes, and the replies they send). The caller has stopped new ones
// (Manager.draining).
func (c *Conn) waitMessages(ctx context.Context) {
	held := 0
	defer func() {
		for range held {
			<-c.inflight
		}
	}()
	for held < cap(c.inflight) {
		select {
		case c.inflight <- struct{}{}:
			held++
		case <-c.finished:
			return
		case <-ctx.Done():
			return
		}
	}
}

// websocket1006 is the close code of a connection that ended without a close
// frame.
const websocket1006 = websocket.CloseAbnormalClosure

func (c *Conn) hasEnded() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended
}

// end finishes the connection, once, whatever ended it (the client's close
// frame, a broken rule, the socket, the close grace): it stops the timers,
// closes the socket, unregisters the connection and runs $disconnect with code
// and reason (the server's own, when it had decided to close).
func (c *Conn) end(code int, reason string) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended, c.closed = true, true
	if c.closeCode != 0 {
		code, reason = c.closeCode, c.closeReason
	}
	c.stopPing()
	c.stopLimits()
	c.mu.Unlock()
	c.unwatch()
	_ = c.nc.Close()
	c.releaseSlot()
	c.m.remove(c)
	close(c.finished)
	go func() {
		defer c.m.readerDone(c.id)
		// Wait for this connection's dispatches so that $disconnect comes last.
		for i := 0; i < cap(c.inflight); i++ {
			c.inflight <- struct{}{}
		}
		c.runDisconnect(c.ctx, code, reason)
	}()
}

// readEnded ends the connection on what ended reading: a *readEnd sends its
// close frame first.
func (c *Conn) readEnded(err error) {
	var re *readEnd
	if !errors.As(err, &re) {
		c.end(websocket1006, "")
		return
	}
	code, reason := re.code, re.reason
	if len(reason) > 100 {
		reason = reason[:100]
	}
	if re.drain != nil {
		// Nothing more is sent while the client's bytes are drained, and
		// $disconnect reports this close, not a send that failed after it.
		c.mu.Lock()
		c.closed = true
		if c.closeCode == 0 {
			c.closeCode, c.closeReason = code, reason
		}
		c.mu.Unlock()
	}
	if re.reply != nil {
		// A write in progress holds the close frame back; ending unblocks it.
		t := time.AfterFunc(closeGrace, func() { c.end(code, reason) })
		_ = c.writeFrame(websocket.CloseMessage, re.reply, closeGrace)
		t.Stop()
	}
	if re.drain != nil && !c.drain(re.drain) && !c.hasEnded() {
		// The client is still sending after closeGrace: half-close and
		// drain once more, as graceOver does, so that closing does not
		// reset the connection under its bytes.
		halfClose(c.nc)
		c.drain(re.drain)
	}
	c.end(code, reason)
}

// maxDrainBytes bounds what a closing connection reads and discards.
const maxDrainBytes = 4 << 20

// drain reads and discards what the client goes on sending after the server's
// close frame, until the client's close frame (RFC 6455 5.5.1), the end of its
// stream, maxDrainBytes or closeGrace, whichever comes first. A client still
// writing a frame the server refused would otherwise find the socket closed
// under unread bytes, which the kernel answers with a reset: browsers then
// report 1006 instead of the server's close code. It runs on the reader's
// goroutine, with a pooled buffer, only while the connection closes. It
// reports whether the client ended its side (its close frame, or the end of
// its stream): false when the grace or the byte bound ran out first.
func (c *Conn) drain(d *drainer) bool {
	if c.hasEnded() {
		return true
	}
	c.unwatch() // read here, not through the poller
	_ = c.nc.SetReadDeadline(time.Now().Add(closeGrace))
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	for total := 0; total < maxDrainBytes; {
		n, err := c.nc.Read(*bp)
		total += n
		if d.feed((*bp)[:n]) {
			return true
		}
		if err != nil {
			var ne net.Error
			return !errors.As(err, &ne) || !ne.Timeout()
		}
	}
	return false
}

// socketUnder returns the socket under a connection that wraps it (a
// *tls.Conn, over rawio's wrapper, over the TCP connection), found through
// their NetConn methods; nil when there is none.
func socketUnder(nc net.Conn) syscall.RawConn {
	for range 4 {
		u, ok := nc.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		nc = u.NetConn()
		if sc, ok := nc.(syscall.Conn); ok {
			if raw, err := sc.SyscallConn(); err == nil {
				return raw
			}
			return nil
		}
	}
	return nil
}

// readBufs are the buffers readers read sockets into, only while reading.
var readBufs = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// readBlocking reads a connection the poller does not watch, in its own
// goroutine, until it ends.
func (c *Conn) readBlocking() {
	buf := make([]byte, c.m.cfg.ReadBufferSize)
	for {
		n, err := c.nc.Read(buf)
		if n > 0 {
			c.readMu.Lock()
			ferr := c.rd.feed(buf[:n], c)
			c.readMu.Unlock()
			if ferr != nil {
				c.readEnded(ferr)
				return
			}
		}
		if err != nil {
			c.end(websocket1006, "")
			return
		}
	}
}

// message routes one message from the client (frameHandler).
func (c *Conn) message(typ int, data []byte) {
	if c.isClosed() {
		return // draining until the client's close frame
	}
	now := c.m.now()
	c.lastInbound.Store(now.UnixNano())
	c.lastActive.Store(now.UnixNano())
	if typ == websocket.TextMessage && !utf8.Valid(data) {
		c.closeWith(websocket.CloseInvalidFramePayloadData, "Invalid UTF-8 in a text frame")
		return
	}
	requestID := ids.Base64(requestIDBytes)
	if c.limiter == nil { // only message, under readMu, touches it
		c.limiter = rate.NewLimiter(rate.Limit(c.m.cfg.MessageRate), c.m.cfg.MessageBurst)
	}
	if !c.limiter.AllowN(now, 1) {
		c.errorFrame("Too Many Requests", requestID)
		return
	}
	if c.m.draining.Load() {
		// The server is stopping: only the messages in flight finish; this
		// one's client hears so before the close (1001) follows.
		c.errorFrame(serviceUnavailable, requestID)
		return
	}
	select {
	case c.inflight <- struct{}{}:
	default:
		// Past MaxInFlight this connection's reading waits: its keepalive and
		// idle timers must not blame the client for it (keepalive, limitAt).
		c.parked.Store(true)
		select {
		case c.inflight <- struct{}{}:
		case <-c.finished:
			c.parked.Store(false)
			return
		}
		c.resumed.Store(c.m.now().UnixNano())
		c.parked.Store(false)
	}
	if c.m.draining.Load() { // the stop began while this waited for a slot
		<-c.inflight
		c.errorFrame(serviceUnavailable, requestID)
		return
	}
	go c.dispatch(c.ctx, data, requestID, now)
}

// dispatch routes one message and runs its route.
func (c *Conn) dispatch(ctx context.Context, data []byte, requestID string, at time.Time) {
	defer func() {
		c.lastDone.Store(c.m.now().UnixNano())
		<-c.inflight
	}()
	routes, err := c.d.Routes(ctx, c.apiID, c.stage)
	if err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			c.closeWith(websocket.CloseGoingAway, "Stage no longer exists")
			return
		}
		c.m.log.Error("websocket message: loading routes failed", "connectionId", c.id, "err", err)
		c.errorFrame("Internal server error", requestID)
		return
	}
	if c.routes.Load() != routes {
		c.routes.Store(routes)
	}
	key := SelectRoute(routes.Selector, data, routes.Has)
	if key == "" {
		c.errorFrame("Forbidden", requestID)
		return
	}
	ev := c.event(EventMessage, key, requestID, at, routes.StageVariables)
	ev.RequestContext.MessageID = ids.Base64(requestIDBytes)
	ev.Body = string(data) // a text message: frameReader refuses binary ones
	var resp *Response
	if rd, ok := c.d.(ReplyDispatcher); ok && routes.Keys[key] {
		r := &Reply{c: c, wake: make(chan struct{}, 1)}
		resp, err = rd.DispatchReply(ctx, ev, r)
		if r.Sent() {
			return
		}
	} else {
		resp, err = c.d.Dispatch(ctx, ev)
	}
	if err != nil {
		c.m.log.Warn("websocket route failed", "connectionId", c.id, "api", c.apiID, "stage", c.stage, "route", key, "err", err)
		if errors.Is(err, errdefs.ErrTimeout) {
			c.errorFrame(timedOut, requestID)
			return
		}
		c.errorFrame("Internal server error", requestID)
		return
	}
	if routes.Keys[key] && resp != nil && resp.Body != nil {
		if len(resp.Body) > c.m.cfg.MaxMessageBytes {
			// Logged before the frame goes out; the size, never the contents.
			c.m.log.Warn("websocket route failed: route response over max-message-bytes", "connectionId", c.id, "api", c.apiID, "stage", c.stage,
				"route", key, "bytes", len(resp.Body), "limit", c.m.cfg.MaxMessageBytes)
			c.errorFrame("Internal server error", requestID)
			return
		}
		if c.send(messageType(resp.Body), resp.Body) == nil {
			c.m.sent(c)
		}
	}
}

// timedOut is API Gateway's message for an integration that outlasted its
// timeout (504 on a $connect, the error frame of a message).
const timedOut = "Endpoint request timed out"

// serviceUnavailable is the error frame's message for a message that arrives
// once a stop has begun (the 503 a handshake gets then).
const serviceUnavailable = "Service Unavailable"

// errorFrame sends API Gateway's error frame, spaced as API Gateway spaces it:
// {"message": "Forbidden", "connectionId":"...", "requestId":"..."}.
func (c *Conn) errorFrame(message, requestID string) {
	frame := `{"message": ` + jsonString(message) + `, "connectionId":` + jsonString(c.id) + `, "requestId":` + jsonString(requestID) + `}`
	_ = c.send(websocket.TextMessage, []byte(frame))
}

// runDisconnect runs $disconnect, best effort.
func (c *Conn) runDisconnect(ctx context.Context, code int, reason string) {
	ctx, cancel := context.WithTimeout(ctx, c.m.cfg.DisconnectTimeout)
	defer cancel()
	routes, err := c.d.Routes(ctx, c.apiID, c.stage)
	if last := c.routes.Load(); errors.Is(err, errdefs.ErrNotFound) && last != nil {
		// The stage (or its API) was deleted: the connection was closed for
		// it, and its $disconnect runs on the routes that served it, as the
		// Dispatcher runs a DISCONNECT of a deleted stage.
		routes, err = last, nil
	}
	if err != nil || !routes.Has(RouteDisconnect) {
		return
	}
	now := c.m.now()
	ev := c.event(EventDisconnect, RouteDisconnect, ids.Base64(requestIDBytes), now, routes.StageVariables)
	ev.Headers = map[string]string{"Host": c.domainName, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
	ev.MultiValueHeaders = map[string][]string{"Host": {c.domainName}, "x-api-key": {""}, "X-Forwarded-For": {""}, "x-restapi": {""}}
	if code == 0 {
		code = websocket.CloseAbnormalClosure
	}
	ev.RequestContext.DisconnectStatusCode = int64(code)
	ev.RequestContext.DisconnectReason = &reason
	// Best effort, but not one try: a throttled call (many clients leaving
	// at once) or one that found no sandbox is tried again, with backoff,
	// until DisconnectTimeout on the manager's clock.
	deadline := now.Add(c.m.cfg.DisconnectTimeout)
	for attempt := 1; ; attempt++ {
		_, err := c.d.Dispatch(ctx, ev)
		if err == nil {
			return
		}
		wait := disconnectBackoff(attempt)
		if !retryable(err) || c.m.now().Add(wait).After(deadline) || !c.m.sleep(ctx, wait) {
			c.m.log.Warn("$disconnect failed", "connectionId", c.id, "api", c.apiID, "stage", c.stage, "attempts", attempt, "err", err)
			return
		}
	}
}

// maxDisconnectBackoff is the longest wait between two tries of $disconnect.
const maxDisconnectBackoff = 2 * time.Second

// disconnectBackoff returns how long to wait after the attempt-th failed try of
// $disconnect: 100 ms doubling up to maxDisconnectBackoff, jittered down by up
// to half so that connections closed together do not retry together.
func disconnectBackoff(attempt int) time.Duration {
	d := maxDisconnectBackoff
	if attempt < 5 {
		d = 100 * time.Millisecond << (attempt - 1)
	}
	return d - rand.N(d/2) //nolint:gosec // G404: a backoff jitter, not a secret
}

// retryable reports whether a failed route invocation may succeed if tried
// again: throttled, or nothing to run it on right now.
func retryable(err error) bool {
	return errors.Is(err, errdefs.ErrThrottled) || errors.Is(err, errdefs.ErrUnavailable)
}
