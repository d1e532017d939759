package invoker

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
)

// TestEventPayloadLimitIsInclusive: an Event payload of exactly
// MaxAsyncPayload bytes is taken, one byte more is refused with a message
// that says the limit and the size.
func TestEventPayloadLimitIsInclusive(t *testing.T) {
	e := newEnv(t, nil)
	e.inv.async.stop() // keep what is queued queued
	defer e.inv.async.start()
	cfg := e.fns.add(&functions.Config{FunctionName: "big"})
	limit := e.inv.p.Config.MaxAsyncPayload
	payload := func(n int) []byte { return append(append([]byte(`"`), bytes.Repeat([]byte("x"), n-2)...), '"') }
	if _, err := e.inv.InvokeAsync(context.Background(), Request{Function: cfg, Payload: payload(limit)}); err != nil {
		t.Fatalf("a payload of exactly %d bytes: %v", limit, err)
	}
	_, err := e.inv.InvokeAsync(context.Background(), Request{Function: cfg, Payload: payload(limit + 1)})
	var k *errdefs.Kinded
	if !errors.Is(err, errdefs.ErrTooLarge) || !errors.As(err, &k) || k.Type != "RequestTooLargeException" {
		t.Fatalf("a payload of %d bytes: %v, want RequestTooLargeException", limit+1, err)
	}
	want := "Request payload size (262145 bytes) exceeded maximum allowed payload size (262144 bytes) for the InvokeAsync operation"
	if k.Message != want {
		t.Fatalf("message %q, want %q", k.Message, want)
	}
}

// TestEventGetsNoClientContext: as on Lambda, the client context reaches the
// handler of a synchronous call only, not an Event's.
func TestEventGetsNoClientContext(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "cc"})
	dir := t.TempDir()
	cc := `{"custom":{"k":"v"}}`
	sync := filepath.Join(dir, "sync")
	invokeReq(t, e, Request{Function: cfg, Payload: []byte(`{"clientContextFile":"` + sync + `"}`), ClientContext: cc})
	if b, _ := os.ReadFile(sync); string(b) != `{"k":"v"}` {
		t.Fatalf("synchronous call's client context %q, want the caller's", b)
	}
	event := filepath.Join(dir, "event")
	if _, err := e.inv.InvokeAsync(context.Background(), Request{Function: cfg,
		Payload: []byte(`{"clientContextFile":"` + event + `"}`), ClientContext: cc}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the event to run", func() bool { _, err := os.Stat(event); return err == nil })
	if b, _ := os.ReadFile(event); strings.TrimSpace(string(b)) != "null" {
		t.Fatalf("Event's client context %q, want none", b)
	}
}
