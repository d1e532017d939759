package invoker

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
)

// fakeIssuer issues credentials valid for ttl on a clock, counting issues.
type fakeIssuer struct {
	now    func() time.Time
	ttl    time.Duration
	issued atomic.Int64
}

func (f *fakeIssuer) Issue(string) Credentials {
	n := f.issued.Add(1)
	return Credentials{AccessKeyID: "PTCOTEST" + string(rune('A'+n)), SecretAccessKey: "s", SessionToken: "t", Expires: f.now().Add(f.ttl)}
}

// TestSandboxRetiresBeforeCredentialsExpire checks that a warm sandbox whose
// credentials are within CredentialMargin of expiring takes no new invocation:
// the next call starts a successor with fresh credentials, and the environment
// carries them.
func TestSandboxRetiresBeforeCredentialsExpire(t *testing.T) {
	e := newEnv(t, nil)
	iss := &fakeIssuer{now: e.clock.Now, ttl: CredentialMargin + time.Hour}
	e.inv.p.Credentials = iss
	cfg := e.fns.add(&functions.Config{FunctionName: "creds"})

	res1, o1 := invoke(t, e, cfg, `{"env":"AWS_SESSION_TOKEN"}`)
	if !res1.ColdStart || o1.Env != "t" {
		t.Fatalf("first call: cold=%v session token %q", res1.ColdStart, o1.Env)
	}
	res2, o2 := invoke(t, e, cfg, `{"env":"AWS_ACCESS_KEY_ID"}`)
	if res2.ColdStart || o2.Pid != o1.Pid {
		t.Fatalf("within the credentials' life the warm sandbox serves: cold=%v", res2.ColdStart)
	}
	e.clock.Advance(time.Hour + time.Second)
	res3, o3 := invoke(t, e, cfg, `{"env":"AWS_ACCESS_KEY_ID"}`)
	if !res3.ColdStart || o3.Pid == o1.Pid || iss.issued.Load() != 2 || o3.Env == o2.Env {
		t.Fatalf("after the retirement time: cold=%v pid %d (was %d), issued %d, key %q (was %q)",
			res3.ColdStart, o3.Pid, o1.Pid, iss.issued.Load(), o3.Env, o2.Env)
	}
}

// TestShortCredentialsDoNotHangCalls checks that credentials shorter than
// CredentialMargin do not retire a sandbox before it serves: with a 19-minute
// TTL a call returns (it hung, a bootstrap started and stopped over and over),
// the sandbox stays warm for part of the credentials' life, and a successor
// with fresh ones takes over before they expire.
func TestShortCredentialsDoNotHangCalls(t *testing.T) {
	e := newEnv(t, nil)
	iss := &fakeIssuer{now: e.clock.Now, ttl: 19 * time.Minute}
	e.inv.p.Credentials = iss
	cfg := e.fns.add(&functions.Config{FunctionName: "short"})

	res1, o1 := invokeBounded(t, e, cfg, `{"env":"AWS_ACCESS_KEY_ID"}`)
	if !res1.ColdStart {
		t.Fatalf("first call: cold=%v", res1.ColdStart)
	}
	res2, o2 := invokeBounded(t, e, cfg, `{"env":"AWS_ACCESS_KEY_ID"}`)
	if res2.ColdStart || o2.Pid != o1.Pid {
		t.Fatalf("early in the credentials' life the warm sandbox serves: cold=%v", res2.ColdStart)
	}
	e.clock.Advance(18 * time.Minute)
	res3, o3 := invokeBounded(t, e, cfg, `{"env":"AWS_ACCESS_KEY_ID"}`)
	if !res3.ColdStart || o3.Pid == o1.Pid || o3.Env == o1.Env {
		t.Fatalf("a minute before expiry a successor serves: cold=%v pid %d (was %d), key %q (was %q)",
			res3.ColdStart, o3.Pid, o1.Pid, o3.Env, o1.Env)
	}
	if n := iss.issued.Load(); n != 2 {
		t.Fatalf("issued %d credentials, want 2 (one per sandbox)", n)
	}
}

// TestExpiredCredentialsServeOneCall checks the floor: a sandbox whose
// credentials are retired from the moment it starts (here they expire as they
// are issued) still serves the call it was started for, instead of being
// stopped and replaced for ever.
func TestExpiredCredentialsServeOneCall(t *testing.T) {
	e := newEnv(t, nil)
	iss := &fakeIssuer{now: e.clock.Now, ttl: 0}
	e.inv.p.Credentials = iss
	cfg := e.fns.add(&functions.Config{FunctionName: "expired"})
	for n := int64(1); n <= 2; n++ {
		res, _ := invokeBounded(t, e, cfg, `{}`)
		if !res.ColdStart || iss.issued.Load() != n {
			t.Fatalf("call %d: cold=%v, issued %d", n, res.ColdStart, iss.issued.Load())
		}
	}
}

// invokeBounded is invoke with a context that ends the call if the test would
// otherwise hang (a bound on a hang, not a measured time).
func invokeBounded(t *testing.T, e *env, cfg *functions.Config, payload string) (*Result, out) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := e.inv.Invoke(ctx, Request{Function: cfg, Payload: []byte(payload)})
	if err != nil {
		t.Fatalf("invoke %s: %v", payload, err)
	}
	var o out
	if err := json.Unmarshal(res.Payload, &o); err != nil {
		t.Fatalf("result %q is not JSON: %v", res.Payload, err)
	}
	return res, o
}
