// Package rawio reads and writes TCP sockets with raw read(2) and write(2) on
// Linux, for the hot paths: h1's connections (Conn), the fast proxy's backend
// connections and its request writes, WebSocket sends (Write). Elsewhere New
// returns nil and callers use net.Conn.
package rawio
