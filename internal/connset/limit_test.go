package connset

import (
	"log/slog"
	"testing"
)

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

// TestAcquireSheddingTakesOneIdlePlace: at the limit, a new connection takes
// the place of one idle connection (the accepting server's first), and no
// more is closed for it; with none to close, it is refused.
func TestAcquireSheddingTakesOneIdlePlace(t *testing.T) {
	l := NewLimit(2)
	idle := map[string]int{"self": 1, "other": 1}
	asked := 0
	shedder := func(name string) func(int) int {
		return func(n int) int {
			asked += n
			k := min(n, idle[name])
			idle[name] -= k
			return k
		}
	}
	self := l.AddShedder(shedder("self"))
	l.AddShedder(shedder("other"))
	log := slog.New(slog.DiscardHandler)
	for range 2 {
		if !l.AcquireShedding(log, "test", self) {
			t.Fatal("a connection under the limit was refused")
		}
	}
	if !l.AcquireShedding(log, "test", self) || idle["self"] != 0 || idle["other"] != 1 || asked != 1 {
		t.Fatalf("at the limit: idle left %v, %d asked for; want self's one closed, and only it", idle, asked)
	}
	l.Release() // the closed one's server sees it close
	if !l.AcquireShedding(log, "test", self) || idle["other"] != 0 {
		t.Fatalf("at the limit again: idle left %v; want the other server's closed", idle)
	}
	l.Release()
	if l.AcquireShedding(log, "test", self) {
		t.Fatal("a connection at the limit was counted with no idle one to close for it")
	}
	if got := l.Open(); got != 2 {
		t.Fatalf("%d counted, want 2", got)
	}
}
