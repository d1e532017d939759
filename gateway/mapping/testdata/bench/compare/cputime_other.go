//go:build !unix

package main

import "time"

// cpuTime is not measured here; main refuses to run without it.
func cpuTime() time.Duration { return 0 }
