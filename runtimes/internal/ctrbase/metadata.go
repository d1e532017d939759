package ctrbase

import (
	"errors"
	"fmt"
	"os/exec"
)

// MetadataAddrs are the link-local endpoints that hand out a cloud host's own
// credentials: the instance metadata service of EC2, GCE and Azure, and ECS's
// task credentials endpoint. Lambda gives a function none of them; a sandbox's
// credentials are its environment's.
var MetadataAddrs = []string{"169.254.169.254/32", "169.254.170.2/32"}

// BlockMetadata makes the host refuse what sandboxes on bridge send to
// MetadataAddrs: a rule at the top of forwardChain (where the host routes their
// packets out; Docker's DOCKER-USER, else FORWARD) and of INPUT (where the host
// itself answers on the address, as a metadata proxy does), each rejecting at
// once rather than letting the connection hang. A rule already there is kept,
// and runtimes that start at once (in this process or another Portico's) add
// it once (lockHost). It needs iptables and the right to change the host's
// rules. Safe for concurrent use.
func BlockMetadata(bridge, forwardChain string) error {
	ipt, err := exec.LookPath("iptables")
	if err != nil {
		return fmt.Errorf("iptables not found: %w", err)
	}
	unlock := lockHost()
	defer unlock()
	var errs []error
	for _, chain := range []string{forwardChain, "INPUT"} {
		for _, dst := range MetadataAddrs {
			spec := []string{"-i", bridge, "-d", dst, "-j", "REJECT"}
			if exec.Command(ipt, append([]string{"-w", "-C", chain}, spec...)...).Run() == nil {
				continue
			}
			args := append([]string{"-w", "-I", chain, "1"}, spec...)
			if out, err := exec.Command(ipt, args...).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("iptables %v: %w: %s", args, err, out))
			}
		}
	}
	return errors.Join(errs...)
}
