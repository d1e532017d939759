package h1

import (
	"net/http"
	"testing"
)

// TestDateClock checks conn.now: within the second of the Date last formatted
// it advances the last full clock reading by the monotonic clock and reads
// the wall clock no more; once that second is not the current one it reads
// the clock in full again, and the Date is formatted anew.
func TestDateClock(t *testing.T) {
	c := &conn{}
	first := c.now()
	if !c.clockAt.Equal(first) {
		t.Fatal("the first reading is not a full one")
	}
	if got, want := string(c.dateValue(first)), first.UTC().Format(http.TimeFormat); got != want {
		t.Fatalf("Date %q, want %q", got, want)
	}
	for range 100 {
		now := c.now()
		if now.Before(first) {
			t.Fatalf("%v before the first reading %v", now, first)
		}
		if now.Unix() == first.Unix() && !c.clockAt.Equal(first) {
			t.Fatal("a full clock reading within the Date's second")
		}
		if now.Unix() != first.Unix() {
			break // the second passed: a full reading, tested below
		}
	}
	// The Date last formatted is of an earlier second (as after a second, or
	// an idle connection's hour): the clock is read in full.
	c.dateSec = first.Unix() - 1
	now := c.now()
	if !c.clockAt.Equal(now) || c.clockAt.Equal(first) {
		t.Fatal("no full clock reading once the Date's second has passed")
	}
	if got, want := string(c.dateValue(now)), now.UTC().Format(http.TimeFormat); got != want {
		t.Fatalf("Date %q, want %q", got, want)
	}
}
