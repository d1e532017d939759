package connset

import "testing"

// TestAcquireUpgrade: the WebSocket an upgrade makes is counted while the
// HTTP connection it upgrades still holds its count, and the two count once
// against the limit until UpgradeDone, however many upgrades are under way at
// once (wsapi28: with a limit of 4 and four handshakes in $connect together,
// only two got in, since each counted twice). Once the HTTP connections give
// their counts back, the limit's n connections are all WebSockets.
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
	for i := range 2 {
		if !l.AcquireUpgrade() {
			t.Fatalf("the upgrade of counted connection %d at the limit was refused", i+1)
		}
	}
	if l.Acquire() {
		t.Fatal("a third connection under a limit of 2 was counted while two upgraded")
	}
	for range 2 {
		l.Release()     // the upgraded connection is hijacked
		l.UpgradeDone() // and its handshake ends
	}
	if got := l.Open(); got != 2 {
		t.Fatalf("%d counted, want the two WebSockets", got)
	}
	if l.Acquire() {
		t.Fatal("a connection past two WebSockets under a limit of 2 was counted")
	}
	l.Release() // a WebSocket closes
	if !l.Acquire() {
		t.Fatal("a connection under the limit again was refused")
	}
}
