//go:build !linux

package procs

import "errors"

// readHost is Linux's only: elsewhere Fit does nothing.
func readHost() (Sample, error) {
	return Sample{}, errors.New("procs: the host's idle CPU is read on Linux only")
}
