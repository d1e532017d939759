package main

import (
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
)

// TestBackupDestChecked is what the store3 tester found: `portico backup
// DIR` downloaded everything, then failed "rename ...: file exists"; a
// destination that cannot take the archive is refused before the download.
func TestBackupDestChecked(t *testing.T) {
	dir := t.TempDir()
	if err := checkBackupDest(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("checkBackupDest(a directory) = %v, want it refused", err)
	}
	if err := checkBackupDest(dir + "/missing/x.tar"); err == nil {
		t.Error("checkBackupDest(in a missing directory) = nil, want it refused")
	}
	if err := checkBackupDest(dir + "/x.tar"); err != nil {
		t.Errorf("checkBackupDest(a new file) = %v", err)
	}
}

// TestBackupBlamesTheRightSide: a local disk that fills up was reported as
// "the server's stream ended early"; each side's failure is told as its own.
func TestBackupBlamesTheRightSide(t *testing.T) {
	err := copyBackup(fullDisk{}, strings.NewReader("archive"))
	if err == nil || strings.Contains(err.Error(), "server") || !strings.Contains(err.Error(), "on this machine") ||
		!errors.Is(err, syscall.ENOSPC) {
		t.Errorf("a full local disk: %v", err)
	}
	err = copyBackup(new(strings.Builder), iotest.ErrReader(errors.New("connection reset")))
	if err == nil || !strings.Contains(err.Error(), "the server's stream ended early") {
		t.Errorf("a stream cut short: %v", err)
	}
}

type fullDisk struct{}

func (fullDisk) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

// TestBackupToStdoutSaysIncomplete: `portico backup -` whose stream the
// server ended early said only "unexpected EOF"; it says the archive on
// stdout is incomplete (and fails).
func TestBackupToStdoutSaysIncomplete(t *testing.T) {
	err := backupToStdout(new(strings.Builder), io.MultiReader(strings.NewReader("part"), iotest.ErrReader(io.ErrUnexpectedEOF)))
	if err == nil || !strings.Contains(err.Error(), "the server's stream ended early") || !strings.Contains(err.Error(), "incomplete archive") {
		t.Errorf("a stream cut short: %v", err)
	}
	if err := backupToStdout(new(strings.Builder), strings.NewReader("whole")); err != nil {
		t.Errorf("a whole stream: %v", err)
	}
}
