// Package connections keeps Portico's live WebSocket connections: it completes
// upgrades after the $connect route agrees, gives each connection an unguessable
// URL-safe id, reads its messages and routes them by the API's route selection
// expression, writes to it through a bounded per-connection queue, enforces the
// limits (frame, message, idle, lifetime, keepalive, message rate), and serves the
// @connections management API through which functions talk back to clients.
//
// The package does not know how routes are run: it declares the small Dispatcher
// it needs, and the gateway, which owns APIs, stages and integrations, provides it
// with each upgrade.
package connections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/clock"
	"github.com/portico-dev/portico/internal/connset"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/routeselect"
	"github.com/portico-dev/portico/internal/shutdown"
	"github.com/portico-dev/portico/internal/signin"
	"github.com/portico-dev/portico/internal/sigv4"
	"github.com/portico-dev/portico/invoker"
)

// Route keys with a meaning of their own (the same strings as gateway/apis uses).
const (
	RouteConnect    = "$connect"
	RouteDisconnect = "$disconnect"
	RouteDefault    = "$default"
)

// Event types of APIGatewayWebsocketProxyRequest.requestContext.eventType.
const (
	EventConnect    = "CONNECT"
	EventMessage    = "MESSAGE"
	EventDisconnect = "DISCONNECT"
)

// Config holds the limits; zero fields take the defaults of DefaultConfig. The
// yaml names are those of the websocket section of portico.yaml.
type Config struct {
	// MaxFrameBytes bounds one WebSocket frame's payload (32 KB, as API Gateway).
	// A larger frame closes the connection with 1009.
	MaxFrameBytes int `yaml:"max-frame-bytes"`
	// MaxMessageBytes bounds a whole message, in either direction (128 KB). A
	// larger incoming message closes the connection with 1009; a larger
	// @connections POST is 413 PayloadTooLargeException.
	MaxMessageBytes int `yaml:"max-message-bytes"`
	// IdleTimeout closes a connection from which nothing (no message, no ping)
	// has arrived for this long (10 min), with 1001. A connection with a
	// message in flight is not idle; the time counts from the end of its last
	// message's dispatch when that is later.
	IdleTimeout time.Duration `yaml:"idle-timeout"`
	// MaxLifetime closes every connection this long after it opened (2 h), with 1001.
	MaxLifetime time.Duration `yaml:"max-lifetime"`
	// PingInterval is how often the server pings each connection (60 s). A
	// connection that has sent neither a pong nor anything else by the next ping
	// is dead and is closed, unless the server held its reads back
	// (MaxInFlight) meanwhile: its answer may be waiting unread.
	PingInterval time.Duration `yaml:"ping-interval"`
	// WriteTimeout bounds one write to a client (10 s); a client that does not
	// read for this long is disconnected.
	WriteTimeout time.Duration `yaml:"write-timeout"`
	// SendQueueMessages and SendQueueBytes bound each connection's queue of
	// outgoing messages (256 messages, 1 MB). Overflow closes that connection with
	// 1008 and a reason that says so; senders are never blocked.
	SendQueueMessages int `yaml:"send-queue-messages"`
	SendQueueBytes    int `yaml:"send-queue-bytes"`
	// MessageRate and MessageBurst throttle the messages one client sends (a token
	// bucket: 100 per second, bursts of 200). A message over the rate is dropped
	// and answered with a "Too Many Requests" error frame; other connections are
	// not affected.
	MessageRate  float64 `yaml:"message-rate"`
	MessageBurst int     `yaml:"message-burst"`
	// MaxInFlight bounds how many of one connection's messages are dispatched at
	// once (8); past it the connection's reads wait, so a flood holds back only
	// its own sender.
	MaxInFlight int `yaml:"max-in-flight"`
	// ReadBufferSize is the read buffer of each connection that has a reader
	// goroutine of its own (TLS connections; 1024 bytes). Plain connections are
	// read by the poller into pooled buffers only while bytes arrive.
	ReadBufferSize int `yaml:"read-buffer-size"`
	// HandshakeTimeout bounds writing the upgrade response (10 s).
	HandshakeTimeout time.Duration `yaml:"handshake-timeout"`
	// DisconnectTimeout bounds the best-effort $disconnect call (30 s).
	DisconnectTimeout time.Duration `yaml:"disconnect-timeout"`
	// AdminToken, when set, is also accepted by the @connections API: as
	// "Authorization: Bearer TOKEN", or as the secret of SigV4 requests signed
	// with access key id "portico".
	AdminToken string `yaml:"-"`
	// SigningMaxSkew bounds the clock difference of SigV4-signed requests (15 min).
	SigningMaxSkew time.Duration `yaml:"signing-max-skew"`
	// CallbackHost is the host (an IP address or name, no port) at which
	// sandboxes reach the gateway; events report it, with the gateway's port, as
	// domainName. Module sets it from the runtime (GatewayHoster, else HostAddr);
	// empty means the address the upgrade arrived on.
	CallbackHost string `yaml:"callback-host"`
	// CredentialTTL is how long the credentials issued to a sandbox stay valid
	// (6 h); the invoker retires a sandbox invoker.CredentialMargin before its
	// credentials expire. Validate refuses one under invoker.MinCredentialTTL.
	CredentialTTL time.Duration `yaml:"credential-ttl"`
	// Journal, when set, is the file in which the live connection set is
	// recorded (journal.go), so that the $disconnect of connections a server
	// left open when it was killed runs when it starts again
	// (DisconnectOrphans). Portico sets it to connections.journal in the data
	// directory.
	Journal string `yaml:"-"`
}

