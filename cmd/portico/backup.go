package main

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/store"
)

func newBackupCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the server's store and code artifacts to FILE (a tar archive; - for stdout) while it serves",
		Long: `Write a consistent copy of the server's store and code artifacts to FILE while the
server serves: portico.db as one read transaction saw it, and code/ beside it, as a tar
archive that unpacks into a data directory (tar -xf FILE -C DIR, then portico serve
--data-dir DIR). FILE appears only once the whole archive has arrived and been read back;
- writes it to stdout instead. See docs/operations.md, Backups.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.textOnly("backup", "a tar archive, and a line saying what it holds"); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if args[0] != "-" {
				// Before the download, not after it.
				if err := checkBackupDest(args[0]); err != nil {
					return err
				}
			}
			body, err := c.Stream(cmd.Context(), "/portico/v1/backup", nil)
			if err != nil {
				return err
			}
			defer body.Close()
			if args[0] == "-" {
				return backupToStdout(cmd.OutOrStdout(), body)
			}
			n, err := writeBackup(args[0], body)
			if err != nil {
				return err
			}
			_, _ = fmt.Fprintf(cmd.OutOrStdout(), "%s: %s and %d files of code/ (%d bytes)\n", args[0], store.FileName, n, backupSize(args[0]))
			return nil
		},
	}
}

// writeBackup writes the backup stream r to path: to a temporary file beside
// it, read back as a whole tar archive that begins with the store, then
// renamed into place. It returns how many files followed the store.
func writeBackup(path string, r io.Reader) (int, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-*")
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := copyBackup(f, r); err != nil {
		return 0, fmt.Errorf("%w (nothing written to %s)", err, path)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	n, err := checkBackup(f)
	if err != nil {
		return 0, fmt.Errorf("backup: the archive the server sent does not read back (nothing written to %s): %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return 0, fmt.Errorf("backup: %w", err)
	}
	done = true
	return n, nil
}

// checkBackupDest refuses a destination the archive could not be renamed to
// (a directory), or whose directory does not exist, before anything is
// downloaded.
func checkBackupDest(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("backup: %s is a directory: give the archive's file name (for example %s)", path, filepath.Join(path, "portico-backup.tar"))
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("backup: the directory of %s: %w", path, err)
	} else if !fi.IsDir() {
		return fmt.Errorf("backup: %s: %s is not a directory", path, dir)
	}
	return nil
}

// copyBackup copies the server's stream r to the local file w, saying which
// side failed: the local write (a full disk) or the stream.
func copyBackup(w io.Writer, r io.Reader) error {
	lw := &localWriter{w: w}
	_, err := io.Copy(lw, r)
	switch {
	case lw.err != nil:
		return fmt.Errorf("backup: writing the archive on this machine failed: %w", lw.err)
	case err != nil:
		return fmt.Errorf("backup: the server's stream ended early: %w", err)
	}
	return nil
}

// backupToStdout copies the server's stream r to w (stdout, for `backup -`).
// What was written cannot be taken back: a stream that ends early is said to
// have left an incomplete archive there, rather than a bare "unexpected EOF".
func backupToStdout(w io.Writer, r io.Reader) error {
	if err := copyBackup(w, r); err != nil {
		return fmt.Errorf("%w (what reached stdout is an incomplete archive: do not restore it)", err)
	}
	return nil
}

// localWriter remembers the error of its writes, which io.Copy does not tell
// apart from its reads'.
type localWriter struct {
	w   io.Writer
	err error
}

func (l *localWriter) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	if err != nil {
		l.err = err
	}
	return n, err
}

// checkBackup reads a backup archive through: its first entry must be the
// store, and every entry must be whole. It returns how many regular files
// follow the store.
func checkBackup(r io.Reader) (int, error) {
	tr := tar.NewReader(r)
	n, first := 0, true
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
		if first && hdr.Name != store.FileName {
			return 0, fmt.Errorf("its first entry is %q, not %s", hdr.Name, store.FileName)
		}
		if _, err := io.CopyN(io.Discard, tr, hdr.Size); err != nil {
			return 0, fmt.Errorf("%s: %w", hdr.Name, err)
		}
		if !first && hdr.Typeflag == tar.TypeReg {
			n++
		}
		first = false
	}
	if first {
		return 0, errors.New("it is empty")
	}
	return n, nil
}

func backupSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
