package testkit

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"go.etcd.io/bbolt"
)

// StageAsSchemaOne rewrites stage key (API id "/" stage name) in the stopped
// server's store under dataDir as store schema version 1 wrote it: a throttle
// that was not set stored as 0/0, in the method setting under method (which
// must exist), and the store marked version 1, so that the next start
// migrates it.
func StageAsSchemaOne(t testing.TB, dataDir, key, method string) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(dataDir, "portico.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("gw_stages"))
		var st map[string]any
		if err := json.Unmarshal(b.Get([]byte(key)), &st); err != nil {
			return fmt.Errorf("stage %s: %w", key, err)
		}
		settings, _ := st["methodSettings"].(map[string]any)
		ms, ok := settings[method].(map[string]any)
		if !ok {
			return fmt.Errorf("stage %s has no method setting %q", key, method)
		}
		ms["throttlingBurstLimit"], ms["throttlingRateLimit"] = 0, 0
		raw, err := json.Marshal(st)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(key), raw); err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("1"))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

// SetSchema marks the stopped server's store under dataDir as store schema
// version v, as an older build left it (its records as they are), so that
// the next start runs the migrations from v.
func SetSchema(t testing.TB, dataDir string, v int) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(dataDir, "portico.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte(strconv.Itoa(v)))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}