// DefaultConfig returns the defaults (API Gateway's quotas where it has them).
func DefaultConfig() Config {
	return Config{
		MaxFrameBytes:     32 << 10,
		MaxMessageBytes:   128 << 10,
		IdleTimeout:       10 * time.Minute,
		MaxLifetime:       2 * time.Hour,
		PingInterval:      60 * time.Second,
		WriteTimeout:      10 * time.Second,
		SendQueueMessages: 256,
		SendQueueBytes:    1 << 20,
		MessageRate:       100,
		MessageBurst:      200,
		MaxInFlight:       8,
		ReadBufferSize:    1024,
		HandshakeTimeout:  10 * time.Second,
		DisconnectTimeout: 30 * time.Second,
		SigningMaxSkew:    15 * time.Minute,
		CredentialTTL:     6 * time.Hour,
	}
}

// Validate reports settings that cannot work, with what to do about them. Zero
// fields take their defaults and are not errors; negative ones are refused
// (none of these limits has an "off" value: -1 taken as the default was a
// silent surprise, ops23).
func (c Config) Validate() error {
	d := DefaultConfig()
	for _, n := range []struct {
		key      string
		val, def int
	}{
		{"max-frame-bytes", c.MaxFrameBytes, d.MaxFrameBytes},
		{"max-message-bytes", c.MaxMessageBytes, d.MaxMessageBytes},
		{"send-queue-messages", c.SendQueueMessages, d.SendQueueMessages},
		{"send-queue-bytes", c.SendQueueBytes, d.SendQueueBytes},
		{"message-burst", c.MessageBurst, d.MessageBurst},
		{"max-in-flight", c.MaxInFlight, d.MaxInFlight},
		{"read-buffer-size", c.ReadBufferSize, d.ReadBufferSize},
	} {
		if n.val < 0 {
			return fmt.Errorf("%s %d is not taken: give a positive number, or leave it out for the default (%d); it has no \"off\" value", n.key, n.val, n.def)
		}
	}
	for _, t := range []struct {
		key      string
		val, def time.Duration
	}{
		{"idle-timeout", c.IdleTimeout, d.IdleTimeout},
		{"max-lifetime", c.MaxLifetime, d.MaxLifetime},
		{"ping-interval", c.PingInterval, d.PingInterval},
		{"write-timeout", c.WriteTimeout, d.WriteTimeout},
		{"handshake-timeout", c.HandshakeTimeout, d.HandshakeTimeout},
		{"disconnect-timeout", c.DisconnectTimeout, d.DisconnectTimeout},
		{"signing-max-skew", c.SigningMaxSkew, d.SigningMaxSkew},
		{"credential-ttl", c.CredentialTTL, d.CredentialTTL},
	} {
		if t.val < 0 {
			return fmt.Errorf("%s %v is not taken: give a positive duration, or leave it out for the default (%v); it has no \"off\" value", t.key, t.val, t.def)
		}
	}
	if c.MessageRate < 0 {
		return fmt.Errorf("message-rate %v is not taken: give a positive number of messages per second, or leave it out for the default (%v); it has no \"off\" value",
			c.MessageRate, d.MessageRate)
	}
	if c.CredentialTTL > 0 && c.CredentialTTL < invoker.MinCredentialTTL {
		return fmt.Errorf("credential-ttl %v is too short: give at least %v (or leave it out for the default, %v): "+
			"a sandbox is retired %v before its credentials expire, so that no invocation (at most %d s) outlives them, "+
			"and shorter credentials would leave it less than that to serve",
			c.CredentialTTL, invoker.MinCredentialTTL, DefaultConfig().CredentialTTL, invoker.CredentialMargin, functions.MaxTimeout)
	}
	return nil
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setInt := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setDur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	setInt(&c.MaxFrameBytes, d.MaxFrameBytes)
	setInt(&c.MaxMessageBytes, d.MaxMessageBytes)
	setDur(&c.IdleTimeout, d.IdleTimeout)
	setDur(&c.MaxLifetime, d.MaxLifetime)
	setDur(&c.PingInterval, d.PingInterval)
	setDur(&c.WriteTimeout, d.WriteTimeout)
	setInt(&c.SendQueueMessages, d.SendQueueMessages)
	setInt(&c.SendQueueBytes, d.SendQueueBytes)
	if c.MessageRate <= 0 {
		c.MessageRate = d.MessageRate
	}
	setInt(&c.MessageBurst, d.MessageBurst)
	setInt(&c.MaxInFlight, d.MaxInFlight)
	setInt(&c.ReadBufferSize, d.ReadBufferSize)
	if c.ReadBufferSize < 257 {
		c.ReadBufferSize = 257 // the websocket library reuses buffers over 256 bytes
	}
	setDur(&c.HandshakeTimeout, d.HandshakeTimeout)
	setDur(&c.DisconnectTimeout, d.DisconnectTimeout)
	setDur(&c.SigningMaxSkew, d.SigningMaxSkew)
	setDur(&c.CredentialTTL, d.CredentialTTL)
	return c
}

