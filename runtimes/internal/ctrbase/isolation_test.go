package ctrbase

import (
	"os"
	"os/exec"
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
		for _, r := range isolationRules(bridge, owner) {
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
