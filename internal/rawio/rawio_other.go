//go:build !linux

package rawio

import (
	"errors"
	"net"
)

// Conn is Linux's raw I/O (rawio_linux.go); elsewhere New returns nil and
// connections are read and written through net.Conn.
type Conn struct{}

// Max is the largest read or write Conn makes with a raw system call.
const Max = 64 << 10

// New returns nil off Linux.
func New(net.Conn) *Conn { return nil }

// Read is never called off Linux (New returns nil).
func (*Conn) Read([]byte) (int, error) { return 0, errors.ErrUnsupported }

// Write is never called off Linux (New returns nil).
func (*Conn) Write([]byte) (int, error) { return 0, errors.ErrUnsupported }

// Wrap returns c off Linux.
func Wrap(c net.Conn) net.Conn { return c }
