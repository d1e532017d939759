// Package rawio reads and writes TCP sockets with raw read(2) and write(2) on
// Linux, for the hot paths: h1's connections (Conn), the fast proxy's backend
// connections and its request writes, WebSocket reads and sends (Read, Write),
// the sockets under the gateway's TLS (Wrap), and the WebSocket poller's epoll
// calls (EpollWait, EpollCtl). Elsewhere New returns nil, Wrap returns its
// argument, and callers use net.Conn.
package rawio
