//go:build !linux

package fastproxy

import "net"

// connAlive cannot probe without blocking here; a failed reused connection is
// then found by the request itself.
func connAlive(net.Conn) bool { return true }

// sender is Linux's write-then-wait (conn_linux.go); elsewhere requests are
// written with net.Conn.Write.
type sender struct{}

func newSender(net.Conn) *sender { return nil }

func (*sender) sendThenWait(net.Conn, []byte) (int, error) { return 0, nil }