// Endpoint is the WebSocket stage an upgrade request reached, as the gateway
// located it.
type Endpoint struct {
	APIID string
	Stage string
	// DomainName is reported as requestContext.domainName: the host[:port] at
	// which functions reach the gateway, so that "http://" + domainName + "/" +
	// stage is their @connections endpoint.
	DomainName string
	// RequestID and ExtendedRequestID are the upgrade request's ids, used for the
	// $connect event.
	RequestID         string
	ExtendedRequestID string
	// Context, when set, is what the connection's later events (its messages
	// and $disconnect) are dispatched with. Without it they get the upgrade
	// request's context without its cancellation, which keeps whatever the
	// request's context holds alive as long as the connection: a caller that
	// puts the request or per-request state in it should pass a slimmer one.
	Context context.Context
	// SourceIP is the client's address as the gateway decided it (its trusted
	// proxies' X-Forwarded-For); empty means the upgrade's peer address.
	SourceIP string
	// Verify, when set, says whether the connection may stay open as the
	// gateway's configuration is now (a mutual TLS domain's truststore, say):
	// Manager.Reverify asks it of every live connection that has one, and the
	// upgrade asks it once more after registering the connection (403 when it
	// says no), so that an upgrade that raced a Reverify is not missed. It must
	// be safe for concurrent use and not block.
	Verify func() bool
	// Conns, when set, is the bound the upgrade's listener counts its
	// connections against (the gateway's gateway-max-conns): the WebSocket
	// takes a count of its own from the handshake until it closes, as the
	// HTTP connection it upgrades gives its count back when it is hijacked,
	// so that WebSocket connections cannot use up the file descriptors the
	// bound keeps for the admin API and the rest. A handshake that finds it
	// full is refused with 429 (refuseFull) before $connect runs.
	Conns *connset.Limit
	// PerIP, when set, is the bound per client address the upgrade's
	// listener counts its connections against (gateway-max-conns-per-ip),
	// keyed by the upgrade's peer address as the listener keys it: the
	// WebSocket takes a count of its own there too, from the handshake until
	// it closes, so that one client cannot hold more WebSockets than the
	// bound lets it hold connections. A handshake past it is refused with 429
	// before $connect runs (refuseClient).
	PerIP *connset.PerIP
}

