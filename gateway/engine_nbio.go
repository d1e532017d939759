package gateway

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"

	"github.com/portico-dev/portico/internal/errdefs"
)

// nbio logs to stdout by default; the gateway logs through slog.
func init() { logging.SetLevel(logging.LevelError) }

// nbioServer is the gateway's plain listener on nbhttp.
type nbioServer struct {
	eng *nbhttp.Engine
}

// nbioHeaderSlack is what the nbio engine's header limit allows beyond the
// listener's max-header-bytes: the bytes of each line's ": " and CRLF, which
// it does not count.
const nbioHeaderSlack = 4096

// startNbio binds addr and serves h on an nbhttp engine; ln receives the bound
// listener.
func (s *Server) startNbio(addr string) error {
	if !loopbackAddr(addr) {
		return errdefs.New(errdefs.ErrInvalid, "", fmt.Sprintf("gateway: the %s listener engine serves only a loopback address (--listen 127.0.0.1:PORT or [::1]:PORT), not %q: "+
			"it cannot enforce a header read timeout, a bound on a header block read in several pieces, or a 413 before a body whose Content-Length is over the limit "+
			"(it closes the connection once the body passes the limit instead), so it is for measurement behind a proxy that does; serve a public address with %s (the default)",
			EngineNbio, addr, EngineH1))
	}
	var bound net.Listener
	// Its connections count against the public listeners' limit and their
	// bound per client address, as h1's do (connlimit.go), given back as
	// nbio closes them; nbio's idle
	// connections are not known here, and are not shed.
	counted := s.stdConns("nbio", false)
	// Requests carry the listener's address as net/http's do
	// (http.LocalAddrContextKey; X-Forwarded-Port reads it): filled in once
	// bound, before the first request.
	local := new(net.TCPAddr)
	base, cancel := context.WithCancel(context.WithValue(context.Background(), http.LocalAddrContextKey, local))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status, why := s.nbioRefusal(r); status != 0 {
			// Screened already (nbioScreen): answer, and close.
			r.Close = true
			w.Header().Set("Connection", "close")
			s.gw.refuseFraming(w, r, status, why)
			return
		}
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Amzn-Errortype", "NotImplementedException")
			w.WriteHeader(http.StatusNotImplemented)
			_, _ = w.Write([]byte(`{"message":"WebSocket APIs need the h1 (default) or net/http listener engine"}`))
			return
		}
		nbioBound(s).ServeHTTP(w, r)
	})
	eng := nbhttp.NewEngine(nbhttp.Config{
		Name:            "portico-gateway",
		Network:         "tcp",
		Addrs:           []string{addr},
		Handler:         h,
		MaxHTTPBodySize: int(s.gw.cfg.MaxBodyBytes),
		// What a connection's parser may hold at once: nbio keeps a
		// Content-Length body whole until it has all of it, and a header
		// line until its end. Past that the connection closes unanswered.
		ReadLimit: int(s.gw.cfg.MaxBodyBytes) + s.limits.MaxHeaderBytes + nbioHeaderSlack,
		// nbio's writes never wait for the client: what its socket does
		// not take waits in nbio's memory, so a client that reads nothing
		// would have a streamed answer pile up there. A connection holds
		// at most one whole answer's worth (an answer is at most
		// max-body-bytes): past it nbio closes the connection, whose
		// handler then stops (nbioBound). Its read deadline (KeepaliveTime)
		// closes every connection at most the idle timeout after its
		// last answer was handed to it, taken or not.
		MaxWriteBufferSize: int(s.gw.cfg.MaxBodyBytes) + s.limits.MaxHeaderBytes + nbioHeaderSlack,
		OnRequest:          nbioScreen(s.nbioRefusal),
		KeepaliveTime:      s.limits.IdleTimeout,
		Context:            base,
		Cancel:             cancel, // the engine's Stop and Shutdown call it
		Listen: func(network, a string) (net.Listener, error) {
			ln, err := net.Listen(network, a)
			if err == nil {
				if ta, ok := ln.Addr().(*net.TCPAddr); ok {
					*local = *ta
				}
			}
			bound = ln
			if err != nil {
				return nil, err
			}
			return counted.listener(ln), nil
		},
	})
	if counted != nil {
		eng.OnClose(func(c net.Conn, _ error) { counted.release(c) })
	}
	nbioHandoff(eng)
	if err := eng.Start(); err != nil {
		cancel()
		return fmt.Errorf("gateway: listen on %s: %w", addr, err)
	}
	s.ln = bound
	recordAddr(&s.addr, bound)
	s.nbio = &nbioServer{eng: eng}
	return nil
}

