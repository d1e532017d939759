package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/testkit"
)

// protoBackend is a backend written by hand, to answer what a well-behaved
// server never would: a 101 to any request for /up (after which everything on
// the connection is answered 200 "past the route"), and response bodies cut
// short or garbled. It records the requests it reads.
type protoBackend struct {
	ln   net.Listener
	mu   sync.Mutex
	seen []protoRequest
}

// protoRequest is one request the backend read.
type protoRequest struct {
	path         string
	header       http.Header
	afterSwitch  bool // read on a connection the backend had switched
	bodyReadFail bool
}

// largeCut is the length /cutlarge declares; it sends half of it.
const largeCut = 1 << 20

func newProtoBackend(t *testing.T) *protoBackend {
	t.Helper()
	b := &protoBackend{}
	b.ln = listenRaw(t, b.serve)
	return b
}

// listenRaw is a loopback listener whose connections serve takes, each on a
// goroutine of its own, until the test ends: then the listener and every
// connection (the gateways keep theirs idle) are closed.
func listenRaw(t *testing.T, serve func(net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var conns sync.Map
	t.Cleanup(func() {
		_ = ln.Close()
		conns.Range(func(k, _ any) bool { _ = k.(net.Conn).Close(); return true })
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Store(c, nil)
			wg.Go(func() { serve(c) })
		}
	})
	return ln
}

func (b *protoBackend) url() string { return "http://" + b.ln.Addr().String() }

func (b *protoBackend) serve(c net.Conn) {
	defer func() { _ = c.Close() }()
	br := bufio.NewReader(c)
	switched := false
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, berr := io.Copy(io.Discard, req.Body)
		b.mu.Lock()
		b.seen = append(b.seen, protoRequest{path: req.URL.Path, header: req.Header, afterSwitch: switched, bodyReadFail: berr != nil})
		b.mu.Unlock()
		if berr != nil {
			return
		}
		var answer string
		closes := false
		switch {
		case switched:
			answer = "HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\npast the route"
		case req.URL.Path == "/up":
			answer = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
			switched = true
		case req.URL.Path == "/short":
			answer, closes = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 50\r\n\r\nhello", true
		case req.URL.Path == "/garbled":
			answer, closes = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n", true
		case req.URL.Path == "/dupcl":
			answer, closes = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", true
		case req.URL.Path == "/cutlarge":
			answer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(largeCut) + "\r\n\r\n" + strings.Repeat("x", largeCut/2)
			closes = true
		default:
			answer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
		}
		if _, err := io.WriteString(c, answer); err != nil || closes {
			return
		}
	}
}

// take returns and forgets the requests the backend read.
func (b *protoBackend) take() []protoRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.seen
	b.seen = nil
	return s
}

// protoGateway serves a REST and an HTTP API, whose routes reach the backend
// every way a request can (HTTP_PROXY directly, through a stage variable,
// with header mappings; a non-proxy HTTP integration), through the gateway's
// real listener; with fast false, every proxied request takes the
// ReverseProxy.
type protoGateway struct {
	addr       string
	rest, http string // the stages' path prefixes
	logs       *testkit.LockedBuffer
}

func newProtoGateway(t *testing.T, backend string, fast bool) *protoGateway {
	t.Helper()
	_, svc := gwtest.APIs(t)
	proxy := func(uri string, params map[string]string) *apis.Integration {
		// The timeout bounds a backend that keeps a switched connection open.
		return &apis.Integration{Type: apis.IntegrationHTTPProxy, URI: uri, RequestParameters: params, TimeoutInMillis: 3000}
	}
	upgrade := map[string]string{"integration.request.header.Upgrade": "method.request.header.Upgrade",
		"integration.request.header.Connection": "'Upgrade'"}
	rest := gwtest.Deploy(t, svc, &apis.API{Name: "proto", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "ANY", Path: "/p2/{proxy+}", Integration: proxy(backend+"/{proxy}", nil)},
		{Method: "ANY", Path: "/sv/{proxy+}", Integration: proxy("${stageVariables.backend}/{proxy}", nil)},
		{Method: "ANY", Path: "/mapped/{proxy+}", Integration: proxy(backend+"/{proxy}", upgrade)},
		{Method: "ANY", Path: "/http/{proxy+}", Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "GET",
			URI: backend + "/{proxy}", RequestParameters: upgrade, TimeoutInMillis: 3000,
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200"}}}},
		{Method: "POST", Path: "/mock", Integration: &apis.Integration{Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses:        map[string]apis.IntegrationResponse{"default": {StatusCode: "200"}}}},
	}}}, apis.DeployInput{StageName: "dev", Variables: map[string]string{"backend": backend}})
	httpAPI := gwtest.Deploy(t, svc, &apis.API{Name: "proto2", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "ANY", Path: "/m/{proxy+}", Integration: proxy(backend+"/{proxy}",
			map[string]string{"overwrite:header.x-mapped": "$request.header.Upgrade"})},
		{Method: "ANY", Path: "/{proxy+}", Integration: proxy(backend+"/{proxy}", nil)},
	}}}, apis.DeployInput{StageName: "dev"})
	logs := &testkit.LockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	gw := New(Config{Listen: "127.0.0.1:0"}, svc, nil, nil, log)
	if !fast {
		gw.fast = nil
	}
	s := NewServer(gw, log, listener.Limits{})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return &protoGateway{addr: s.Addr(), rest: "/" + rest.ID + "/dev", http: "/" + httpAPI.ID + "/dev", logs: logs}
}

