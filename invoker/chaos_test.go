package invoker

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// TestRuntimeConnectionChaos plays a runtime client that uses its Runtime API
// connections in every way HTTP allows and a real client (Go's transport,
// curl, a runtime of another language) can: next on the connection of the
// last result or on another one, kept open or new; the result on the
// connection of its next, on another open one, or on a new one; the next
// sent before the result; idle connections closed between calls. Calls come one after another, each after
// a random number of yields, so that some find the next parked and some wait
// for it. Every call must get its own answer: an invocation lost between
// connections hangs its call (until the call's 20 s context) and the runtime's
// next (until its connection's deadline), and fails the test.
func TestRuntimeConnectionChaos(t *testing.T) {
	ce := newClientEnv(t)
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 26))
	t.Logf("seed %d", seed)
	const calls = 400
	done := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewPCG(seed, 27)) // the caller's own
		for i := range calls {
			for range rng.IntN(50) {
				runtime.Gosched()
			}
			r := <-ce.call(t, fmt.Sprintf(`{"n":%d}`, i))
			if want := fmt.Sprintf(`"done-%d"`, i); r == nil || string(r.Payload) != want {
				done <- fmt.Errorf("call %d got %+v, want %s", i, r, want)
				return
			}
		}
		done <- nil
	}()

	open := []*rapiClient{dialRAPI(t, ce.addr)}
	cur := open[0]
	other := func() *rapiClient { // an open connection other than cur, or a new one
		for _, c := range open {
			if c != cur && rng.IntN(2) == 0 {
				return c
			}
		}
		c := dialRAPI(t, ce.addr)
		open = append(open, c)
		return c
	}
	closeConn := func(c *rapiClient) {
		_ = c.Close()
		open = slices.DeleteFunc(open, func(x *rapiClient) bool { return x == c })
	}
	var how [5]int
	early := false // a next was sent on cur before the last result
	for i := range calls {
		if !early && rng.IntN(3) == 0 {
			cur = other() // next elsewhere than the last result
			how[0]++
		}
		if !early && len(open) > 1 && rng.IntN(4) == 0 {
			for _, c := range open {
				if c != cur {
					closeConn(c) // an idle connection closed
					how[1]++
					break
				}
			}
		}
		if !early {
			cur.send(t, "GET", pathNext, "")
		}
		early = false
		resp, payload := cur.read(t)
		if want := fmt.Sprintf(`{"n":%d}`, i); resp.StatusCode != 200 || payload != want {
			t.Fatalf("next %d delivered %d %s, want %s", i, resp.StatusCode, payload, want)
		}
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		rc := cur
		if rng.IntN(3) == 0 {
			rc = other() // the result elsewhere than its next
			how[2]++
		}
		if rc != cur && i+1 < calls && rng.IntN(3) == 0 {
			// The next before the result, on the next's connection (Lambda
			// keeps the invocation the runtime's to answer meanwhile).
			cur.send(t, "GET", pathNext, "")
			early = true
			how[4]++
		}
		rc.respond(t, id, fmt.Sprintf(`"done-%d"`, i))
		if !early && len(open) > 1 && rng.IntN(5) == 0 {
			closeConn(rc) // the result's connection closed after its answer
			how[3]++
			if rc == cur {
				cur = open[0]
			}
		}
		if !early && len(open) > 4 {
			for _, c := range open {
				if c != cur {
					closeConn(c)
					break
				}
			}
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("next moved %d times, idle connections closed %d, results elsewhere %d, result connections closed %d, nexts before their result %d", how[0], how[1], how[2], how[3], how[4])
}
