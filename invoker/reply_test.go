package invoker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
)

// replies records what Request.Reply was given.
type replies struct {
	mu  sync.Mutex
	got []*Result
}

func (r *replies) reply(res *Result) {
	r.mu.Lock()
	r.got = append(r.got, res)
	r.mu.Unlock()
}

func (r *replies) all() []*Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Result(nil), r.got...)
}

// TestReplyGetsPostedResults checks that a result the sandbox posts, a
// function error included, goes to Request.Reply once, before Invoke returns
// it, marked Replied.
func TestReplyGetsPostedResults(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "replied"})
	for _, tc := range []struct {
		payload, functionError, want string
	}{
		{`{"echo":"cold"}`, "", `"echo":"cold"`},
		{`{"echo":"warm"}`, "", `"echo":"warm"`},
		{`{"fail":"nope"}`, "Unhandled", `"errorMessage":"nope"`},
	} {
		var r replies
		res, err := e.inv.Invoke(context.Background(), Request{Function: cfg, Payload: []byte(tc.payload), Reply: r.reply})
		if err != nil {
			t.Fatal(err)
		}
		got := r.all()
		if len(got) != 1 || got[0] != res || !res.Replied {
			t.Fatalf("%s: Reply got %v, Invoke returned %p (replied %v)", tc.payload, got, res, res.Replied)
		}
		if res.FunctionError != tc.functionError || !strings.Contains(string(res.Payload), tc.want) {
			t.Fatalf("%s: functionError %q payload %s", tc.payload, res.FunctionError, res.Payload)
		}
	}
}

// TestReplyNotGivenLargeResults checks that a result over ReplyMax comes back
// through Invoke's return only.
func TestReplyNotGivenLargeResults(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "large"})
	var r replies
	res, err := e.inv.Invoke(context.Background(), Request{Function: cfg, Payload: []byte(`{"bigOutput":70000}`), Reply: r.reply})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.all()) != 0 || res.Replied || len(res.Payload) <= ReplyMax || res.FunctionError != "" {
		t.Fatalf("Reply got %d results; replied %v, %d bytes, functionError %q", len(r.all()), res.Replied, len(res.Payload), res.FunctionError)
	}
}

// TestReplyNotGivenTimeouts checks that a timeout is returned by Invoke, not
// given to Reply.
func TestReplyNotGivenTimeouts(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "slowreply", Timeout: 1})
	invoke(t, e, cfg, `{}`)
	var r replies
	type ret struct {
		res *Result
		err error
	}
	got := make(chan ret, 1)
	deadlineSet := e.clock.expectTimer(time.Second)
	go func() {
		res, err := e.inv.Invoke(context.Background(), Request{Function: cfg, Payload: []byte(`{"sleepMs":60000}`), Reply: r.reply})
		got <- ret{res, err}
	}()
	deadlineSet(t)
	e.clock.Advance(time.Second)
	g := <-got
	if g.err != nil || !g.res.TimedOut || g.res.Replied || len(r.all()) != 0 {
		t.Fatalf("want a timeout returned, not replied: %v %+v, Reply got %d", g.err, g.res, len(r.all()))
	}
}

// TestReplyNotCalledAfterTheCallerLeft checks that a caller whose context ends
// before the result gets its error, and that the result, when it comes, is
// not given to its Reply (the caller may have answered its client already).
func TestReplyNotCalledAfterTheCallerLeft(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "leftreply", Timeout: 30})
	invoke(t, e, cfg, `{}`)
	gate := filepath.Join(t.TempDir(), "gate")
	var r replies
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.inv.Invoke(ctx, Request{Function: cfg, Payload: []byte(`{"waitFile":"` + gate + `"}`), Reply: r.reply})
		done <- err
	}()
	p := e.inv.pool(cfg)
	waitFor(t, "the call to run", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.idle) == 0 && len(p.waiters) == 0
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, p, 1) // the result came, and the sandbox is back
	if n := len(r.all()); n != 0 {
		t.Fatalf("Reply called %d times after the caller left", n)
	}
	if res, o := invoke(t, e, cfg, `{"echo":1}`); res.FunctionError != "" || o.Echo != float64(1) {
		t.Fatalf("the next call: %+v %s", res, res.Payload)
	}
}
