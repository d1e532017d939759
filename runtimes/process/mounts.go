package process

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/process/internal/shim"
)

// Function volumes (FileSystemConfigs) are host directories a sandbox sees at
// /mnt/NAME. A child process has no mount table of its own by default, so the
// runtime gives it one where the host allows:
//
//   - Private mounts: the sandbox starts in a mount namespace of its own
//     through the mount shim (internal/shim), with its volumes bound at /mnt/NAME
//     there. Nothing changes on the host, and any number of installations
//     (data directories) run functions that mount the same NAME at once, each
//     seeing its own volume. Root (or CAP_SYS_ADMIN) makes the mount namespace
//     directly; any other user gets it inside a user namespace of the
//     sandbox's own, where its user and group map to themselves (files keep
//     their owners) and the shim, which mounts with the namespace's
//     CAP_SYS_ADMIN, drops every capability before it runs the bootstrap.
//     Linux lets unprivileged users make user namespaces unless the host
//     turned that off (user.max_user_namespaces=0, or an AppArmor or SELinux
//     policy).
//   - Links (where neither works): /mnt/NAME is a symbolic link to the volume, one path for
//     the whole host. An installation holds the links it made for as long as its
//     runtime is open (a shared lock on its volume directory), and never takes a
//     link another live installation holds: the start fails with an error that
//     names the holder's volume and what to do. A link whose volume is gone, or
//     whose installation has stopped (nothing holds its lock), is taken over;
//     an installation removes its links when its runtime closes.
//
// Which of the two a runtime uses is decided at its first start with volumes,
// by starting the shim once (a probe), and logged.

// volumeLocks holds the links of a runtime in link mode: by target, the open
// volume directory whose shared lock says the link is held. Its fields are
// guarded by mu.
type volumeLocks struct {
	mu    sync.Mutex
	held  map[string]*os.File
	probe sync.Once
	// private is set when sandboxes get private mounts; why says why not.
	// userns is set when they get them inside a user namespace.
	private bool
	userns  bool
	why     string
}

// release removes the links the runtime holds, where they still point at its
// volumes, and drops their locks.
func (v *volumeLocks) release() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for target, f := range v.held {
		if unlock, err := lockDir(filepath.Dir(target), unix.LOCK_EX); err == nil {
			if cur, err := os.Readlink(target); err == nil && cur == f.Name() {
				_ = os.Remove(target)
			}
			unlock()
		}
		_ = f.Close()
		delete(v.held, target)
	}
}

// PrivateMounts reports whether sandboxes with volumes get a mount namespace
// of their own (else /mnt/NAME is a host-wide symbolic link), and if not, why.
// It probes the host the first time; the answer stands for the runtime's
// life, so the probe does not end with ctx (a start given up on).
func (r *Runtime) PrivateMounts(ctx context.Context) (bool, string) {
	v := &r.vols
	v.probe.Do(func() {
		ctx := context.WithoutCancel(ctx)
		v.private, v.why = probePrivateMounts(ctx, false)
		if !v.private {
			var whyUserNS string
			if v.private, whyUserNS = probePrivateMounts(ctx, true); v.private {
				v.userns = true
			} else {
				v.why += "; in a user namespace: " + whyUserNS
			}
		}
		switch {
		case v.userns:
			r.log.Info("process runtime: each sandbox with volumes gets a mount namespace of its own, in a user namespace of its own, its volumes bound at /mnt/NAME")
		case v.private:
			r.log.Info("process runtime: each sandbox with volumes gets a mount namespace of its own, its volumes bound at /mnt/NAME")
		default:
			r.log.Warn("process runtime: sandboxes cannot get mounts of their own here, so a volume is a host-wide symbolic link "+
				"/mnt/NAME, held by one installation at a time. Let users make user namespaces (sysctl user.max_user_namespaces), "+
				"run Portico as root (or with CAP_SYS_ADMIN), or use the docker or containerd runtime (docs/runtimes.md)", "reason", v.why)
		}
	})
	return v.private, v.why
}

