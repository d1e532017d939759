//go:build unix

package edge

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
)

// ReadPEMFile reads regular files up to MaxPEMFile and refuses the rest
// (a named pipe would block the reader, a device would never end).
func TestReadPEMFileRefusesWhatIsNotAPEMFile(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.pem")
	if err := os.WriteFile(ok, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadPEMFile(ok); err != nil || len(b) == 0 {
		t.Fatalf("a regular file: %q %v", b, err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, make([]byte, MaxPEMFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for p, says := range map[string]string{fifo: "a named pipe", "/dev/zero": "a device", dir: "a directory", big: "more than"} {
		_, err := ReadPEMFile(p)
		if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), says) || strings.Contains(err.Error(), "---") {
			t.Errorf("%s: %v, want errdefs.ErrInvalid saying %q (not a file mode)", p, err, says)
		}
	}
}