// Routes is what the connections package needs to know about the deployment a
// stage currently serves.
type Routes struct {
	// Selector is the API's parsed route selection expression.
	Selector *routeselect.Selector
	// Keys are the route keys that have an integration; the value says whether
	// the route sends its integration's result back (a two-way route, one with a
	// route response).
	Keys map[string]bool
	// StageVariables are passed to every event.
	StageVariables map[string]string
}

// Has reports whether the deployment has a route with this key.
func (r *Routes) Has(key string) bool {
	_, ok := r.Keys[key]
	return ok
}

// Response is what a route's integration returned.
type Response struct {
	// StatusCode is the integration's status (a proxy result's statusCode; 200
	// for integrations without one). For $connect, a non-2xx status refuses the
	// handshake with it.
	StatusCode int
	// Headers are response headers; on $connect they are added to the handshake
	// response (Sec-WebSocket-Protocol, say), or to the refusal.
	Headers map[string]string
	// MultiValueHeaders are response headers with several values each (two
	// Set-Cookie lines, say), added as Headers are. They merge with Headers,
	// case-insensitively, and win for the same name, as in a Lambda proxy
	// result.
	MultiValueHeaders map[string][]string
	// Body is the result's body (decoded when it was base64). A two-way route
	// sends it back to the sender.
	Body []byte
	// Authorizer, when set on $connect, is the authorizer context that every
	// later event of the connection carries.
	Authorizer any
}

// Dispatcher runs WebSocket routes. The gateway implements it; the connections
// package calls it from many goroutines at once, so implementations must be safe
// for concurrent use.
type Dispatcher interface {
	// Routes returns the routes of the deployment the stage currently serves. An
	// error wrapping errdefs.ErrNotFound means the API or stage is gone.
	Routes(ctx context.Context, apiID, stage string) (*Routes, error)
	// Dispatch runs the integration of ev.RequestContext.RouteKey with the event.
	// A DISCONNECT of a connection whose stage was deleted runs on the
	// deployment that served it. An error means the integration failed (a function error, a timeout, a bad
	// result): the client then gets an "Internal server error" (a 500 refusal on
	// $connect, an error frame for messages).
	Dispatch(ctx context.Context, ev *events.APIGatewayWebsocketProxyRequest) (*Response, error)
}

// ReplyDispatcher is a Dispatcher that can answer a message of a two-way route
// before its Dispatch returns, from another goroutine: the gateway answers a
// function's result from the goroutine that reads it from the sandbox, as it
// does for HTTP requests (docs/invoker.md). The connections package calls
// DispatchReply instead of Dispatch for messages of two-way routes.
type ReplyDispatcher interface {
	Dispatcher
	// DispatchReply is Dispatch with the message's Reply. When the Reply was
	// sent, the Response and error are not used.
	DispatchReply(ctx context.Context, ev *events.APIGatewayWebsocketProxyRequest, r *Reply) (*Response, error)
}

// Reply is the way back to the client of one message of a two-way route. Its
// Wait and Wake let the goroutine that dispatched the message wait for its
// answer to be sent by another (they make it an invoker.Answerer's waiting
// half).
type Reply struct {
	c    *Conn
	sent atomic.Bool
	wake chan struct{}
}

