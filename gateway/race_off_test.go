//go:build !race

package gateway

// raceEnabled: this test binary is built with -race (race_on_test.go).
const raceEnabled = false
