//go:build !linux

package invoker

import "net"

// goneWatch is not available off Linux: a waiting request ends when its
// context does (the Runtime API server closing), when the sandbox stops or
// when a newer next from the sandbox replaces it.
type goneWatch struct{}

func watchGone(net.Conn, func()) *goneWatch { return nil }

func (w *goneWatch) stop() bool { return false }

// connPeek cannot look at a connection off Linux.
type connPeek struct{}

func (*connPeek) gone(net.Conn) bool { return false }