// ErrReplyTooLarge is Reply.Send's answer for a body over the connection's
// MaxMessageBytes: nothing is sent, and the dispatcher's Response then gets
// the client its error frame.
var ErrReplyTooLarge = errors.New("route response over max-message-bytes")

// Send sends body to the client as the route's response (nothing for a nil
// body), once, without waiting for the client (as Manager.Send), and ends the
// dispatcher's Wait. A body over MaxMessageBytes is refused with
// ErrReplyTooLarge and nothing is sent.
func (r *Reply) Send(body []byte) error {
	if !r.Fits(body) {
		return ErrReplyTooLarge
	}
	if !r.sent.CompareAndSwap(false, true) {
		return errors.New("route response already sent")
	}
	var err error
	if body != nil {
		if err = r.c.send(messageType(body), body); err == nil {
			r.c.m.sent(r.c)
		}
	}
	r.Wake()
	return err
}

// Fits reports whether Send would send body (it is within MaxMessageBytes).
func (r *Reply) Fits(body []byte) bool { return len(body) <= r.c.m.cfg.MaxMessageBytes }

// Sent reports whether Send sent the response.
func (r *Reply) Sent() bool { return r.sent.Load() }

// Wait waits until Wake is called (then false; Send calls it) or the
// connection's reading has ended (true).
func (r *Reply) Wait() bool {
	select {
	case <-r.wake:
		return false
	case <-r.c.finished:
		return true
	}
}

// Wake ends the Wait in progress, or the next one. Safe from any goroutine.
func (r *Reply) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Info describes one live connection.
type Info struct {
	ConnectionID string    `json:"connectionId"`
	APIID        string    `json:"apiId"`
	Stage        string    `json:"stage"`
	ConnectedAt  time.Time `json:"connectedAt"`
	LastActiveAt time.Time `json:"lastActiveAt"`
	SourceIP     string    `json:"sourceIp"`
	UserAgent    string    `json:"userAgent"`
}

// Manager is the registry of live connections. Safe for concurrent use.
type Manager struct {
	cfg   Config
	log   *slog.Logger
	creds *issuer
	// integrations and principals scope credentials (credentials.go).
	integrations Integrations
	principals   Principals
	upgrader     websocket.Upgrader
	clock        clock.Clock
	// signingKeys caches the SigV4 signing keys of @connections callers (by
	// secret and day): four HMACs per request otherwise.
	signingKeys sigv4.KeyCache
	// signIns counts failed @connections sign-ins: the manager's own, or the
	// one it shares with the admin API (SetSignIns).
	signIns *signin.Limiter

	// onSend, when set (OnSend), learns of each message sent to a client.
	onSend func(apiID, stage string)

	mu       sync.RWMutex
	conns    map[string]*Conn
	stopping bool
	// draining is set when a stop begins: messages from clients are no
	// longer routed, and those in flight finish before their connections
	// close (Shutdown).
	draining atomic.Bool
	readers  sync.WaitGroup
	// closing counts the readers (and $disconnect calls after them) that
	// readers waits for, so that Shutdown can tell how many it cut off.
	closing atomic.Int64

	// journal records the live connections (Config.Journal), nil without
	// one; orphans are those it says the last server left open, until
	// DisconnectOrphans takes them. ending holds, with a journal, the
	// connections no longer in conns whose $disconnect has not ended
	// (orphans' too): the journal still has them (journaled).
	journal *journal
	orphans []journalRecord
	ending  map[string]*Conn

	// refusedFull counts the handshakes refused because Endpoint.Conns was
	// full; refusedLog logs them once a minute.
	refusedFull atomic.Int64
	refusedLog  rate.Sometimes
	// refusedClient and refusedClientLog are the same for Endpoint.PerIP.
	refusedClient    atomic.Int64
	refusedClientLog rate.Sometimes
}

