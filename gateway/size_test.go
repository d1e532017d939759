package gateway

import (
	"testing"
	"unsafe"
)

// TestRequestSizeClass guards the size of what the gateway allocates for
// every request (request: the pipeline.Context and the id headers' values).
// The runtime puts an 8-byte header before an object of over 512 bytes that
// holds pointers, so past 760 bytes it moves from the 768-byte allocation
// size class to the next (896): 128 bytes more per request on every path
// (docs/performance.md, session 33). Pack a new Context field beside others
// of its size (the booleans are together), or keep it behind a pointer set
// only when used.
func TestRequestSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(request{}); n > 768-8 {
		t.Errorf("gateway.request is %d bytes (pipeline.Context %d): with its 8-byte allocation header, over the 768-byte size class",
			n, unsafe.Sizeof(request{}.c))
	}
}
