//go:build !linux

package h1

import "time"

// Without the idle poller (Linux's) no connection goes dormant.

func (s *Server) startSweep()                          {}
func (s *Server) sweep(time.Time)                      {}
func (c *conn) doze(err error) (dormant bool, _ error) { return false, err }
func (c *conn) closeIfDormant() bool                   { return false }
