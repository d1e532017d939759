package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/portico-dev/portico/internal/errdefs"
)

type doc struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPersistsAcrossReopen: what an Update committed is there after the store is
// closed and opened again, as after a restart.
func TestPersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := open(t, dir)
	if err := s.Update(ctx, func(tx *Tx) error { return tx.Put("things", "a", doc{Name: "a", N: 1}) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	var got doc
	if err := s.View(ctx, func(tx *Tx) error { return tx.Get("things", "a", &got) }); err != nil {
		t.Fatal(err)
	}
	if got != (doc{Name: "a", N: 1}) {
		t.Errorf("after reopen: %+v", got)
	}
}

// TestFailedUpdateRollsBack: an error from the function leaves nothing behind.
func TestFailedUpdateRollsBack(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx *Tx) error {
		if err := tx.Put("things", "a", doc{Name: "a"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	_ = s.View(ctx, func(tx *Tx) error {
		if tx.Has("things", "a") {
			t.Error("a failed Update's write is visible")
		}
		return nil
	})
}

// TestTogether: steps share one transaction; a later step's error undoes an
// earlier step's write, and a step sees what an earlier one wrote.
func TestTogether(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	write := func(bucket, key string) Step {
		return func(tx *Tx) error { return tx.Put(bucket, key, doc{Name: key}) }
	}
	refuse := errors.New("refused")
	err := s.Together(ctx, write("one", "x"), write("two", "y"), func(*Tx) error { return refuse })
	if !errors.Is(err, refuse) {
		t.Fatalf("Together = %v, want refused", err)
	}
	seen := false
	err = s.ViewTogether(ctx, func(tx *Tx) error {
		seen = tx.Has("one", "x") || tx.Has("two", "y")
		return nil
	})
	if err != nil || seen {
		t.Fatalf("refused steps left writes (%v, %v)", seen, err)
	}
	var inSecond bool
	err = s.Together(ctx, write("one", "x"), func(tx *Tx) error {
		inSecond = tx.Has("one", "x")
		return tx.Put("two", "y", doc{})
	})
	if err != nil || !inSecond {
		t.Fatalf("second step saw the first's write: %v (%v)", inSecond, err)
	}
}

func TestTxHelpers(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	err := s.Update(ctx, func(tx *Tx) error {
		for _, k := range []string{"fn\x00a", "fn\x00b", "fnx\x00c", "other\x00d"} {
			if err := tx.Put("b", k, doc{Name: k}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx *Tx) error {
		var d doc
		if err := tx.Get("b", "missing", &d); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("Get of a missing key: %v, want ErrNotFound", err)
		}
		if err := tx.Get("no-bucket", "x", &d); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("Get in a missing bucket: %v, want ErrNotFound", err)
		}
		if tx.Has("no-bucket", "x") {
			t.Error("Has in a missing bucket")
		}
		var keys []string
		err := tx.ForEach("b", "fn\x00", func(k string, raw []byte) error {
			var d doc
			if err := json.Unmarshal(raw, &d); err != nil || d.Name != k {
				t.Errorf("ForEach %q: %+v %v", k, d, err)
			}
			keys = append(keys, k)
			return nil
		})
		if err != nil || strings.Join(keys, ",") != "fn\x00a,fn\x00b" {
			t.Errorf("ForEach with prefix: %q %v", keys, err)
		}
		stop := errors.New("stop")
		if err := tx.ForEach("b", "", func(string, []byte) error { return stop }); !errors.Is(err, stop) {
			t.Errorf("ForEach did not return fn's error: %v", err)
		}
		return tx.ForEach("no-bucket", "", func(string, []byte) error { t.Error("walked a missing bucket"); return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(tx *Tx) error {
		if err := tx.DeletePrefix("b", "fn\x00"); err != nil {
			return err
		}
		if err := tx.Delete("b", "missing"); err != nil {
			return err
		}
		if err := tx.DeletePrefix("no-bucket", ""); err != nil {
			return err
		}
		first, err := tx.NextSequence("seq")
		if err != nil {
			return err
		}
		second, err := tx.NextSequence("seq")
		if err != nil {
			return err
		}
		if first != 1 || second != 2 {
			t.Errorf("NextSequence = %d, %d; want 1, 2", first, second)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.View(ctx, func(tx *Tx) error {
		if tx.Has("b", "fn\x00a") || tx.Has("b", "fn\x00b") || !tx.Has("b", "fnx\x00c") || !tx.Has("b", "other\x00d") {
			t.Error("DeletePrefix removed the wrong keys")
		}
		return nil
	})
}

// TestCancelledContext: a cancelled context runs nothing.
func TestCancelledContext(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	if err := s.Update(ctx, func(*Tx) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("Update with a cancelled context: %v (ran %v)", err, ran)
	}
	if err := s.View(ctx, func(*Tx) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("View with a cancelled context: %v (ran %v)", err, ran)
	}
}

func TestOpen(t *testing.T) {
	if _, err := Open(""); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("Open(\"\") = %v, want ErrInvalid", err)
	}
	t.Run("relative directory made absolute", func(t *testing.T) {
		t.Chdir(t.TempDir())
		s := open(t, "data")
		defer s.Close()
		if !filepath.IsAbs(s.Dir()) || filepath.Base(s.Dir()) != "data" {
			t.Errorf("Dir() = %q, want an absolute path ending in data", s.Dir())
		}
		p, err := s.Path("code", "abc", "f")
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(filepath.Dir(p)); err != nil || !fi.IsDir() || p != filepath.Join(s.Dir(), "code", "abc", "f") {
			t.Errorf("Path = %q, parent made: %v", p, err)
		}
	})
	t.Run("another schema version is refused", func(t *testing.T) {
		dir := t.TempDir()
		db, err := bbolt.Open(filepath.Join(dir, fileName), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(func(tx *bbolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte(metaBucket))
			if err != nil {
				return err
			}
			return b.Put([]byte(schemaKey), []byte("999"))
		})
		_ = db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "schema version 999") {
			t.Errorf("Open of a newer schema: %v", err)
		}
	})
}

// writeSchema sets the schema version of the store file in dir by hand.
func writeSchema(t *testing.T, dir, v string) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(dir, fileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(metaBucket))
		if err != nil {
			return err
		}
		return b.Put([]byte(schemaKey), []byte(v))
	}); err != nil {
		t.Fatal(err)
	}
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	// old makes a store at version 1 holding one record.
	old := func(t *testing.T) string {
		dir := t.TempDir()
		s := open(t, dir)
		if err := s.Update(ctx, func(tx *Tx) error { return tx.Put("b", "k", doc{Name: "old", N: 1}) }); err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
		writeSchema(t, dir, strconv.Itoa(SchemaVersion-1))
		return dir
	}
	bump := Migration{From: SchemaVersion - 1, Name: "bump n", Run: func(tx *Tx) error {
		var d doc
		if err := tx.Get("b", "k", &d); err != nil {
			return err
		}
		d.N++
		return tx.Put("b", "k", d)
	}}
	read := func(t *testing.T, s *Store) doc {
		var d doc
		if err := s.View(ctx, func(tx *Tx) error { return tx.Get("b", "k", &d) }); err != nil {
			t.Fatal(err)
		}
		return d
	}

	t.Run("an old store is migrated once", func(t *testing.T) {
		dir := old(t)
		s, err := Open(dir, bump)
		if err != nil {
			t.Fatal(err)
		}
		if d := read(t, s); d.N != 2 {
			t.Fatalf("after the migration: %+v, want n 2", d)
		}
		_ = s.Close()
		// At the new version: the migration does not run again.
		s, err = Open(dir, bump)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = s.Close() }()
		if d := read(t, s); d.N != 2 {
			t.Fatalf("after a second open: %+v, want n 2", d)
		}
	})
	t.Run("a failed migration leaves the old store", func(t *testing.T) {
		dir := old(t)
		// It writes, then fails: as a crash half way through would, the
		// store keeps version 1 and the record as it was.
		broken := Migration{From: SchemaVersion - 1, Name: "broken", Run: func(tx *Tx) error {
			if err := bump.Run(tx); err != nil {
				return err
			}
			return errors.New("disk on fire")
		}}
		if _, err := Open(dir, broken); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("migration %d to %d (broken): disk on fire", SchemaVersion-1, SchemaVersion)) {
			t.Fatalf("Open with a failing migration: %v", err)
		}
		s, err := Open(dir, bump)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = s.Close() }()
		if d := read(t, s); d.N != 2 {
			t.Fatalf("after the failed and then a good migration: %+v, want n 2 (bumped once)", d)
		}
	})
	t.Run("a missing migration is refused", func(t *testing.T) {
		dir := old(t)
		if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("schema version %d and no migration to %d", SchemaVersion-1, SchemaVersion)) {
			t.Fatalf("Open without the migration: %v", err)
		}
		// Refused without a change: the migration still runs later.
		s, err := Open(dir, bump)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = s.Close() }()
		if d := read(t, s); d.N != 2 {
			t.Fatalf("%+v, want n 2", d)
		}
	})
	t.Run("every migration of a version runs, and says what it changed", func(t *testing.T) {
		dir := old(t)
		note := Migration{From: SchemaVersion - 1, Name: "a note", Run: func(tx *Tx) error {
			tx.Changed("b/k", "read differently")
			return nil
		}}
		s, err := Open(dir, bump, note)
		if err != nil {
			t.Fatal(err)
		}
		if d := read(t, s); d.N != 2 {
			t.Fatalf("%+v, want n 2", d)
		}
		want := []MigrationReport{
			{From: SchemaVersion - 1, To: SchemaVersion, Name: "a note", Changes: []Change{{Record: "b/k", How: "read differently"}}},
			{From: SchemaVersion - 1, To: SchemaVersion, Name: "bump n"},
		}
		if got := s.Migrated(); !reflect.DeepEqual(got, want) {
			t.Fatalf("Migrated() = %+v, want %+v", got, want)
		}
		_ = s.Close()
		s, err = Open(dir, bump, note)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = s.Close() }()
		if got := s.Migrated(); len(got) != 0 {
			t.Fatalf("at the current version Migrated() = %+v, want none", got)
		}
	})
	t.Run("a new store needs none", func(t *testing.T) {
		s, err := Open(t.TempDir(), Migration{From: 1, Name: "never", Run: func(*Tx) error { return errors.New("ran") }})
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
	})
	t.Run("a bad version is refused", func(t *testing.T) {
		dir := old(t)
		writeSchema(t, dir, "one")
		if _, err := Open(dir, bump); err == nil || !strings.Contains(err.Error(), `schema version "one"`) {
			t.Fatalf("Open of schema %q: %v", "one", err)
		}
	})
}

// TestDamagedSchemaSaysWhatToDo is the faults18 tester's: a meta/schema value
// that is not a version refused the start without a next step; the refusal
// now names the record and the restore.
func TestDamagedSchemaSaysWhatToDo(t *testing.T) {
	dir := t.TempDir()
	writeSchema(t, dir, `{"garbage`)
	_, err := Open(dir)
	if err == nil || !strings.Contains(err.Error(), "meta/schema is damaged") || !strings.Contains(err.Error(), "restore portico.db from a backup") {
		t.Fatalf("Open with a damaged schema record: %v, want it to name the record and the restore", err)
	}
}
