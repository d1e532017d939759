package ctrbase

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
)

// The chains that keep the sandboxes of one Portico bridge from those of
// another, as Docker's DOCKER-ISOLATION-STAGE-1 and -2 keep its own networks
// apart: stage 1 sends what leaves a Portico bridge for another interface to
// stage 2, which drops it when that interface is a Portico bridge too.
// Forwarding out of the host, and anything addressed to the host itself (the
// Runtime API endpoints and the @connections API on a bridge's address, which
// the host's INPUT chain sees), pass.
const (
	IsolationStage1 = "PORTICO-ISOLATION-STAGE-1"
	IsolationStage2 = "PORTICO-ISOLATION-STAGE-2"
)

// isoChains names a pair of isolation chains: Portico's (isolation), or a
// test's own, so that a test can watch them come and go beside the rules of
// the Porticos that run on the host.
type isoChains struct{ stage1, stage2 string }

var isolation = isoChains{IsolationStage1, IsolationStage2}

// isolationHolds counts, per bridge and owner, the runtimes of this process
// that hold the bridge's isolation rules, so that the last to let go removes
// them. It is guarded by its own mutex, which also serialises this process's
// changes to the chains.
var isolationHolds = struct {
	sync.Mutex
	n map[[2]string]int
}{n: map[[2]string]int{}}

// IsolateBridge makes the host drop what the sandboxes on bridge send to the
// sandboxes on any other bridge isolated so, and what those send to them: the
// bridges' own rules (Docker's for its networks, the containerd runtime's
// egress rules) forward a sandbox's packets to anything beyond its bridge,
// another Portico bridge on the host included. Each bridge's rules carry the
// comment "portico owner", owner being the runtime and its Config.Instance,
// so that installations sharing a bridge each hold their own; rules already
// there are kept. The chains are jumped to from the top of DOCKER-USER, where
// Docker runs (Docker evaluates it before its own rules, and never reorders
// or flushes it), and of FORWARD.
//
// The returned release removes the owner's rules once every runtime of this
// process that isolated the bridge for owner has released it, and then the
// chains and the jumps to them when they hold no rule of another Portico
// (running, or one that left its rules behind); it is safe to call more than
// once. On error (no iptables, no right to change the host's rules) release is
// a no-op. Changes are serialised with other Portico processes' (lockHost).
// Safe for concurrent use.
func IsolateBridge(bridge, owner string) (release func() error, err error) {
	return isolation.isolateBridge(bridge, owner)
}

func (ch isoChains) isolateBridge(bridge, owner string) (release func() error, err error) {
	ipt, err := exec.LookPath("iptables")
	if err != nil {
		return func() error { return nil }, fmt.Errorf("iptables not found: %w", err)
	}
	key := [2]string{ch.stage1 + " " + bridge, owner}
	isolationHolds.Lock()
	defer isolationHolds.Unlock()
	unlock := lockHost()
	defer unlock()
	if err := ch.ensureIsolation(ipt, bridge, owner); err != nil {
		return func() error { return nil }, err
	}
	isolationHolds.n[key]++
	var once sync.Once
	return func() error {
		var err error
		once.Do(func() {
			isolationHolds.Lock()
			defer isolationHolds.Unlock()
			if isolationHolds.n[key]--; isolationHolds.n[key] > 0 {
				return
			}
			delete(isolationHolds.n, key)
			unlock := lockHost()
			defer unlock()
			var errs []error
			for _, r := range ch.rules(bridge, owner) {
				args := append([]string{"-w", "-D", r[0]}, r[1:]...)
				if check(ipt, append([]string{"-C"}, r...)...) != nil {
					continue // gone already
				}
				if out, err := exec.Command(ipt, args...).CombinedOutput(); err != nil { //nolint:gosec // G204: iptables with our own arguments
					errs = append(errs, fmt.Errorf("iptables %v: %w: %s", args, err, out))
				}
			}
			if len(errs) == 0 {
				errs = append(errs, ch.removeIfEmpty(ipt))
			}
			err = errors.Join(errs...)
		})
		return err
	}, nil
}

