package functions

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
)

func TestUsageAndReservations(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.create(t, "alpha", true) // $LATEST and version 1 share one package
	b := e.create(t, "bravo", false)
	if err := e.svc.SetReservedConcurrency(ctx, "alpha", ptr(7)); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetReservedConcurrency(ctx, "bravo", ptr(0)); err != nil {
		t.Fatal(err)
	}
	u, err := e.svc.Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (AccountUsage{Functions: 2, CodeSize: a.CodeSize + b.CodeSize, Reserved: 7}); u != want {
		t.Errorf("Usage = %+v, want %+v", u, want)
	}
	r, err := e.svc.Reservations(ctx)
	if err != nil || len(r) != 2 || r["alpha"] != 7 || r["bravo"] != 0 {
		t.Errorf("Reservations = %v, %v; want alpha 7, bravo 0", r, err)
	}
}

// TestReservationCheck: a raise is checked with the sum of every reservation
// after it; a lowering is not; provisioned concurrency stays within the
// reservation.
func TestReservationCheck(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "alpha", true)
	e.create(t, "bravo", true)
	var got []int
	e.svc.SetReservationCheck(func(total int) error {
		got = append(got, total)
		if total > 10 {
			return invalidf("over %d", total)
		}
		return nil
	})
	steps := []struct {
		name    string
		fn      string
		n       *int
		wantErr bool
	}{
		{"first reservation", "alpha", ptr(6), false},
		{"second fits", "bravo", ptr(4), false},
		{"raise past the account", "bravo", ptr(5), true},
		{"lower", "alpha", ptr(2), false},
		{"raise now fits", "bravo", ptr(8), false},
		{"remove", "bravo", nil, false},
	}
	for _, s := range steps {
		err := e.svc.SetReservedConcurrency(ctx, s.fn, s.n)
		if (err != nil) != s.wantErr || (err != nil && !errors.Is(err, errdefs.ErrInvalid)) {
			t.Fatalf("%s: SetReservedConcurrency(%s) = %v, want error %v", s.name, s.fn, err, s.wantErr)
		}
	}
	if want := fmt.Sprint([]int{6, 10, 11, 10}); fmt.Sprint(got) != want {
		t.Errorf("check saw totals %v, want %s (lowering and removing are not checked)", got, want)
	}

	// alpha is reserved 2: provisioned concurrency of its versions and aliases
	// stays within it.
	if _, err := e.svc.PutProvisioned(ctx, "alpha", "1", 3); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("provisioned 3 over a reservation of 2 = %v, want ErrInvalid", err)
	}
	if _, err := e.svc.PutProvisioned(ctx, "alpha", "1", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.PutProvisioned(ctx, "alpha", "1", 1); err != nil {
		t.Errorf("lowering provisioned within the reservation: %v", err)
	}
	// A reservation may still go below what is provisioned (a deploy lowers
	// it before the provisioned concurrency); calls are then held to it.
	if err := e.svc.SetReservedConcurrency(ctx, "alpha", ptr(0)); err != nil {
		t.Errorf("reservation 0 under provisioned 1: %v", err)
	}
	// Without a reservation, provisioned concurrency is not held in here.
	if _, err := e.svc.PutProvisioned(ctx, "bravo", "1", 50); err != nil {
		t.Errorf("provisioned on an unreserved function: %v", err)
	}
}

// TestReservationsSkipADamagedFunction is the faults14 fixer's: one functions
// record that did not decode (invalid JSON written into a sound page) failed
// Reservations, and with it the invoker's start and the server's ("invoker:
// reading reserved concurrency: store: the stored record functions/alpha is
// damaged"), with no way to reach the record but a restore. Now the damaged
// function is left out (it has no reservation set aside: its own reads name it
// when they meet it) and the others' reservations are read.
func TestReservationsSkipADamagedFunction(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "alpha", false)
	e.create(t, "bravo", false)
	for name, n := range map[string]int{"alpha": 3, "bravo": 5} {
		if err := e.svc.SetReservedConcurrency(ctx, name, ptr(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bbolt.Open(filepath.Join(e.dir, store.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte(bucketFunctions)).Put([]byte("alpha"), []byte(`{"broken`))
	})
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	e.open(t)
	r, err := e.svc.Reservations(ctx)
	if err != nil || len(r) != 1 || r["bravo"] != 5 {
		t.Errorf("Reservations with alpha's record damaged = %v, %v; want bravo 5 and no error", r, err)
	}
	// The DELETE the admin API's answer names (DamagedDelete) removes it
	// without reading it.
	if got := DamagedDelete(bucketFunctions, "alpha"); !strings.Contains(got, "DELETE /2015-03-31/functions/alpha") {
		t.Errorf("DamagedDelete = %q", got)
	}
	if err := e.svc.Delete(ctx, "alpha", ""); err != nil {
		t.Fatalf("delete the damaged function: %v", err)
	}
	if _, err := e.svc.Get(ctx, "alpha", ""); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("after the delete, Get = %v, want not found", err)
	}
}
