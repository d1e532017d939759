package containerd

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	taskv2 "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/ttrpc"
)

// Orphaned shims. containerd 1.6 deletes a task in four steps: the shim
// deletes the task, containerd drops its record of it, asks the shim to shut
// down, and deletes the bundle, even when the shutdown failed. A delete cut
// off between the first step and the third (an outage of containerd, or the
// connection to it cut) leaves a containerd-shim-runc-v2 that nothing knows
// of: no record, no bundle, and, once Portico deletes the container, no
// container either, so no Cleanup ever finds it. (containerd 2 keeps the record
// and the bundle when the shutdown fails, for a retry, and forgetTask
// completes that.) The runtime therefore ends the shims of its namespace
// whose container containerd no longer knows: at Cleanup (start and
// shutdown) and after each outage's sweep.

// shimProc is a running shim: its process and the container it serves.
type shimProc struct {
	pid int
	id  string
}

// shimsIn returns the shims running for the containerd at socket in namespace
// ns that serve Portico containers, read from the proc file system at proc.
// Shims that have exited (zombies) are left out. A shim names containerd's
// socket as containerd was told to listen, which may be another path to the
// same socket than the runtime's (/var/run is a link to /run on Debian).
func shimsIn(proc, ns, socket string) []shimProc {
	dirs, err := os.ReadDir(proc)
	if err != nil {
		return nil
	}
	own, _ := os.Stat(socket)
	sameSocket := func(addr string) bool {
		if addr == socket {
			return true
		}
		fi, err := os.Stat(addr) //nolint:gosec // G703: a stat of the socket a shim names, compared with ours; nothing is opened
		return err == nil && own != nil && os.SameFile(fi, own)
	}
	var out []shimProc
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(proc, d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if id, ok := shimOf(strings.Split(string(b), "\x00"), ns, sameSocket); ok && !exited(proc, pid) {
			out = append(out, shimProc{pid: pid, id: id})
		}
	}
	return out
}

// shimOf reads a process's arguments as a shim's (containerd-shim-* -namespace
// ns -id ID -address ADDR, with socket(ADDR) true) and returns the id of the
// Portico container it serves.
func shimOf(args []string, ns string, socket func(string) bool) (string, bool) {
	if len(args) == 0 || !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") {
		return "", false
	}
	var gotNS, id, addr string
	for i := 1; i+1 < len(args); i++ {
		switch args[i] {
		case "-namespace":
			gotNS = args[i+1]
		case "-id":
			id = args[i+1]
		case "-address":
			addr = strings.TrimPrefix(args[i+1], "unix://")
		}
	}
	if gotNS != ns || !strings.HasPrefix(id, containerID("")) || !socket(addr) {
		return "", false
	}
	return id, true
}