// probePrivateMounts starts the shim in a mount namespace of its own (inside
// a user namespace of its own with userns), laying a tmpfs over its /mnt,
// and reports whether that worked, and if not, why.
func probePrivateMounts(ctx context.Context, userns bool) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/proc/self/exe")
	cmd.Env = shim.ProbeEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	shimAttr(cmd.SysProcAttr, userns)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return false, strings.TrimSpace(fmt.Sprintf("%v %s", err, out))
	}
	return true, ""
}

// shimAttr makes a, the attributes of a child that runs the shim, start it
// in a mount namespace of its own; with userns, inside a user namespace of
// its own where the server's user and group map to themselves, and with the
// namespace's CAP_SYS_ADMIN (to mount) and CAP_SETPCAP (to drop every
// capability before the bootstrap runs) kept across the exec of the shim.
func shimAttr(a *syscall.SysProcAttr, userns bool) {
	a.Unshareflags |= syscall.CLONE_NEWNS
	if !userns {
		return
	}
	a.Cloneflags |= syscall.CLONE_NEWUSER
	a.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getuid(), HostID: os.Getuid(), Size: 1}}
	a.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getgid(), HostID: os.Getgid(), Size: 1}}
	a.GidMappingsEnableSetgroups = false
	a.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_SETPCAP}
}

// checkMounts checks that each mount is a directory mounted at /mnt/NAME.
func checkMounts(mounts []runtimes.Mount) ([]runtimes.Mount, error) {
	out := make([]runtimes.Mount, 0, len(mounts))
	for _, m := range mounts {
		target := filepath.Clean(m.Target)
		if !filepath.IsAbs(target) || !strings.HasPrefix(target, "/mnt/") || strings.Count(target, "/") != 2 {
			return nil, mountError(m, "the mount path must be /mnt/NAME")
		}
		src, err := filepath.Abs(m.Source)
		if err != nil {
			return nil, mountError(m, err.Error())
		}
		if st, err := os.Stat(src); err != nil || !st.IsDir() {
			return nil, mountError(m, fmt.Sprintf("the volume directory %s is missing", src))
		}
		out = append(out, runtimes.Mount{Source: src, Target: target})
	}
	return out, nil
}

// mountEnv makes the sandbox's volumes visible: it returns the variables that
// make the start go through the mount shim (private mounts), or nil once the
// links are in place.
func (r *Runtime) mountEnv(ctx context.Context, mounts []runtimes.Mount) ([]string, error) {
	if len(mounts) == 0 {
		return nil, nil
	}
	mounts, err := checkMounts(mounts)
	if err != nil {
		return nil, err
	}
	if private, _ := r.PrivateMounts(ctx); private {
		pairs := make([]shim.Mount, 0, len(mounts))
		for _, m := range mounts {
			pairs = append(pairs, shim.Mount{Source: m.Source, Target: m.Target})
		}
		return shim.EnvFor(pairs, r.vols.userns)
	}
	return nil, r.linkMounts(mounts)
}

// linkMounts makes each mount visible at its target the only way a child process
// on the host can see it without privileges of its own: /mnt/NAME becomes a
// symbolic link to the volume directory. A target that is absent is created; one
// that is already a link to the volume is kept; one that is a link to another
// Portico volume of the same name (another data directory) is pointed here only
// when that volume is gone or no live installation holds it. Any other file at
// the target is left alone and the start fails with a clear error.
//
// Changes are serialized, across processes, by an exclusive lock on /mnt.
func (r *Runtime) linkMounts(mounts []runtimes.Mount) error {
	v := &r.vols
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.held == nil {
		v.held = map[string]*os.File{}
	}
	for _, m := range mounts {
		if f, ok := v.held[m.Target]; ok && f.Name() == m.Source {
			if cur, err := os.Readlink(m.Target); err == nil && cur == m.Source {
				continue // held, and still ours
			}
		}
		if err := v.link(m); err != nil {
			return err
		}
	}
	return nil
}

