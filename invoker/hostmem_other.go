//go:build !linux

package invoker

// hostMemoryMB returns 0: the host's memory is not known here, so the memory
// budget has no default cap.
func hostMemoryMB() int64 { return 0 }
