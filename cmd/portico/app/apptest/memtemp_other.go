//go:build !linux

package apptest

// TempDirInMemory changes nothing off Linux (see memtemp_linux.go) and
// returns a function that does nothing.
func TempDirInMemory() func() { return func() {} }
