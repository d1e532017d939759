package gateway

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
)

// nbio logs to stdout by default; the gateway logs through slog.
func init() { logging.SetLevel(logging.LevelError) }

// nbioServer is the gateway's plain listener on nbhttp.
type nbioServer struct {
	eng *nbhttp.Engine
}

// startNbio binds addr and serves h on an nbhttp engine; ln receives the bound
// listener.
func (s *Server) startNbio(addr string) error {
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
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Amzn-Errortype", "NotImplementedException")
			w.WriteHeader(http.StatusNotImplemented)
			_, _ = w.Write([]byte(`{"message":"WebSocket APIs need the h1 (default) or net/http listener engine"}`))
			return
		}
		s.ServeHTTP(w, r)
	})
	eng := nbhttp.NewEngine(nbhttp.Config{
		Name:            "portico-gateway",
		Network:         "tcp",
		Addrs:           []string{addr},
		Handler:         h,
		MaxHTTPBodySize: int(s.gw.cfg.MaxBodyBytes),
		KeepaliveTime:   s.limits.IdleTimeout,
		Context:         base,
		Cancel:          cancel, // the engine's Stop and Shutdown call it
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

// Shutdown stops accepting and waits for the connections to finish, within ctx.
func (n *nbioServer) Shutdown(ctx context.Context) error { return n.eng.Shutdown(ctx) }

// Close closes every connection at once.
func (n *nbioServer) Close() error { n.eng.Stop(); return nil }