// protoConn is a client connection to the gateway written by hand.
type protoConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func (g *protoGateway) dial(t *testing.T) *protoConn {
	t.Helper()
	c, err := net.Dial("tcp", g.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	// A safety net against a hung test, not a timing assertion.
	_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
	return &protoConn{t: t, c: c, br: bufio.NewReader(c)}
}

// roundTrip sends raw and reads the answer, whole; err is the failure to
// read it.
func (c *protoConn) roundTrip(raw string) (status int, header http.Header, body string, err error) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, raw); err != nil {
		c.t.Fatal(err)
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, nil, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b), err
}

// expectAWSError checks an answer is the gateway's own error of status and type.
func expectAWSError(t *testing.T, what string, status int, header http.Header, body string, wantStatus int, wantType string) {
	t.Helper()
	var msg struct{ Message string }
	if status != wantStatus || header.Get("X-Amzn-Errortype") != wantType || json.Unmarshal([]byte(body), &msg) != nil || msg.Message == "" ||
		header.Get(hdrRequestID) == "" {
		t.Fatalf("%s: %d %v %q, want %d %s with a message", what, status, header, body, wantStatus, wantType)
	}
}

// TestProxyNeverSwitchesProtocols sends upgrade requests (h2c, as in request
// smuggling, and websocket) to every kind of route that reaches an HTTP
// backend, through both proxy paths, to a backend that answers 101 and then
// serves anything on the connection: the backend never sees the upgrade
// asked for, its 101 is a backend error (500), and the client's next request
// on the connection is the gateway's to route, never the backend's.
func TestProxyNeverSwitchesProtocols(t *testing.T) {
	backend := newProtoBackend(t)
	for _, fast := range []bool{true, false} {
		g := newProtoGateway(t, backend.url(), fast)
		for _, route := range []string{g.rest + "/p2", g.rest + "/sv", g.rest + "/mapped", g.rest + "/http", g.http + "/m", g.http} {
			for _, up := range []string{
				"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n",
				"Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
				"", // no upgrade asked for: the backend switches all the same
			} {
				name := map[bool]string{true: "fast", false: "stock"}[fast] + route + "/" + strings.SplitN(up+"none", "\r\n", 2)[0]
				t.Run(name, func(t *testing.T) {
					c := g.dial(t)
					status, header, body, err := c.roundTrip("GET " + route + "/up HTTP/1.1\r\nHost: gw.test\r\n" + up + "\r\n")
					if err != nil {
						t.Fatal(err)
					}
					expectAWSError(t, "the upgrade", status, header, body, 500, "InternalServerErrorException")
					status, header, body, err = c.roundTrip("GET /secret/admin HTTP/1.1\r\nHost: gw.test\r\n\r\n")
					if err != nil {
						t.Fatalf("the next request: %v", err)
					}
					if header.Get(hdrRequestID) == "" || status < 400 || status >= 500 {
						t.Fatalf("the next request: %d %v %q, want the gateway's 4xx", status, header, body)
					}
					seen := backend.take()
					if len(seen) != 1 {
						t.Fatalf("the backend read %d requests, want 1: %+v", len(seen), seen)
					}
					for _, r := range seen {
						if r.afterSwitch || r.path != "/up" {
							t.Errorf("the backend read %s (after switching: %v)", r.path, r.afterSwitch)
						}
						if v := r.header.Values("Upgrade"); len(v) > 0 {
							t.Errorf("the backend got Upgrade: %v", v)
						}
						for _, v := range r.header.Values("Connection") {
							if strings.Contains(strings.ToLower(v), "upgrade") {
								t.Errorf("the backend got Connection: %s", v)
							}
						}
					}
				})
			}
		}
		if strings.Contains(g.logs.String(), "level=ERROR") && !strings.Contains(g.logs.String(), "101") {
			t.Errorf("a backend's 101 is logged without saying so:\n%s", g.logs.String())
		}
	}
}

