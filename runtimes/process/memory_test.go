package process

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/portico-dev/portico/runtimes"
)

// serverHWM makes the test process's own peak RSS at least mb MB (a
// server that has handled large payloads) and returns a func keeping the
// memory alive until the test has measured.
func serverHWM(t *testing.T, mb int) func() {
	t.Helper()
	big := make([]byte, mb<<20)
	for i := 0; i < len(big); i += 4096 {
		big[i] = 1
	}
	return func() { _ = big[len(big)-1] }
}

// startScript starts a sandbox whose bootstrap is the shell script body.
func startScript(t *testing.T, rt *Runtime, body string) *sandbox {
	t.Helper()
	code := t.TempDir()
	if err := os.WriteFile(filepath.Join(code, "bootstrap"), []byte("#!/bin/sh\n"+body), 0o755); err != nil { //nolint:gosec // G306: an executable
		t.Fatal(err)
	}
	sb, err := rt.Start(context.Background(), runtimes.Spec{SandboxID: "sbx-mem", Function: "mem", Version: "1",
		PackageType: "Zip", CodeDir: code, Env: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	s, ok := sb.(*sandbox)
	if !ok {
		t.Fatalf("Start returned a %T", sb)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

// TestExitedSandboxMemoryIsItsOwn: the peak memory a sandbox reports once
// it has exited (a crash, a timeout's kill) is the bootstrap's, not the
// server's: the exit status's rusage counts the server's peak RSS (the child
// shares the server's memory until its exec, and the kernel keeps that
// memory's peak at the exec), so the figure is the sandbox cgroup's
// memory.peak where it has one, else the last /proc reading of the
// bootstrap's peak, else 0.
func TestExitedSandboxMemoryIsItsOwn(t *testing.T) {
	const serverMB = 96
	keep := serverHWM(t, serverMB)
	defer keep()
	rt, err := New(t.TempDir(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	for _, mode := range []string{"group", "cgroup"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "group" {
				saved := rt.cgParent
				rt.cgParent = ""
				t.Cleanup(func() { rt.cgParent = saved })
			} else if !rt.Cgroups() {
				if os.Getenv("REQUIRE_CGROUPS") == "1" {
					t.Fatal("REQUIRE_CGROUPS=1, but sandboxes get no cgroups")
				}
				t.Skip("sandboxes get no cgroups here; REQUIRE_CGROUPS=1 makes this a failure")
			}
			t.Run("Crashed", func(t *testing.T) {
				// Exits before any reading: nothing is known of its peak
				// but that it is the bootstrap's (its cgroup's).
				s := startScript(t, rt, "exit 7\n")
				<-s.Done()
				if mb := s.MaxMemoryMB(); mb >= serverMB/2 {
					t.Errorf("MaxMemoryMB() = %d after the bootstrap exited, the server's peak (%d MB) rather than the bootstrap's", mb, serverMB)
				}
				if mb := s.ReadPeakMemoryMB(); mb >= serverMB/2 {
					t.Errorf("ReadPeakMemoryMB() = %d after the bootstrap exited, the server's peak (%d MB)", mb, serverMB)
				}
			})
			t.Run("Stopped", func(t *testing.T) {
				// A timeout: the sandbox is stopped, and its peak read as
				// it runs is what it reports once gone.
				s := startScript(t, rt, "exec sleep 1000\n")
				running := s.ReadPeakMemoryMB()
				if running <= 0 || running >= serverMB/2 {
					t.Fatalf("ReadPeakMemoryMB() = %d for a running sleep", running)
				}
				if err := s.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
				if mb := s.MaxMemoryMB(); mb < running || mb >= serverMB/2 {
					t.Errorf("MaxMemoryMB() = %d once stopped, want the bootstrap's %d MB (the server's peak is %d MB)", mb, running, serverMB)
				}
			})
		})
	}
}

// TestCgroupPeak: a cgroup's memory.peak (bytes) is read in MB, rounded up;
// a cgroup without the memory controller has none.
func TestCgroupPeak(t *testing.T) {
	dir := t.TempDir()
	if _, ok := cgroupPeakMB(dir); ok {
		t.Error("cgroupPeakMB found a peak in a directory without memory.peak")
	}
	if err := os.WriteFile(filepath.Join(dir, "memory.peak"), []byte("5242881\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if mb, ok := cgroupPeakMB(dir); !ok || mb != 6 {
		t.Errorf("cgroupPeakMB = %d, %v for 5242881 bytes, want 6, true", mb, ok)
	}
}

// TestOpenFileReadsAfresh: the status file kept open (openFile) is read anew
// at each read: a peak that grew between two reads shows in the second, and
// a closed one reads nothing.
func TestOpenFileReadsAfresh(t *testing.T) {
	var f openFile
	buf := make([]byte, 4096)
	hwm := func() int {
		raw, ok := f.read(func() string { return "/proc/self/status" }, buf)
		if !ok {
			t.Fatal("/proc/self/status not read")
		}
		i := bytes.Index(raw, []byte("\nVmHWM:"))
		if i < 0 {
			t.Fatalf("no VmHWM in %q", raw)
		}
		kb, _ := strconv.Atoi(string(bytes.Fields(raw[i+len("\nVmHWM:"):])[0]))
		return kb
	}
	before := hwm()
	keep := serverHWM(t, before/1024+64) // 64 MB past the peak read
	defer keep()
	if after := hwm(); after < before+60<<10 {
		t.Fatalf("VmHWM %d kB, then %d kB after touching 64 MB more: the second read is not afresh", before, after)
	}
	f.close()
	if _, ok := f.read(func() string { return "/proc/self/status" }, buf); ok {
		t.Fatal("read after close")
	}
}

func TestParsePeakBytes(t *testing.T) {
	for in, want := range map[string]int{"5242881\n": 6, "0\n": 0, "1048576": 1} {
		if mb, ok := parsePeakBytes([]byte(in)); !ok || mb != want {
			t.Errorf("parsePeakBytes(%q) = %d, %v, want %d", in, mb, ok, want)
		}
	}
	for _, in := range []string{"", "max\n", "-1\n", "99999999999999999999\n"} {
		if _, ok := parsePeakBytes([]byte(in)); ok {
			t.Errorf("parsePeakBytes(%q) read a number", in)
		}
	}
}
