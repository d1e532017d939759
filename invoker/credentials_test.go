package invoker

import (
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