// exited reports whether pid has exited: gone, or a zombie not reaped yet.
func exited(proc string, pid int) bool {
	b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// endOrphanShims ends the shims of the runtime's namespace, any instance's,
// whose container containerd no longer knows, and returns how many it ended.
// The processes are read before the containers are listed: containerd makes a
// container before its task's shim, so a shim seen first whose container the
// list lacks was left by its container's removal, and one started after the
// read is not looked at.
func (r *Runtime) endOrphanShims(ctx context.Context) (int, error) {
	found := shimsIn("/proc", r.cfg.Namespace, r.cfg.Socket)
	if len(found) == 0 {
		return 0, nil
	}
	cs, err := r.cli.Containers(r.ctx(ctx))
	if err != nil {
		return 0, r.wrap("listing containers", err)
	}
	known := make(map[string]bool, len(cs))
	for _, c := range cs {
		known[c.ID()] = true
	}
	ended := 0
	for _, s := range found {
		if known[s.id] {
			continue
		}
		r.log.Warn("ending a shim whose container containerd no longer knows (a task delete was cut off)", "container", s.id, "pid", s.pid)
		endShim(ctx, "/proc", s)
		ended++
	}
	return ended, nil
}

// sweepOrphanShims is endOrphanShims for Cleanup and the outage sweep, which
// go on whatever it finds: a failure is logged.
func (r *Runtime) sweepOrphanShims(ctx context.Context) {
	if _, err := r.endOrphanShims(ctx); err != nil {
		r.log.Warn("looking for shims whose container containerd no longer knows", "err", err)
	}
}

// shimExitWait bounds the wait for an orphaned shim to exit after its
// shutdown before it is killed.
const shimExitWait = 2 * time.Second

// endShim asks shim s to delete its task and shut down, through the socket it
// listens on, kills it if it has not exited within shimExitWait (a shim that
// still serves a task ignores a shutdown), and removes its socket, which a shim
// whose bundle is gone cannot find to remove itself.
func endShim(ctx context.Context, proc string, s shimProc) {
	socks := listeningSockets(proc, s.pid)
	for _, path := range socks {
		shutdownShim(ctx, path, s.id)
	}
	deadline := time.Now().Add(shimExitWait)
	for !exited(proc, s.pid) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	if !exited(proc, s.pid) && sameShim(proc, s) {
		_ = syscall.Kill(s.pid, syscall.SIGKILL)
	}
	for _, path := range socks {
		_ = os.Remove(path)
	}
}

// sameShim reports whether pid still runs the shim of s.id (not a process
// that reused the pid).
func sameShim(proc string, s shimProc) bool {
	b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(s.pid), "cmdline"))
	if err != nil {
		return false
	}
	args := strings.Split(string(b), "\x00")
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-id" {
			return args[i+1] == s.id && strings.HasPrefix(filepath.Base(args[0]), "containerd-shim")
		}
	}
	return false
}

// shutdownShim asks the shim listening at path to delete the task of id (what
// is left of it) and shut down. Errors are not reported: the caller kills a
// shim that did not exit.
func shutdownShim(ctx context.Context, path, id string) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return
	}
	c := ttrpc.NewClient(conn)
	defer func() { _ = c.Close() }()
	tc := taskv2.NewTTRPCTaskClient(c)
	_, _ = tc.Delete(ctx, &taskv2.DeleteRequest{ID: id})
	_, _ = tc.Shutdown(ctx, &taskv2.ShutdownRequest{ID: id})
}

