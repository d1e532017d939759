// Package soak holds Portico's soak test (`make soak`): a bounded run of mixed
// load against a `portico serve` child process that watches what the server
// holds. It is not part of `make test`: the test skips unless SOAK is set.
package soak
