package signin

import (
	"fmt"
	"testing"
	"time"
)

// TestLimiter checks the budget of one address: Burst failures, then one
// every Every; IPv4 addresses apart, an IPv6 /64 as one client; addresses
// that are not IP addresses never limited.
func TestLimiter(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	var l Limiter
	if d := l.Wait("192.0.2.1:1", now); d != 0 {
		t.Fatalf("no failures yet: wait %v", d)
	}
	for range Burst {
		l.Failed("192.0.2.1:1", now)
	}
	if d := l.Wait("192.0.2.1", now); d != Every {
		t.Fatalf("after %d failures: wait %v, want %v", Burst, d, Every)
	}
	if RetryAfter(l.Wait("192.0.2.1:9", now)) != "6" {
		t.Fatal("Retry-After is not 6")
	}
	if d := l.Wait("192.0.2.2:1", now); d != 0 {
		t.Fatalf("another address: wait %v", d)
	}
	if d := l.Wait("192.0.2.1", now.Add(Every)); d != 0 {
		t.Fatalf("after the refill: wait %v", d)
	}
	for i := range Burst {
		l.Failed(fmt.Sprintf("[2001:db8:1:2::%x]:80", i+1), now)
	}
	if l.Wait("2001:db8:1:2:ffff::1", now) == 0 || l.Wait("[2001:db8:1:3::1]:80", now) != 0 {
		t.Fatal("an IPv6 /64 is not one client")
	}
	for range 2 * Burst {
		l.Failed("not an address", now)
	}
	if l.Wait("not an address", now) != 0 {
		t.Fatal("a non-address is limited")
	}
	var nilL *Limiter
	nilL.Failed("192.0.2.1", now)
	if nilL.Wait("192.0.2.1", now) != 0 {
		t.Fatal("a nil Limiter limits")
	}
}

// TestLimiterBounded checks that the limiter tracks at most MaxClients
// addresses: those whose budget is full again are forgotten, and past that new
// addresses share one budget.
func TestLimiterBounded(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	var l Limiter
	addr := func(i int) string { return fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255) }
	for i := range MaxClients + 5 {
		l.Failed(addr(i), now)
	}
	if n := len(l.clients); n > MaxClients {
		t.Fatalf("%d addresses tracked, want at most %d", n, MaxClients)
	}
	// The addresses past the bound share one budget: it runs out.
	extra := MaxClients + 10
	for i := range Burst {
		l.Failed(addr(extra+i), now)
	}
	if l.Wait(addr(extra+Burst), now) == 0 {
		t.Fatal("addresses past the bound are not limited")
	}
	// Once budgets are full again, their addresses make room.
	now = now.Add(Burst * Every)
	l.Failed(addr(extra+100), now)
	k, _ := Client(addr(extra + 100))
	if _, ok := l.clients[k]; !ok || len(l.clients) > MaxClients {
		t.Fatalf("a new address is not tracked after the sweep (%d tracked)", len(l.clients))
	}
}