// TestProxyMalformedRequestBody sends chunked request bodies that break the
// framing to HTTP_PROXY routes (REST and HTTP API, both proxy paths) and to a
// MOCK: each is the client's error, 400 BadRequestException as on the MOCK,
// and nothing blames the backend in the log.
func TestProxyMalformedRequestBody(t *testing.T) {
	backend := newProtoBackend(t)
	bodies := map[string]string{
		"bad size":        "ZZ\r\nhello\r\n0\r\n\r\n",
		"size overflow":   "FFFFFFFFFFFFFFFFF5\r\nhello\r\n0\r\n\r\n",
		"bare LF":         "5\nhello\n0\n\n",
		"0x prefix":       "0x5\r\nhello\r\n0\r\n\r\n",
		"data without CR": "5\r\nhelloXX0\r\n\r\n",
	}
	for _, fast := range []bool{true, false} {
		g := newProtoGateway(t, backend.url(), fast)
		for _, route := range []string{g.rest + "/mock", g.rest + "/p2/post", g.http + "/post"} {
			for name, body := range bodies {
				t.Run(map[bool]string{true: "fast", false: "stock"}[fast]+route+"/"+name, func(t *testing.T) {
					c := g.dial(t)
					status, header, answer, err := c.roundTrip("POST " + route + " HTTP/1.1\r\nHost: gw.test\r\nContent-Type: application/json\r\n" +
						"Transfer-Encoding: chunked\r\n\r\n" + body)
					if err != nil {
						t.Fatal(err)
					}
					expectAWSError(t, "the body", status, header, answer, 400, "BadRequestException")
				})
			}
		}
		if logs := g.logs.String(); strings.Contains(logs, "level=ERROR") {
			t.Errorf("a client's malformed body is logged as an error:\n%s", logs)
		}
	}
	for _, r := range backend.take() {
		if !r.bodyReadFail {
			t.Errorf("the backend read a whole request for %s", r.path)
		}
	}
}

// TestProxyBrokenResponseBody has a backend answer bodies that break: cut
// short of their Content-Length, a garbled chunk size, a duplicate
// Content-Length. Through both proxy paths and both API kinds, a failure
// before any byte went to the client is a backend error like any other
// (500, logged naming the backend); a body cut after the head went out
// drops the client's connection and is logged at warn level, naming the
// backend.
func TestProxyBrokenResponseBody(t *testing.T) {
	backend := newProtoBackend(t)
	for _, fast := range []bool{true, false} {
		g := newProtoGateway(t, backend.url(), fast)
		for _, route := range []string{g.rest + "/p2", g.http} {
			for _, path := range []string{"/short", "/garbled", "/dupcl"} {
				t.Run(map[bool]string{true: "fast", false: "stock"}[fast]+route+path, func(t *testing.T) {
					c := g.dial(t)
					status, header, body, err := c.roundTrip("GET " + route + path + " HTTP/1.1\r\nHost: gw.test\r\n\r\n")
					if err != nil {
						t.Fatalf("no answer: %v", err)
					}
					expectAWSError(t, path, status, header, body, 500, "InternalServerErrorException")
					if header.Get("Content-Type") != "application/json" {
						t.Errorf("the error's Content-Type is %q", header.Get("Content-Type"))
					}
					if logs := g.logs.String(); !hasLogLine(logs, "level=ERROR", backend.url()+path) {
						t.Errorf("the failure is not logged naming the backend:\n%s", logs)
					}
				})
			}
			t.Run(map[bool]string{true: "fast", false: "stock"}[fast]+route+"/cutlarge", func(t *testing.T) {
				c := g.dial(t)
				status, _, body, err := c.roundTrip("GET " + route + "/cutlarge HTTP/1.1\r\nHost: gw.test\r\n\r\n")
				if status != 200 || err == nil || len(body) >= largeCut {
					t.Fatalf("answer %d with %d bytes (%v), want a 200 cut short", status, len(body), err)
				}
				logs := g.logs.String()
				if !hasLogLine(logs, "level=WARN", backend.url()+"/cutlarge", "unexpected EOF") {
					t.Errorf("the cut is not logged at warn level naming the backend:\n%s", logs)
				}
			})
		}
	}
}

// hasLogLine reports whether a line of logs holds each of parts.
func hasLogLine(logs string, parts ...string) bool {
	for line := range strings.SplitSeq(logs, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// TestProxyHTTP10WithoutHost sends an HTTP/1.0 request without Host through
// both proxy paths: the backend gets no X-Forwarded-Host, rather than an
// empty one, and X-Forwarded-For and -Proto as always.
func TestProxyHTTP10WithoutHost(t *testing.T) {
	backend := newProtoBackend(t)
	for _, fast := range []bool{true, false} {
		g := newProtoGateway(t, backend.url(), fast)
		c := g.dial(t)
		status, _, body, err := c.roundTrip("GET " + g.rest + "/p2/plain HTTP/1.0\r\n\r\n")
		if err != nil || status != 200 || body != "ok" {
			t.Fatalf("fast %v: %d %q %v", fast, status, body, err)
		}
		seen := backend.take()
		if len(seen) != 1 {
			t.Fatalf("fast %v: the backend read %d requests", fast, len(seen))
		}
		h := seen[0].header
		if v, ok := h["X-Forwarded-Host"]; ok {
			t.Errorf("fast %v: X-Forwarded-Host: %q", fast, v)
		}
		if h.Get("X-Forwarded-For") == "" || h.Get("X-Forwarded-Proto") != "http" {
			t.Errorf("fast %v: the backend saw %v", fast, h)
		}
	}
}