// New returns a Manager with cfg's limits (zero fields take the defaults).
func New(cfg Config, log *slog.Logger) *Manager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	m := &Manager{
		cfg:     cfg,
		log:     log,
		creds:   newIssuer(),
		clock:   clock.Real{},
		signIns: &signin.Limiter{},
		conns:   map[string]*Conn{},
	}
	m.refusedLog.Interval = time.Minute
	m.refusedClientLog.Interval = time.Minute
	m.upgrader = websocket.Upgrader{
		HandshakeTimeout: cfg.HandshakeTimeout,
		// Frames are read by frameReader (frames.go), never through the
		// library's read buffer: 1 asks for its smallest. Writes borrow pooled
		// buffers only while a message is being written, so idle connections
		// hold none.
		ReadBufferSize:  1,
		WriteBufferPool: &sync.Pool{},
		WriteBufferSize: 4096,
		// API Gateway does not check Origin: browsers on any page may connect;
		// $connect decides.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	if cfg.Journal != "" {
		j, orphans, err := openJournal(cfg.Journal, log, m.journaled)
		if err != nil {
			log.Warn("no connections journal: a server killed now will not run its connections' $disconnect when it starts again", "err", err)
		} else {
			m.journal, m.orphans, m.ending = j, orphans, map[string]*Conn{}
		}
	}
	return m
}

// Config returns the effective configuration.
func (m *Manager) Config() Config { return m.cfg }

// SetClock replaces the clock that connections' keepalive pings, idle timeouts
// and lifetimes, and credentials' expiry run on (for tests). Call it before
// serving.
func (m *Manager) SetClock(c clock.Clock) { m.clock = c }

// now reads the manager's clock.
func (m *Manager) now() time.Time { return m.clock.Now() }

// sleep waits d on the manager's clock; false when ctx ended first.
func (m *Manager) sleep(ctx context.Context, d time.Duration) bool {
	done := make(chan struct{})
	stop := m.clock.AfterFunc(d, func() { close(done) })
	select {
	case <-done:
		return true
	case <-ctx.Done():
		stop()
		return false
	}
}

// Len returns the number of live connections.
func (m *Manager) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.conns)
}

// get returns a live connection of apiID and stage (either may be "" to match
// any), or a GoneException error.
func (m *Manager) get(apiID, stage, id string) (*Conn, error) {
	c := m.lookup(apiID, stage, id)
	if c == nil || c.isClosed() {
		return nil, goneError(id)
	}
	return c, nil
}

// lookup returns the registered connection of apiID and stage (either may be ""
// to match any), closed or not, or nil.
func (m *Manager) lookup(apiID, stage, id string) *Conn {
	m.mu.RLock()
	c := m.conns[id]
	m.mu.RUnlock()
	if c == nil || (apiID != "" && c.apiID != apiID) || (stage != "" && c.stage != stage) {
		return nil
	}
	return c
}

func goneError(id string) error {
	return &errdefs.Kinded{Kind: errdefs.ErrGone, Type: "GoneException",
		Message: fmt.Sprintf("connection %q is not connected (it closed, or was never issued)", id)}
}

// Get returns a live connection's description, or an error wrapping
// errdefs.ErrGone.
func (m *Manager) Get(apiID, stage, id string) (Info, error) {
	c, err := m.get(apiID, stage, id)
	if err != nil {
		return Info{}, err
	}
	return c.info(), nil
}

// List returns the live connections of an API's stage ("" matches every API or
// stage), oldest first: not those closing (their close frame sent, the
// client's awaited), which @connections answers 410 for.
func (m *Manager) List(apiID, stage string) []Info {
	m.mu.RLock()
	out := make([]Info, 0, len(m.conns))
	for _, c := range m.conns {
		if (apiID == "" || c.apiID == apiID) && (stage == "" || c.stage == stage) && !c.isClosed() {
			out = append(out, c.info())
		}
	}
	m.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].ConnectedAt.Equal(out[j].ConnectedAt) {
			return out[i].ConnectedAt.Before(out[j].ConnectedAt)
		}
		return out[i].ConnectionID < out[j].ConnectionID
	})
	return out
}

