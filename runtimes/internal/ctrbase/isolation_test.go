package ctrbase

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// TestIsolateBridgeHeldUntilLastRelease checks that a bridge's isolation rules
// stay while any runtime of the owner holds them, and go with the last
// release. It changes the host's iptables rules, for a bridge that does not
// exist, so it needs root and iptables.
func TestIsolateBridgeHeldUntilLastRelease(t *testing.T) {
	ipt, err := exec.LookPath("iptables")
	if err != nil || os.Geteuid() != 0 || check(ipt, "-S", "FORWARD") != nil {
		t.Skip("needs root and iptables")
	}
	const bridge, owner = "ptcisotest0", "test/isolation"
	present := func() []bool {
		var out []bool
		for _, r := range isolation.rules(bridge, owner) {
			out = append(out, check(ipt, append([]string{"-C"}, r...)...) == nil)
		}
		return out
	}
	release1, err := IsolateBridge(bridge, owner)
	if err != nil {
		t.Fatal(err)
	}
	release2, err := IsolateBridge(bridge, owner)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = release1(); _ = release2() })
	for _, chain := range []string{"FORWARD", "DOCKER-USER"} {
		if chain == "DOCKER-USER" && check(ipt, "-S", chain) != nil {
			continue
		}
		if check(ipt, "-C", chain, "-j", IsolationStage1) != nil {
			t.Errorf("%s does not jump to %s", chain, IsolationStage1)
		}
	}
	if got := present(); !got[0] || !got[1] {
		t.Fatalf("rules present after IsolateBridge: %v", got)
	}
	if err := release1(); err != nil {
		t.Fatal(err)
	}
	if err := release1(); err != nil { // a second call is a no-op
		t.Fatal(err)
	}
	if got := present(); !got[0] || !got[1] {
		t.Fatalf("rules present while a runtime still holds them: %v", got)
	}
	if err := release2(); err != nil {
		t.Fatal(err)
	}
	if got := present(); got[0] || got[1] {
		t.Fatalf("rules present after the last release: %v", got)
	}
}

// needIptables skips a test that changes the host's rules without root and
// iptables, and returns iptables' path.
func needIptables(t *testing.T) string {
	t.Helper()
	ipt, err := exec.LookPath("iptables")
	if err != nil || os.Geteuid() != 0 || check(ipt, "-S", "FORWARD") != nil {
		t.Skip("needs root and iptables")
	}
	return ipt
}

