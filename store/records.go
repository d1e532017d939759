package store

import (
	"maps"
	"reflect"
	"sync"
)

var (
	recordsMu sync.Mutex
	records   = map[string]reflect.Type{}
)

// Record declares that bucket holds JSON records of sample's type (a value of
// it, such as API{}). Every package that persists through the store declares
// each of its buckets so, in an init function: the shape of what is stored is
// then known in one place, and TestPersistedShapes (cmd/portico/app) fails
// when it changes without SchemaVersion changing. Safe for concurrent use.
func Record(bucket string, sample any) {
	recordsMu.Lock()
	defer recordsMu.Unlock()
	records[bucket] = reflect.TypeOf(sample)
}

// Records returns the record type of every bucket declared with Record.
func Records() map[string]reflect.Type {
	recordsMu.Lock()
	defer recordsMu.Unlock()
	return maps.Clone(records)
}
