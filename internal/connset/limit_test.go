package connset

import "testing"

// TestAcquireUpgrade: the WebSocket an upgrade makes is counted while the
// HTTP connection it upgrades still holds its count, so it may pass the limit
// by that one; a second upgrade in that same moment may not. Once the HTTP
// connection gives its count back, the limit's n connections are all
// WebSockets.
func TestAcquireUpgrade(t *testing.T) {
	l := NewLimit(2)
	for i := range 2 {
		if !l.Acquire() {
			t.Fatalf("connection %d under a limit of 2 refused", i+1)
		}
	}
	if l.Acquire() {
		t.Fatal("a third connection under a limit of 2 was counted")
	}
	if !l.AcquireUpgrade() {
		t.Fatal("the upgrade of a counted connection at the limit was refused")
	}
	if l.AcquireUpgrade() {
		t.Fatal("a second upgrade past the limit by one was counted")
	}
	l.Release() // the first upgraded connection is hijacked
	if !l.AcquireUpgrade() {
		t.Fatal("the second connection's upgrade was refused")
	}
	l.Release() // and hijacked
	if got := l.Open(); got != 2 {
		t.Fatalf("%d counted, want the two WebSockets", got)
	}
	if l.Acquire() {
		t.Fatal("a connection past two WebSockets under a limit of 2 was counted")
	}
}
