//go:build !linux

package connections

// watch starts reading c with a goroutine of its own (the poller is Linux's).
func (c *Conn) watch() { go c.readBlocking() }

// unwatch is a no-op without the poller.
func (c *Conn) unwatch() {}

// writeFD writes nothing: without the poller, every frame goes through the
// connection's writer goroutine.
func (w *frameWriter) writeFD(uintptr) bool {
	w.err = errWouldBlock
	return true
}
