//go:build !linux

package invoker

import "net"

// goneWatch is not available off Linux: a waiting request ends when its
// context does (the Runtime API server closing), when the sandbox stops or
// when a newer next from the sandbox supersedes it.
type goneWatch struct{}

func watchGone(net.Conn) *goneWatch { return nil }

func (w *goneWatch) goneCh() <-chan struct{} { return nil }

func (w *goneWatch) stop() bool { return false }

func peerGone(net.Conn) bool { return false }
