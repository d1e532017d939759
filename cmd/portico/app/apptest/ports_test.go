package apptest

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"syscall"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app"
)

// TestPortReservation: a port steadyPort gave out is not given out again
// (here or by another test process, which honours the same lock file) until
// released.
func TestPortReservation(t *testing.T) {
	addr, pl := steadyPort(t, "127.0.0.1:0")
	if pl == nil {
		t.Fatalf("steadyPort(127.0.0.1:0) = %s without a reservation", addr)
	}
	_, port, _ := net.SplitHostPort(addr)
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	if again := lockPort(p); again != nil {
		again.release()
		t.Fatalf("port %d reserved twice", p)
	}
	pl.release()
	again := lockPort(p)
	if again == nil {
		t.Fatalf("port %d still reserved after release", p)
	}
	again.release()
	if a, pl := steadyPort(t, "127.0.0.1:8080"); a != "127.0.0.1:8080" || pl != nil {
		t.Errorf("a fixed port: got %s, %v", a, pl)
	}
}

// TestBusyPortIsEADDRINUSE: Start retries on other ports only when the
// server's start failed for a port in use; that error must reach it through
// fx's wrapping.
func TestBusyPortIsEADDRINUSE(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := app.Defaults()
	s.Listen = ln.Addr().String()
	s.AdminListen = "127.0.0.1:0"
	s.TLSListen = "off"
	s.Runtime = "process"
	s.DataDir = t.TempDir()
	a := app.New(s, slog.New(slog.DiscardHandler))
	if err := a.Err(); err != nil {
		t.Fatal(err)
	}
	err = a.Start(context.Background())
	if err == nil {
		_ = a.Stop(context.Background())
		t.Fatal("started on a port in use")
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("start error %v is not EADDRINUSE", err)
	}
}
