// Package storetest helps tests that open a store themselves.
package storetest

import "github.com/portico-dev/portico/store"

// MigrationsFrom gives, for a test that opens a store with only its own
// package's migrations, a migration that rewrites nothing for each schema
// step from v up to store.SchemaVersion: the steps other packages own (a new
// bucket of theirs) that the test's store, holding none of their records,
// does not need.
func MigrationsFrom(v int) []store.Migration {
	var ms []store.Migration
	for ; v < store.SchemaVersion; v++ {
		ms = append(ms, store.Migration{From: v, Name: "another package's step (test)", Run: func(*store.Tx) error { return nil }})
	}
	return ms
}
