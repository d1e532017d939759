// Package soak holds Portico's soak and fault tests against a `portico serve`
// child process. The soak (`make soak`) is a bounded run of mixed load that
// watches what the server holds; it skips unless SOAK is set. The fault tests
// run with the others: TestKillNineKeepsAcknowledgedWrites kills the server
// with SIGKILL under writes and load (CRASH_KILLS sets how often; CRASH_SEED
// replays the kill schedule of a run, which logs its seed), and
// TestFullDisk fills a tmpfs under its data directory (it needs root, and
// skips without it unless REQUIRE_TMPFS=1). docs/operations.md says what they
// check.
package soak