// nbioBound runs h for a request of an nbio connection so that its handler
// stops once nbio has closed the connection (the client went away, its read
// deadline passed, or more than MaxWriteBufferSize waited for the client):
// nbio neither ends the request's context then nor fails every later write
// (its Flush only logs), so a handler streaming an answer to a client that
// took nothing would go on, its backend request with it, for as long as the
// backend streams. Each write and flush checks the connection first: on a
// closed one it fails, and the request's context ends.
func nbioBound(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, ok := w.(*nbhttp.Response)
		if !ok || res.Parser == nil {
			h.ServeHTTP(w, r)
			return
		}
		c, ok := res.Parser.Conn.(*nbhttp.Conn)
		if !ok {
			h.ServeHTTP(w, r)
			return
		}
		conn, ok := c.Conn.(closedConn) // nbio's own connection
		if !ok {
			h.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		h.ServeHTTP(&nbioWriter{ResponseWriter: w, conn: conn, cancel: cancel}, r.WithContext(ctx))
	})
}

// closedConn is what nbio's connection tells of its state.
type closedConn interface{ IsClosed() (bool, error) }

// nbioWriter is the response writer of nbioBound.
type nbioWriter struct {
	http.ResponseWriter
	conn   closedConn
	cancel context.CancelFunc
}

// gone fails, and ends the request's context, once the connection is closed.
func (w *nbioWriter) gone() error {
	closed, err := w.conn.IsClosed()
	if !closed {
		return nil
	}
	w.cancel()
	if err == nil {
		err = net.ErrClosed
	}
	return fmt.Errorf("gateway: the client's connection is closed: %w", err)
}

func (w *nbioWriter) Write(p []byte) (int, error) {
	if err := w.gone(); err != nil {
		return 0, err
	}
	n, err := w.ResponseWriter.Write(p)
	if err != nil {
		w.cancel()
	}
	return n, err
}

// FlushError implements the flush that http.ResponseController looks for
// first.
func (w *nbioWriter) FlushError() error {
	if err := w.gone(); err != nil {
		return err
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	return w.gone()
}

// Flush implements http.Flusher.
func (w *nbioWriter) Flush() { _ = w.FlushError() }

// Unwrap gives http.ResponseController nbio's writer.
func (w *nbioWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Shutdown stops accepting and waits for the connections to finish, within ctx.
func (n *nbioServer) Shutdown(ctx context.Context) error { return n.eng.Shutdown(ctx) }

// Close closes every connection at once.
func (n *nbioServer) Close() error { n.eng.Stop(); return nil }

// loopbackAddr reports whether the listen address addr (host:port) names a
// loopback host: localhost, 127.0.0.0/8 or ::1. An empty host (all
// interfaces) is not one.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// nbioScreen is the nbio engine's OnRequest: nbio calls it on its poller,
// for each request of a connection in order, as soon as the request is
// parsed and before the request is queued for a handler. A request refused
// (refusal, which the handler runs again to answer it) is the connection's
// last: nbio may have parsed what follows it already (a request hidden in
// its body, framed otherwise than a proxy in front framed it), and none of
// that is handed to a handler. The refused request's own handler answers it
// and closes the connection.
func nbioScreen(refusal func(*http.Request) (int, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if status, _ := refusal(r); status == 0 {
			return
		}
		res, ok := w.(*nbhttp.Response)
		if !ok || res.Parser == nil {
			return
		}
		p := res.Parser
		queue, queued := p.Execute, false
		p.Execute = func(f func()) bool {
			if queued {
				return false // after the refused request: dropped
			}
			queued = true
			return queue(f)
		}
	}
}

// nbioRefusal checks what h1 checks of a request's head and nbio's parser
// does not: the header block's size (431, 414 for a request target alone
// over it), one Host on HTTP/1.1, Content-Length values that are digits and
// agree, no Transfer-Encoding beside a Content-Length or on HTTP/1.0, and no
// control bytes in field values. It returns 0 for a request to serve, else
// the status to refuse it with and why.
func (s *Server) nbioRefusal(r *http.Request) (int, string) {
	limit := s.limits.MaxHeaderBytes
	if len(r.RequestURI) > limit {
		return http.StatusRequestURITooLong, "request target over max-header-bytes"
	}
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for name, values := range r.Header {
		for _, v := range values {
			n += len(name) + len(v) + 4
			if strings.ContainsFunc(v, func(c rune) bool { return c < ' ' && c != '\t' || c == 0x7f }) {
				return http.StatusBadRequest, "a control character in header " + name
			}
		}
	}
	if n > limit {
		return http.StatusRequestHeaderFieldsTooLarge, "header block over max-header-bytes"
	}
	if hosts := len(r.Header["Host"]); hosts > 1 || hosts == 0 && r.ProtoAtLeast(1, 1) {
		return http.StatusBadRequest, "HTTP/1.1 needs exactly one Host header"
	}
	cls := r.Header["Content-Length"]
	for _, v := range cls {
		v = strings.Trim(v, " \t")
		if v == "" || strings.ContainsFunc(v, func(c rune) bool { return c < '0' || c > '9' }) || v != strings.Trim(cls[0], " \t") {
			return http.StatusBadRequest, fmt.Sprintf("Content-Length %q", cls)
		}
	}
	if te := r.Header["Transfer-Encoding"]; len(te) > 0 && (len(cls) > 0 || !r.ProtoAtLeast(1, 1)) {
		return http.StatusBadRequest, "Transfer-Encoding with a Content-Length or on HTTP/1.0"
	}
	return 0, ""
}