// OnSend has f learn of each message sent to a client (an @connections
// POST, a route response), for CloudWatch's MessageCount, which counts the
// messages to the client as well as those from it; error frames are not
// messages. f is called on the sender's path: it must be quick. Call it before
// serving.
func (m *Manager) OnSend(f func(apiID, stage string)) { m.onSend = f }

// sent tells onSend of a message sent to c.
func (m *Manager) sent(c *Conn) {
	if m.onSend != nil {
		m.onSend(c.apiID, c.stage)
	}
}

// Send writes data to a live connection, or queues it behind the messages
// being written: a text frame when it is valid UTF-8, else a binary frame. It
// never blocks on the client. The connection may keep data until it is written:
// the caller must not change it. Errors wrap errdefs.ErrGone
// (no such connection, or it closed because its queue overflowed) or
// errdefs.ErrTooLarge (over MaxMessageBytes).
func (m *Manager) Send(apiID, stage, id string, data []byte) error {
	if len(data) > m.cfg.MaxMessageBytes {
		return &errdefs.Kinded{Kind: errdefs.ErrTooLarge, Type: "PayloadTooLargeException",
			Message: fmt.Sprintf("message of %d bytes is over the %d-byte limit", len(data), m.cfg.MaxMessageBytes)}
	}
	c := m.lookup(apiID, stage, id)
	if c == nil {
		return goneError(id)
	}
	if err := c.send(messageType(data), data); err != nil {
		return err // GoneException when it closed
	}
	m.sent(c)
	return nil
}

// Disconnect closes a live connection (close code 1000), as DELETE @connections
// does; $disconnect runs. Errors wrap errdefs.ErrGone.
func (m *Manager) Disconnect(apiID, stage, id string) error {
	c, err := m.get(apiID, stage, id)
	if err != nil {
		return err
	}
	c.closeWith(websocket.CloseNormalClosure, "")
	return nil
}

// Stages returns the stages of apiID that have live connections.
func (m *Manager) Stages(apiID string) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []string
	for _, c := range m.conns {
		if c.apiID == apiID && !slices.Contains(out, c.stage) {
			out = append(out, c.stage)
		}
	}
	return out
}

// CloseStage closes every live connection of an API's stage with code and
// reason, as Disconnect does ($disconnect runs), and returns how many it
// closed. It does not wait for the connections to end.
func (m *Manager) CloseStage(apiID, stage string, code int, reason string) int {
	return m.CloseGoneStage(apiID, stage, code, reason, nil)
}

// CloseGoneStage is CloseStage for a stage that no longer exists (it, or its
// API, was deleted), whose last routes were last: the connections' $disconnect
// runs on them rather than on the routes each connection was last served by,
// which may be an older deployment's. With last nil it is CloseStage.
func (m *Manager) CloseGoneStage(apiID, stage string, code int, reason string, last *Routes) int {
	m.mu.RLock()
	var gone []*Conn
	for _, c := range m.conns {
		if c.apiID == apiID && c.stage == stage {
			gone = append(gone, c)
		}
	}
	m.mu.RUnlock()
	n := 0
	for _, c := range gone {
		if last != nil {
			c.routes.Store(last)
		}
		if !c.isClosed() {
			c.closeWith(code, reason)
			n++
		}
	}
	return n
}

// Reverify closes every live connection whose Endpoint.Verify now reports
// false, as Disconnect does but with code and reason in the close frame and
// the $disconnect event, and returns how many it closed. It does not wait for
// the connections to end.
func (m *Manager) Reverify(code int, reason string) int {
	m.mu.RLock()
	var check []*Conn
	for _, c := range m.conns {
		if c.verify != nil {
			check = append(check, c)
		}
	}
	m.mu.RUnlock()
	n := 0
	for _, c := range check {
		if !c.verify() && !c.isClosed() {
			c.closeWith(code, reason)
			n++
		}
	}
	return n
}

