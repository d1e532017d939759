package functions

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncTree makes the files written under dir durable before dir is renamed into
// place: one syncfs(2) of dir's file system rather than an fsync per file (a
// package may hold thousands).
func syncTree(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
