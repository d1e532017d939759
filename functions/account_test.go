package functions

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
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