// link points m.Target at m.Source (see linkMounts) and holds it. v.mu is held.
func (v *volumeLocks) link(m runtimes.Mount) error {
	target, src := m.Target, m.Source
	if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
		return mountError(m, fmt.Sprintf("cannot create %s: %v (the process runtime links volumes under /mnt, which must be writable by Portico)", filepath.Dir(target), err))
	}
	unlock, err := lockDir(filepath.Dir(target), unix.LOCK_EX)
	if err != nil {
		return mountError(m, fmt.Sprintf("cannot lock %s: %v", filepath.Dir(target), err))
	}
	defer unlock()
	// Hold our own volume first: from here on it is ours to keep.
	own, err := os.Open(src)
	if err != nil {
		return mountError(m, err.Error())
	}
	if err := unix.Flock(int(own.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		_ = own.Close()
		return mountError(m, fmt.Sprintf("cannot lock the volume directory %s: %v", src, err))
	}
	keep := func() error {
		if old := v.held[target]; old != nil && old != own {
			_ = old.Close()
		}
		v.held[target] = own
		return nil
	}
	cur, err := os.Readlink(target)
	switch {
	case err == nil:
		if cur == src {
			return keep()
		}
		if filepath.Base(cur) != filepath.Base(target) || filepath.Base(filepath.Dir(cur)) != "volumes" {
			_ = own.Close()
			return mountError(m, fmt.Sprintf("%s is a symbolic link to %s, which is not a Portico volume; remove it to let the process runtime link the volume there", target, cur))
		}
		if holder, live := heldVolume(cur); live {
			_ = own.Close()
			return mountError(m, fmt.Sprintf("%s is in use by another Portico installation: it links to %s, the volume of the installation with data directory %s, which is running%s. "+
				"The process runtime can give a volume path to one installation at a time here, since it cannot make sandboxes mounts of their own "+
				"(that needs root, CAP_SYS_ADMIN, or user namespaces, which this host refuses). Stop that installation, give this function another LocalMountPath, run Portico as root, "+
				"or use the docker or containerd runtime",
				target, cur, filepath.Dir(filepath.Dir(cur)), holder))
		}
		// A volume that is gone, or whose installation stopped: point the
		// link here, atomically.
		tmp := target + ".portico-tmp"
		_ = os.Remove(tmp)
		if err := os.Symlink(src, tmp); err != nil {
			_ = own.Close()
			return mountError(m, err.Error())
		}
		if err := os.Rename(tmp, target); err != nil {
			_ = os.Remove(tmp)
			_ = own.Close()
			return mountError(m, err.Error())
		}
		return keep()
	case errors.Is(err, fs.ErrNotExist):
		if err := os.Symlink(src, target); err != nil {
			_ = own.Close()
			return mountError(m, fmt.Sprintf("cannot link %s: %v (the process runtime links volumes under /mnt, which must be writable by Portico)", target, err))
		}
		return keep()
	default:
		_ = own.Close()
		return mountError(m, fmt.Sprintf("%s exists and is not a symbolic link: the process runtime mounts a volume by linking /mnt/NAME to it; move %s away, or use the docker or containerd runtime", target, target))
	}
}

// heldVolume reports whether a live installation holds volume directory dir
// (a shared lock on it), and if so, a note naming the process when
// /proc/locks tells.
func heldVolume(dir string) (string, bool) {
	f, err := os.Open(dir)
	if err != nil {
		return "", false // gone: a stale link
	}
	defer func() { _ = f.Close() }()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err == nil {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return "", false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err == nil {
		if pid := lockHolder(st.Ino); pid != "" {
			return " (pid " + pid + ")", true
		}
	}
	return "", true
}

// lockHolder returns the pid /proc/locks names for a flock on inode ino, or "".
func lockHolder(ino uint64) string {
	raw, err := os.ReadFile("/proc/locks")
	if err != nil {
		return ""
	}
	suffix := fmt.Sprintf(":%d", ino)
	for _, line := range strings.Split(string(raw), "\n") {
		// 1: FLOCK  ADVISORY  READ  1234 08:01:5678 0 EOF
		f := strings.Fields(line)
		if len(f) >= 6 && f[1] == "FLOCK" && strings.HasSuffix(f[5], suffix) {
			return f[4]
		}
	}
	return ""
}

// lockDir takes a flock of kind on directory dir and returns its release.
func lockDir(dir string, kind int) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), kind); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() { _ = f.Close() }, nil
}

func mountError(m runtimes.Mount, why string) error {
	return errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException",
		fmt.Sprintf("cannot mount volume %s at %s: %s", m.Source, m.Target, why))
}
