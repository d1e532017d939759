package ctrbase

import (
	"errors"
	"fmt"
	"os/exec"
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
// process that isolated the bridge for owner has released it; it is safe to
// call more than once. On error (no iptables, no right to change the host's
// rules) release is a no-op. Safe for concurrent use.
func IsolateBridge(bridge, owner string) (release func() error, err error) {
	ipt, err := exec.LookPath("iptables")
	if err != nil {
		return func() error { return nil }, fmt.Errorf("iptables not found: %w", err)
	}
	key := [2]string{bridge, owner}
	isolationHolds.Lock()
	defer isolationHolds.Unlock()
	if err := ensureIsolation(ipt, bridge, owner); err != nil {
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
			var errs []error
			for _, r := range isolationRules(bridge, owner) {
				args := append([]string{"-w", "-D", r[0]}, r[1:]...)
				if check(ipt, append([]string{"-C"}, r...)...) != nil {
					continue // gone already
				}
				if out, err := exec.Command(ipt, args...).CombinedOutput(); err != nil { //nolint:gosec // G204: iptables with our own arguments
					errs = append(errs, fmt.Errorf("iptables %v: %w: %s", args, err, out))
				}
			}
			err = errors.Join(errs...)
		})
		return err
	}, nil
}

// isolationRules are bridge's rules in the isolation chains, each as its
// chain followed by the rule's specification.
func isolationRules(bridge, owner string) [][]string {
	comment := []string{"-m", "comment", "--comment", "portico " + owner}
	return [][]string{
		append([]string{IsolationStage2, "-o", bridge}, append(comment, "-j", "DROP")...),
		append([]string{IsolationStage1, "-i", bridge, "!", "-o", bridge}, append(comment, "-j", IsolationStage2)...),
	}
}

// ensureIsolation makes the chains, bridge's rules in them and the jumps to
// them, each unless already there.
func ensureIsolation(ipt, bridge, owner string) error {
	for _, chain := range []string{IsolationStage2, IsolationStage1} {
		if check(ipt, "-S", chain) != nil {
			if out, err := exec.Command(ipt, "-w", "-N", chain).CombinedOutput(); err != nil && check(ipt, "-S", chain) != nil { //nolint:gosec // G204: iptables with our own arguments
				return fmt.Errorf("iptables -N %s: %w: %s", chain, err, out)
			}
		}
	}
	for _, r := range isolationRules(bridge, owner) {
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
		if check(ipt, "-C", chain, "-j", IsolationStage1) == nil {
			continue
		}
		if out, err := exec.Command(ipt, "-w", "-I", chain, "1", "-j", IsolationStage1).CombinedOutput(); err != nil { //nolint:gosec // G204: iptables with our own arguments
			return fmt.Errorf("iptables -I %s 1 -j %s: %w: %s", chain, IsolationStage1, err, out)
		}
	}
	return nil
}

// check runs ipt with args (a check: -C, -S) and says only whether it
// succeeded.
func check(ipt string, args ...string) error {
	return exec.Command(ipt, append([]string{"-w"}, args...)...).Run() //nolint:gosec // G204: iptables with our own arguments
}
