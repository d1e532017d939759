//go:build !linux

package h1

import "net"

// GoneWatch is not available off Linux: a waiting request ends when its
// context does, or when a write to its connection fails.
type GoneWatch struct{}

// WatchGone returns nil off Linux: the connection cannot be watched.
func WatchGone(net.Conn, func()) *GoneWatch { return nil }

// WatchClosed returns nil off Linux: the connection cannot be watched.
func WatchClosed(net.Conn, func()) *GoneWatch { return nil }

// Stop reports false.
func (w *GoneWatch) Stop() bool { return false }

// ConnPeek cannot look at a connection off Linux.
type ConnPeek struct{}

// Gone reports false.
func (*ConnPeek) Gone(net.Conn) bool { return false }
