// Package shim is the process runtime's mount shim. Where the host lets
// Portico make mount namespaces (root, or CAP_SYS_ADMIN; any user inside a
// user namespace of its own, see the process runtime's mounts.go), a sandbox
// with volumes is started as Portico's own binary (/proc/self/exe) in a mount
// namespace of its own (Go's Unshareflags, which also makes every mount in it
// private). Before anything else runs, this package's init sees Env, becomes
// the shim and never returns: it lays a tmpfs over /mnt in that namespace,
// binds back what the host has there, binds each volume at its /mnt/NAME, and
// execs the bootstrap with the sandbox's environment. So each sandbox sees its
// own installation's volumes at /mnt/NAME, and nothing of that is visible to,
// or changed for, the rest of the host: the mounts go with the namespace when
// the sandbox's last process exits.
//
// The package imports the standard library and golang.org/x/sys/unix only, so
// that Go runs its init early in a binary's start: a package is initialized as
// soon as its imports are, and the shim then has no need of the rest of
// Portico's packages, whose inits (JSON schema compilers, protobuf
// descriptors, gRPC) would otherwise run first in every sandbox's start.
// BenchmarkColdStartWithVolume measures what it costs.
package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// Env is the variable that makes the binary the mount shim, set to run,
	// runUserNS or probe.
	Env = "_PORTICO_PROCESS_SHIM"
	// MountsEnv holds the volumes to bind, as JSON [[source, target], ...].
	MountsEnv = "_PORTICO_PROCESS_SHIM_MOUNTS"

	run       = "run"        // bind the volumes, then exec os.Args[0]
	runUserNS = "run-userns" // run in a user namespace: drop every capability before the exec
	probe     = "probe"      // lay the tmpfs over /mnt, then exit 0

	// Failed is the exit status of a shim that could not set up the
	// sandbox's mounts (its reason is on stderr, in the sandbox's logs).
	Failed = 126
)

// Mount is a volume: the host directory Source, bound at Target (/mnt/NAME).
type Mount struct {
	Source, Target string
}

func init() {
	switch os.Getenv(Env) {
	case "":
		return
	case probe:
		if err := privateMnt(nil); err != nil {
			fmt.Fprintf(os.Stderr, "portico: process sandbox: %v\n", err)
			os.Exit(Failed)
		}
		os.Exit(0)
	default:
		runShim(os.Getenv(Env) == runUserNS)
	}
}

// ProbeEnv is the environment of a probe: a shim that lays the tmpfs over
// /mnt and exits 0, or Failed with its reason on stderr.
func ProbeEnv() []string { return []string{Env + "=" + probe} }

// EnvFor returns the variables that make the binary the shim for mounts (in a
// user namespace, with userns).
func EnvFor(mounts []Mount, userns bool) ([]string, error) {
	pairs := make([][2]string, 0, len(mounts))
	for _, m := range mounts {
		pairs = append(pairs, [2]string{m.Source, m.Target})
	}
	raw, err := json.Marshal(pairs)
	if err != nil {
		return nil, err
	}
	mode := run
	if userns {
		mode = runUserNS
	}
	return []string{Env + "=" + mode, MountsEnv + "=" + string(raw)}, nil
}

// runShim sets up the sandbox's mounts and execs the bootstrap (os.Args[0]);
// it returns only by exiting, with Failed. In a user namespace (userns)
// it then drops every capability the namespace gave it, so the bootstrap
// runs with none: it cannot undo the mounts (to reach what the tmpfs over
// /mnt hides) or make new ones.
func runShim(userns bool) {
	fail := func(err error) {
		fmt.Fprintf(os.Stderr, "portico: process sandbox: %v\n", err)
		os.Exit(Failed)
	}
	var pairs [][2]string
	if err := json.Unmarshal([]byte(os.Getenv(MountsEnv)), &pairs); err != nil {
		fail(fmt.Errorf("reading the volumes to mount: %w", err))
	}
	mounts := make([]Mount, 0, len(pairs))
	for _, p := range pairs {
		mounts = append(mounts, Mount{Source: p[0], Target: p[1]})
	}
	if err := privateMnt(mounts); err != nil {
		fail(err)
	}
	if userns {
		if err := dropCapabilities(); err != nil {
			fail(err)
		}
	}
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, Env+"=") && !strings.HasPrefix(kv, MountsEnv+"=") {
			env = append(env, kv)
		}
	}
	if len(os.Args) == 0 {
		fail(fmt.Errorf("no bootstrap to run"))
	}
	err := TextBusy{}.Retry(func() error {
		return syscall.Exec(os.Args[0], os.Args[:1], env) //nolint:gosec // G204: the sandbox's own bootstrap, as Start names it
	})
	if errors.Is(err, unix.ETXTBSY) {
		err = TextBusyError(err)
	}
	fail(fmt.Errorf("exec %s: %w", os.Args[0], err))
}

