//go:build race

package gateway

// raceEnabled: this test binary is built with -race. nbio v1.6.8 races on its
// own (engine_nbio_test.go), so its engine's cases run in the Makefile's
// second, race-free pass instead.
const raceEnabled = true
