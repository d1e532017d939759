package process

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
)

// linkMu serializes changes to mount links within this process.
var linkMu sync.Mutex

// linkMounts makes each mount visible at its target the only way a child process
// on the host can see it without privileges of its own: /mnt/NAME becomes a
// symbolic link to the volume directory. A target that is absent is created; one
// that is already a link to the volume is kept; one that is a link to another
// Portico volume of the same name (another data directory) is pointed here. Any
// other file at the target is left alone and the start fails with a clear error.
//
// Unlike a container's bind mount the link is shared by every process on the
// host, so two Portico servers with different data directories cannot both run
// functions that mount the same volume name at once.
func linkMounts(mounts []runtimes.Mount) error {
	if len(mounts) == 0 {
		return nil
	}
	linkMu.Lock()
	defer linkMu.Unlock()
	for _, m := range mounts {
		if err := linkMount(m); err != nil {
			return err
		}
	}
	return nil
}

func linkMount(m runtimes.Mount) error {
	target := filepath.Clean(m.Target)
	if !filepath.IsAbs(target) || !strings.HasPrefix(target, "/mnt/") || strings.Count(target, "/") != 2 {
		return mountError(m, "the mount path must be /mnt/NAME")
	}
	src, err := filepath.Abs(m.Source)
	if err != nil {
		return mountError(m, err.Error())
	}
	if st, err := os.Stat(src); err != nil || !st.IsDir() {
		return mountError(m, fmt.Sprintf("the volume directory %s is missing", src))
	}
	cur, err := os.Readlink(target)
	switch {
	case err == nil:
		if cur == src {
			return nil
		}
		if filepath.Base(cur) != filepath.Base(target) || filepath.Base(filepath.Dir(cur)) != "volumes" {
			return mountError(m, fmt.Sprintf("%s is a symbolic link to %s, which is not a Portico volume; remove it to let the process runtime link the volume there", target, cur))
		}
		// Another data directory's volume of the same name: point the link here,
		// atomically.
		tmp := target + ".portico-tmp"
		_ = os.Remove(tmp)
		if err := os.Symlink(src, tmp); err != nil {
			return mountError(m, err.Error())
		}
		if err := os.Rename(tmp, target); err != nil {
			_ = os.Remove(tmp)
			return mountError(m, err.Error())
		}
		return nil
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
			return mountError(m, fmt.Sprintf("cannot create %s: %v (the process runtime links volumes under /mnt, which must be writable by Portico)", filepath.Dir(target), err))
		}
		if err := os.Symlink(src, target); err != nil && !errors.Is(err, fs.ErrExist) {
			return mountError(m, fmt.Sprintf("cannot link %s: %v (the process runtime links volumes under /mnt, which must be writable by Portico)", target, err))
		}
		return nil
	default:
		return mountError(m, fmt.Sprintf("%s exists and is not a symbolic link: the process runtime mounts a volume by linking /mnt/NAME to it; move %s away, or use the docker or containerd runtime", target, target))
	}
}

func mountError(m runtimes.Mount, why string) error {
	return errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException",
		fmt.Sprintf("cannot mount volume %s at %s: %s", m.Source, m.Target, why))
}
