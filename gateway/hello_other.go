//go:build !linux

package gateway

import "net"

// waitFirstRecord cannot look at the socket here: ok is false, and every
// handshake counts as silent until it ends (handshakeListener.admit).
func waitFirstRecord(net.Conn) (first byte, ok bool, err error) { return 0, false, nil }

// firstRecordArrived cannot look at the socket here.
func firstRecordArrived(net.Conn) bool { return false }
