//go:build !unix

package gateway

import "net"

// peekFirst cannot peek here: sniffTLS reads the byte and gives it back.
func peekFirst(net.Conn) (byte, bool, error) { return 0, false, nil }