// privateMnt, run in a private mount namespace, lays a tmpfs over /mnt,
// binds back each entry the host has in /mnt (directories and files bound,
// symbolic links copied) but those the mounts take, binds each mount's source
// at its target (/mnt/NAME), and makes the tmpfs read-only. The sources and
// the host's /mnt are opened first and reached through their descriptors, so
// that a source under /mnt is still reached once the tmpfs covers it.
func privateMnt(mounts []Mount) error {
	if err := os.MkdirAll("/mnt", 0o755); err != nil { //nolint:gosec // G301: /mnt is readable by every user
		return err
	}
	taken := map[string]bool{}
	srcFDs := make([]int, len(mounts))
	for i, m := range mounts {
		fd, err := unix.Open(m.Source, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("volume %s: %w", m.Source, err)
		}
		srcFDs[i] = fd
		taken[filepath.Base(m.Target)] = true
	}
	hostFD, err := unix.Open("/mnt", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening /mnt: %w", err)
	}
	entries, err := os.ReadDir("/mnt")
	if err != nil {
		return fmt.Errorf("reading /mnt: %w", err)
	}
	const flags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	if err := unix.Mount("tmpfs", "/mnt", "tmpfs", flags, "mode=0755,size=64k"); err != nil {
		return fmt.Errorf("mounting a private /mnt: %w", err)
	}
	viaFD := func(fd int, name string) string {
		p := "/proc/self/fd/" + strconv.Itoa(fd)
		if name != "" {
			p += "/" + name
		}
		return p
	}
	for _, e := range entries {
		name := e.Name()
		if taken[name] {
			continue
		}
		dst := filepath.Join("/mnt", name)
		switch t := e.Type(); {
		case t&os.ModeSymlink != 0:
			link, err := readlinkat(hostFD, name)
			if err == nil {
				err = os.Symlink(link, dst)
			}
			if err != nil {
				return fmt.Errorf("copying the link /mnt/%s: %w", name, err)
			}
		case t.IsDir(), t.IsRegular():
			if t.IsDir() {
				err = os.Mkdir(dst, 0o755) //nolint:gosec // G301: a mount point
			} else {
				err = os.WriteFile(dst, nil, 0o644) //nolint:gosec // G306: a mount point
			}
			if err == nil {
				err = unix.Mount(viaFD(hostFD, name), dst, "", unix.MS_BIND|unix.MS_REC, "")
			}
			if err != nil {
				return fmt.Errorf("binding back /mnt/%s: %w", name, err)
			}
		}
	}
	for i, m := range mounts {
		if err := os.Mkdir(m.Target, 0o755); err != nil { //nolint:gosec // G301: a mount point
			return fmt.Errorf("volume %s at %s: %w", m.Source, m.Target, err)
		}
		if err := unix.Mount(viaFD(srcFDs[i], ""), m.Target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("binding volume %s at %s: %w", m.Source, m.Target, err)
		}
	}
	if err := unix.Mount("", "/mnt", "", unix.MS_REMOUNT|unix.MS_RDONLY|flags, ""); err != nil {
		return fmt.Errorf("making the private /mnt read-only: %w", err)
	}
	return nil
}

// readlinkat reads the symbolic link name in directory dirFD.
func readlinkat(dirFD int, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dirFD, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// dropCapabilities empties the bounding set, so that no exec from here on
// gains a capability (not even as the namespace's root), and the ambient and
// inheritable sets the shim was started with.
func dropCapabilities() error {
	last := 63
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			last = n
		}
	}
	for c := 0; c <= last; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("dropping capability %d: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clearing the ambient capabilities: %w", err)
	}
	// The inheritable set too: the namespace's root keeps it across exec.
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("reading the capabilities: %w", err)
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("clearing the inheritable capabilities: %w", err)
	}
	return nil
}

// TextBusyBudget is how long, in all, a start refused with ETXTBSY is
// retried before the error is reported.
const TextBusyBudget = time.Second

// TextBusy retries an exec that the kernel refuses with ETXTBSY: the
// bootstrap is open for writing. Most often it is open only for a moment, and
// not by the writer: a child another goroutine forked while the code was
// being extracted holds a copy of the extractor's descriptor until its own
// exec closes it (Go issue 22315). The go command retries such an exec too.
// The zero TextBusy sleeps between attempts; tests set the seams.
type TextBusy struct {
	Sleep   func(time.Duration) // time.Sleep when nil
	Refused func()              // called after each refused attempt
}

// Retry runs try until it does not fail with ETXTBSY or about
// TextBusyBudget has been spent waiting between attempts (counted as the
// waits, not read from a clock), and returns its last error.
func (b TextBusy) Retry(try func() error) error {
	sleep := b.Sleep
	if sleep == nil {
		sleep = time.Sleep
	}
	var waited time.Duration
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := try()
		if !errors.Is(err, unix.ETXTBSY) || waited >= TextBusyBudget {
			return err
		}
		if b.Refused != nil {
			b.Refused()
		}
		sleep(delay)
		waited += delay
	}
}

// TextBusyError says what a persistent ETXTBSY means, which the kernel's
// "text file busy" does not: the bootstrap is open for writing. It wraps err.
func TextBusyError(err error) error {
	return fmt.Errorf("the bootstrap is open for writing by another process (still after %v of retries; "+
		"a deployment still writing the code, or a process holding it open): %w", TextBusyBudget, err)
}