// count returns how many of chain's rules (iptables -S) contain every one of
// parts.
func count(t *testing.T, ipt, chain string, parts ...string) int {
	t.Helper()
	out, err := exec.Command(ipt, "-w", "-S", chain).Output()
	if err != nil {
		return 0
	}
	n := 0
	for line := range strings.SplitSeq(string(out), "\n") {
		all := line != ""
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}

// TestIsolationChainsGoWithTheLastRule: two runtimes isolating their bridges
// at once share one jump to the chains from FORWARD (and DOCKER-USER); when
// the last lets go, the chains, empty, go too, with the jumps, where they
// used to be left behind empty. The test uses chains of its own, beside
// Portico's, which the Porticos running on the host hold.
func TestIsolationChainsGoWithTheLastRule(t *testing.T) {
	ipt := needIptables(t)
	ch := isoChains{"PTCTEST-ISOLATION-1", "PTCTEST-ISOLATION-2"}
	froms := []string{"FORWARD"}
	if check(ipt, "-S", "DOCKER-USER") == nil {
		froms = append(froms, "DOCKER-USER")
	}
	t.Cleanup(func() {
		for _, from := range froms {
			for check(ipt, "-C", from, "-j", ch.stage1) == nil {
				_ = exec.Command(ipt, "-w", "-D", from, "-j", ch.stage1).Run()
			}
		}
		for _, c := range []string{ch.stage1, ch.stage2} {
			_ = exec.Command(ipt, "-w", "-F", c).Run()
			_ = exec.Command(ipt, "-w", "-X", c).Run()
		}
	})
	releases := make([]func() error, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range releases {
		wg.Go(func() {
			releases[i], errs[i] = ch.isolateBridge(fmt.Sprintf("ptciso%d", i), "test/chains")
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, from := range froms {
		if n := count(t, ipt, from, "-j "+ch.stage1); n != 1 {
			t.Errorf("%s jumps to %s %d times, want once", from, ch.stage1, n)
		}
	}
	if err := releases[0](); err != nil {
		t.Fatal(err)
	}
	if check(ipt, "-S", ch.stage1) != nil || count(t, ipt, ch.stage2, "ptciso1") != 1 {
		t.Fatal("the chains went while a runtime still has a rule in them")
	}
	if err := releases[1](); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{ch.stage1, ch.stage2} {
		if check(ipt, "-S", c) == nil {
			t.Errorf("chain %s left behind after the last release", c)
		}
	}
	for _, from := range froms {
		if n := count(t, ipt, from, "-j "+ch.stage1); n != 0 {
			t.Errorf("%s still jumps to %s", from, ch.stage1)
		}
	}
}

// TestIsolationChainsKeptForAnotherPortico: a rule another Portico put in
// the chains (here one of another owner, added by hand) keeps them, and the
// jumps to them, when this one lets go: isolation is never taken from another.
func TestIsolationChainsKeptForAnotherPortico(t *testing.T) {
	ipt := needIptables(t)
	ch := isoChains{"PTCTEST-ISOLATION-3", "PTCTEST-ISOLATION-4"}
	t.Cleanup(func() {
		for _, from := range []string{"FORWARD", "DOCKER-USER"} {
			for check(ipt, "-C", from, "-j", ch.stage1) == nil {
				_ = exec.Command(ipt, "-w", "-D", from, "-j", ch.stage1).Run()
			}
		}
		for _, c := range []string{ch.stage1, ch.stage2} {
			_ = exec.Command(ipt, "-w", "-F", c).Run()
			_ = exec.Command(ipt, "-w", "-X", c).Run()
		}
	})
	release, err := ch.isolateBridge("ptciso2", "test/mine")
	if err != nil {
		t.Fatal(err)
	}
	other := ch.rules("ptciso3", "test/other")[0]
	if out, err := exec.Command(ipt, append([]string{"-w", "-A"}, other...)...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if check(ipt, append([]string{"-C"}, other...)...) != nil {
		t.Fatal("another Portico's rule is gone")
	}
	if check(ipt, "-C", "FORWARD", "-j", ch.stage1) != nil {
		t.Error("FORWARD no longer jumps to the chains another Portico's rule is in")
	}
}

// TestBlockMetadataOnceUnderConcurrency: runtimes that start at once add
// each metadata rule once, where each used to check for it, find none and
// add its own.
func TestBlockMetadataOnceUnderConcurrency(t *testing.T) {
	ipt := needIptables(t)
	const bridge = "ptcmeta0"
	rules := func(chain string) int { return count(t, ipt, chain, "-i "+bridge+" ", "-j REJECT") }
	t.Cleanup(func() {
		for _, chain := range []string{"FORWARD", "INPUT"} {
			for _, dst := range MetadataAddrs {
				for check(ipt, "-C", chain, "-i", bridge, "-d", dst, "-j", "REJECT") == nil {
					_ = exec.Command(ipt, "-w", "-D", chain, "-i", bridge, "-d", dst, "-j", "REJECT").Run()
				}
			}
		}
	})
	const n = 4
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = BlockMetadata(bridge, "FORWARD")
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, chain := range []string{"FORWARD", "INPUT"} {
		if got := rules(chain); got != len(MetadataAddrs) {
			t.Errorf("%s has %d metadata rules for %s, want %d", chain, got, bridge, len(MetadataAddrs))
		}
	}
}