// listeningSockets returns the paths of the Unix sockets process pid listens
// on (a shim's ttrpc socket), from its descriptors and the kernel's table of
// Unix sockets; abstract sockets are left out.
func listeningSockets(proc string, pid int) []string {
	fds, err := os.ReadDir(filepath.Join(proc, strconv.Itoa(pid), "fd"))
	if err != nil {
		return nil
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(proc, strconv.Itoa(pid), "fd", fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	if len(inodes) == 0 {
		return nil
	}
	f, err := os.Open(filepath.Join(proc, strconv.Itoa(pid), "net", "unix"))
	if err != nil {
		return nil
	}
	defer func() { _ = f.Close() }()
	return listeningPaths(bufio.NewScanner(f), inodes)
}

// soAcceptCon is the flag of a listening socket in /proc/net/unix.
const soAcceptCon = 1 << 16

// listeningPaths reads /proc/net/unix ("Num RefCount Protocol Flags Type St
// Inode Path") and returns the paths of the listening sockets among inodes.
func listeningPaths(sc *bufio.Scanner, inodes map[string]bool) []string {
	var paths []string
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || !inodes[f[6]] || strings.HasPrefix(f[7], "@") {
			continue
		}
		var flags uint64
		if _, err := fmt.Sscanf(f[3], "%x", &flags); err != nil || flags&soAcceptCon == 0 {
			continue
		}
		paths = append(paths, f[7])
	}
	return paths
}

// Orphaned network attachments. A sandbox's address (host-local's lease) and
// network namespace are made before its container, and the container's label
// is the only record of the namespace: a prepare cut off between the two (the
// process killed, or a test), or a teardown that lost the container first,
// leaves an address, a veth and a namespace that no Cleanup, which works from
// containers, ever finds. So Cleanup and the sweep after an outage also
// release, with a CNI DEL under the container's id, every lease on the
// network that names a Portico container containerd no longer knows in any
// namespace, and remove the namespace that holds the address. A lease younger
// than leaseGrace is left alone: its sandbox may be between its attach and
// its container's create, here or in another process. So is one whose
// namespace some process is in (a sandbox of another containerd sharing the
// network: a task, even one created and not started, has its process there),
// and one whose address no namespace under NetNSDir holds (another Portico's,
// with a NetNSDir of its own): releasing those could give a live sandbox's
// address to another.

// leaseGrace is how old a lease without a container must be to be released.
const leaseGrace = time.Minute

// endOrphanNetworks releases the leases on the network of Portico containers
// containerd no longer knows, made before before, and removes their network
// namespaces; it returns how many it released.
func (r *Runtime) endOrphanNetworks(ctx context.Context, before time.Time) (int, error) {
	leases, err := r.net.leases()
	if err != nil {
		return 0, err
	}
	var found []lease
	for _, l := range leases {
		if strings.HasPrefix(l.id, containerID("")) && l.made.Before(before) {
			found = append(found, l)
		}
	}
	if len(found) == 0 {
		return 0, nil
	}
	known, err := r.allContainers(ctx)
	if err != nil {
		return 0, err
	}
	var (
		byAddr map[netip.Addr]string
		inUse  map[nsID]bool
	)
	ended := 0
	for _, l := range found {
		if known[l.id] {
			continue
		}
		if byAddr == nil {
			byAddr, inUse = r.net.namespacesByAddr(), namespacesInUse("/proc")
		}
		nsPath := byAddr[l.addr]
		if nsPath == "" || inUse[namespaceID(nsPath)] {
			continue
		}
		r.log.Warn("releasing a network address whose container containerd no longer knows", "container", l.id, "address", l.addr, "netns", nsPath)
		if err := r.net.detach(ctx, l.id, nsPath); err != nil {
			r.log.Warn("releasing a network address whose container containerd no longer knows", "container", l.id, "err", err)
			continue
		}
		ended++
	}
	return ended, nil
}

// nsID identifies a namespace: the device and inode of its file.
type nsID struct{ dev, ino uint64 }

// namespaceID returns the identity of the namespace mounted at path (the zero
// nsID when it cannot be read).
func namespaceID(path string) nsID {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return nsID{}
	}
	return nsID{dev: st.Dev, ino: st.Ino}
}

// namespacesInUse returns the network namespaces that some process is in,
// read from the proc file system at proc.
func namespacesInUse(proc string) map[nsID]bool {
	dirs, err := os.ReadDir(proc)
	if err != nil {
		return nil
	}
	out := map[nsID]bool{}
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		if id := namespaceID(filepath.Join(proc, d.Name(), "ns", "net")); id != (nsID{}) {
			out[id] = true
		}
	}
	return out
}

// allContainers returns the ids of the containers of every containerd
// namespace: another Portico, with a namespace of its own, may share the
// network.
func (r *Runtime) allContainers(ctx context.Context) (map[string]bool, error) {
	nss, err := r.cli.NamespaceService().List(ctx)
	if err != nil {
		return nil, r.wrap("listing namespaces", err)
	}
	known := map[string]bool{}
	for _, ns := range nss {
		cs, err := r.cli.ContainerService().List(namespaces.WithNamespace(ctx, ns))
		if err != nil {
			return nil, r.wrap("listing the containers of namespace "+ns, err)
		}
		for _, c := range cs {
			known[c.ID] = true
		}
	}
	return known, nil
}

// sweepOrphans ends what Cleanup and the outage sweep look for beyond
// containers: orphaned shims, then orphaned network attachments. Failures are
// logged: both go on whatever they find.
func (r *Runtime) sweepOrphans(ctx context.Context) {
	r.sweepOrphanShims(ctx)
	if _, err := r.endOrphanNetworks(ctx, time.Now().Add(-r.leaseGrace)); err != nil {
		r.log.Warn("looking for network addresses whose container containerd no longer knows", "err", err)
	}
}