// removeIfEmpty removes the chains, and the jumps to them from FORWARD and
// DOCKER-USER, when neither holds a rule (every Portico that isolated a
// bridge has let go). Its caller holds lockHost, which every Portico adding
// rules takes too.
func (ch isoChains) removeIfEmpty(ipt string) error {
	for _, chain := range []string{ch.stage1, ch.stage2} {
		out, err := exec.Command(ipt, "-w", "-S", chain).Output() //nolint:gosec // G204: iptables with our own arguments
		if err != nil {
			return nil // gone already, or unreadable: nothing to remove
		}
		for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
			if !strings.HasPrefix(line, "-N ") && !strings.HasPrefix(line, "-P ") {
				return nil // another Portico's rule: the chains stay
			}
		}
	}
	for _, from := range []string{"FORWARD", "DOCKER-USER"} {
		for check(ipt, "-C", from, "-j", ch.stage1) == nil {
			if out, err := exec.Command(ipt, "-w", "-D", from, "-j", ch.stage1).CombinedOutput(); err != nil { //nolint:gosec // G204: iptables with our own arguments
				return fmt.Errorf("iptables -D %s -j %s: %w: %s", from, ch.stage1, err, out)
			}
		}
	}
	// Stage 1 first: its rules (none now) are what would name stage 2.
	for _, chain := range []string{ch.stage1, ch.stage2} {
		if out, err := exec.Command(ipt, "-w", "-X", chain).CombinedOutput(); err != nil { //nolint:gosec // G204: iptables with our own arguments
			return fmt.Errorf("iptables -X %s: %w: %s", chain, err, out)
		}
	}
	return nil
}

// rules are bridge's rules in the isolation chains, each as its chain
// followed by the rule's specification.
func (ch isoChains) rules(bridge, owner string) [][]string {
	comment := []string{"-m", "comment", "--comment", "portico " + owner}
	return [][]string{
		append([]string{ch.stage2, "-o", bridge}, append(comment, "-j", "DROP")...),
		append([]string{ch.stage1, "-i", bridge, "!", "-o", bridge}, append(comment, "-j", ch.stage2)...),
	}
}

// ensureIsolation makes the chains, bridge's rules in them and the jumps to
// them, each unless already there.
func (ch isoChains) ensureIsolation(ipt, bridge, owner string) error {
	for _, chain := range []string{ch.stage2, ch.stage1} {
		if check(ipt, "-S", chain) != nil {
			if out, err := exec.Command(ipt, "-w", "-N", chain).CombinedOutput(); err != nil && check(ipt, "-S", chain) != nil { //nolint:gosec // G204: iptables with our own arguments
				return fmt.Errorf("iptables -N %s: %w: %s", chain, err, out)
			}
		}
	}
	for _, r := range ch.rules(bridge, owner) {
		if check(ipt, append([]string{"-C"}, r...)...) == nil {
			continue
		}
		args := append([]string{"-w", "-A", r[0]}, r[1:]...)
		if out, err := exec.Command(ipt, args...).CombinedOutput(); err != nil { //nolint:gosec // G204: iptables with our own arguments
			return fmt.Errorf("iptables %v: %w: %s", args, err, out)
		}
	}
	from := []string{"FORWARD"}
	if check(ipt, "-S", "DOCKER-USER") == nil {
		from = append(from, "DOCKER-USER")
	}
	for _, chain := range from {
		if check(ipt, "-C", chain, "-j", ch.stage1) == nil {
			continue
		}
		if out, err := exec.Command(ipt, "-w", "-I", chain, "1", "-j", ch.stage1).CombinedOutput(); err != nil { //nolint:gosec // G204: iptables with our own arguments
			return fmt.Errorf("iptables -I %s 1 -j %s: %w: %s", chain, ch.stage1, err, out)
		}
	}
	return nil
}

// check runs ipt with args (a check: -C, -S) and says only whether it
// succeeded.
func check(ipt string, args ...string) error {
	return exec.Command(ipt, append([]string{"-w"}, args...)...).Run() //nolint:gosec // G204: iptables with our own arguments
}