// BeginStop refuses new connections from the moment a stop begins (the 503 a
// handshake gets, Shutdown): a $connect still running when the listeners'
// graceful stop lets its request finish is answered 503, and its
// $disconnect runs, rather than the client getting a 101 and then the close
// at once. The app runs it first among the stop hooks; Shutdown, which
// closes the open connections, comes after the listeners' stop. It returns
// nil.
func (m *Manager) BeginStop(context.Context) error {
	m.mu.Lock()
	m.stopping = true
	m.mu.Unlock()
	return nil
}

// Shutdown closes every connection (1001, "Server shutting down") and waits,
// within shutdown.Graceful(ctx), for their readers to finish and their
// $disconnect calls to end. New upgrades are refused from then on, and
// messages from clients are no longer routed; the messages in flight finish
// first, within the same time: their replies, and what their routes post to
// connections, are sent before the close frames.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.stopping = true
	m.draining.Store(true)
	all := make([]*Conn, 0, len(m.conns))
	for _, c := range m.conns {
		all = append(all, c)
	}
	m.mu.Unlock()
	// Within the graceful part of the stop: the hooks after this one (the
	// invoker's, which stops the sandboxes) keep the rest of ctx.
	gctx, cancel := shutdown.Graceful(ctx)
	defer cancel()
	for _, c := range all {
		c.waitMessages(gctx)
	}
	for _, c := range all {
		c.closeAfterSends(websocket.CloseGoingAway, "Server shutting down")
	}
	done := make(chan struct{})
	go func() {
		m.readers.Wait()
		close(done)
	}()
	if m.journal != nil {
		// What is still closing at the end stays in the journal: the next
		// start runs its $disconnect again.
		defer m.journal.close(ctx)
	}
	select {
	case <-done:
		return nil
	case <-gctx.Done():
		// Both may be ready when the stop's graceful part had ended before
		// this hook ran: nothing still closing is no failure.
		n := m.closing.Load()
		if n == 0 {
			return nil
		}
		return fmt.Errorf("connections: %d WebSocket connection(s) still closing (their messages in flight, reads or $disconnect calls running) "+
			"when the shutdown timeout ended: %w", n, gctx.Err())
	}
}

// readerDone ends one reader that add counted (and its $disconnect call),
// that of connection id.
func (m *Manager) readerDone(id string) {
	if m.journal != nil {
		m.mu.Lock()
		delete(m.ending, id)
		m.journal.remove(id)
		m.mu.Unlock()
	}
	m.closing.Add(-1)
	m.readers.Done()
}

// add registers a connection and counts its reader (which the caller must then
// start), unless the manager is shutting down.
func (m *Manager) add(c *Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopping {
		return false
	}
	m.conns[c.id] = c
	if m.journal != nil {
		m.journal.add(c)
	}
	m.readers.Add(1)
	m.closing.Add(1)
	return true
}

func (m *Manager) remove(c *Conn) {
	m.mu.Lock()
	if m.conns[c.id] == c {
		delete(m.conns, c.id)
		if m.journal != nil {
			m.ending[c.id] = c // until readerDone
		}
	}
	m.mu.Unlock()
}

// journaled returns the journal's records of the connections it has that are
// not gone (the journal's live): those registered, those whose $disconnect
// has not ended, and the orphans not yet taken. They are encoded when the
// journal compacts, so that it keeps nothing per connection.
func (m *Manager) journaled() []journalRecord {
	m.mu.RLock()
	conns := make([]*Conn, 0, len(m.conns)+len(m.ending))
	for _, c := range m.conns {
		conns = append(conns, c)
	}
	for _, c := range m.ending {
		conns = append(conns, c)
	}
	out := slices.Clone(m.orphans)
	m.mu.RUnlock()
	out = slices.Grow(out, len(conns))
	for _, c := range conns {
		out = append(out, c.journalRecord())
	}
	return out
}

// Sizes of the random ids: a connection id is 12 random bytes, base64url without
// padding (16 characters, unguessable and safe in a URL path); request and message
// ids are 11, in standard base64 like API Gateway's ("R1knPH17NjMFftw=").
const (
	connectionIDBytes = 12
	requestIDBytes    = 11
)
