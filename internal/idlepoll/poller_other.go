//go:build !linux

package idlepoll

import "syscall"

// Poller is not available here: Shared returns ErrUnsupported.
type Poller struct{}

// Shared returns ErrUnsupported: the poller is Linux's.
func Shared() (*Poller, error) { return nil, ErrUnsupported }

// Add is never reached without a Poller.
func (p *Poller) Add(syscall.RawConn, func()) *Waiter { return &Waiter{p: p} }

// Arm fails: nothing is watched here.
func (w *Waiter) Arm() error { return ErrUnsupported }

// Remove does nothing.
func (w *Waiter) Remove() {}
