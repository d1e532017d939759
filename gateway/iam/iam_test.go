package iam

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/portico-dev/portico/gateway/auth/policy"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
)

func open(t *testing.T, dir string) (*Service, *store.Store) {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := OpenSealer(DefaultKeyFile(st.Dir()))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(context.Background(), st, sealer, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

func kind(err error) string {
	var k *errdefs.Kinded
	if errors.As(err, &k) {
		return k.Type
	}
	return ""
}

// TestPrincipalsSurviveRestartSealed creates a user with a key and a policy,
// reopens the store and finds the same principal, while the database file holds
// no secret in clear.
func TestPrincipalsSurviveRestartSealed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, st := open(t, dir)
	u, err := s.CreateUser(ctx, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	if u.ARN != "arn:aws:iam::000000000000:user/alice" {
		t.Errorf("arn %q", u.ARN)
	}
	if _, err := s.CreateUser(ctx, "ALICE", ""); kind(err) != "EntityAlreadyExists" {
		t.Errorf("duplicate user: %v", err)
	}
	k, secret, err := s.CreateAccessKey(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != 40 || len(k.AccessKeyID) != 20 {
		t.Errorf("key %q secret length %d", k.AccessKeyID, len(secret))
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`
	if err := s.PutUserPolicy(ctx, "alice", "invoke", doc); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUserPolicy(ctx, "alice", "bad", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}]}`); kind(err) != "MalformedPolicyDocument" {
		t.Errorf("bad policy: %v", err)
	}
	if err := s.DeleteUser(ctx, "alice"); kind(err) != "DeleteConflict" {
		t.Errorf("delete with keys: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "data", "portico.db"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(secret)) {
		t.Fatal("the secret access key is in the database in clear")
	}

	s, st = open(t, dir)
	defer st.Close()
	p, ok := s.Lookup(k.AccessKeyID)
	if !ok || p.Secret != secret || !p.Active || p.UserName != "alice" || len(p.Policies) != 1 {
		t.Fatalf("after restart: %+v %v", p, ok)
	}
	if d := p.Evaluate(policy.Request{Action: policy.ActionInvoke, Resource: "arn:x"}); d != policy.Allowed {
		t.Errorf("policy: %v", d)
	}
	if err := s.UpdateAccessKey(ctx, "alice", k.AccessKeyID, StatusInactive); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Lookup(k.AccessKeyID); p.Active {
		t.Error("inactive key still active")
	}
	if err := s.DeleteAccessKey(ctx, "alice", k.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Lookup(k.AccessKeyID); ok {
		t.Error("deleted key still found")
	}
	if err := s.DeleteUserPolicy(ctx, "alice", "invoke"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUser(ctx, "alice"); kind(err) != "NoSuchEntity" {
		t.Errorf("deleted user: %v", err)
	}
}

// TestAnotherKeyFileCannotUnseal: a data directory opened with a different key
// file refuses to start rather than serve wrong secrets.
func TestAnotherKeyFileCannotUnseal(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, st := open(t, dir)
	if _, err := s.CreateUser(ctx, "bob", "/team/"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateAccessKey(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := os.Remove(DefaultKeyFile(filepath.Join(dir, "data"))); err != nil {
		t.Fatal(err)
	}
	st2, _ := store.Open(filepath.Join(dir, "data"))
	defer st2.Close()
	sealer, _ := OpenSealer(filepath.Join(dir, "other.key"))
	if _, err := New(ctx, st2, sealer, nil); err == nil {
		t.Fatal("opened with another key")
	}
}

func TestAccessKeyLimit(t *testing.T) {
	ctx := context.Background()
	s, st := open(t, t.TempDir())
	defer st.Close()
	if _, err := s.CreateUser(ctx, "carol", ""); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < MaxAccessKeys; i++ {
		if _, _, err := s.CreateAccessKey(ctx, "carol"); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.CreateAccessKey(ctx, "carol"); kind(err) != "LimitExceeded" {
		t.Errorf("third key: %v", err)
	}
	if _, _, err := s.CreateAccessKey(ctx, "nobody"); kind(err) != "NoSuchEntity" {
		t.Errorf("key for nobody: %v", err)
	}
}

// TestStoredPolicyThatNoLongerParses: a policy an older build stored and this
// one refuses (here a Deny whose misspelt Condition the old parser ignored)
// is not dropped on its own, which would leave the user's other policies to
// allow what it denied: the user is refused everything, as an explicit deny,
// until the policy is replaced or deleted.
func TestStoredPolicyThatNoLongerParses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, st := open(t, dir)
	if _, err := s.CreateUser(ctx, "alice", ""); err != nil {
		t.Fatal(err)
	}
	k, _, err := s.CreateAccessKey(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutUserPolicy(ctx, "alice", "allow", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`); err != nil {
		t.Fatal(err)
	}
	const old = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:x/secret","Conditon":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`
	if err := st.Update(ctx, func(tx *store.Tx) error {
		var u User
		if err := getUser(tx, "alice", &u); err != nil {
			return err
		}
		u.Policies["old"] = old
		return tx.Put(usersBucket, "alice", &u)
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	s, st = open(t, dir)
	defer st.Close()
	p, ok := s.Lookup(k.AccessKeyID)
	if !ok {
		t.Fatal("key lost")
	}
	for _, res := range []string{"arn:x/secret", "arn:x/open"} {
		if d := p.Evaluate(policy.Request{Action: policy.ActionInvoke, Resource: res}); d != policy.ExplicitDeny {
			t.Errorf("%s with a stored policy that no longer parses: %v, want an explicit deny", res, d)
		}
	}
	if doc, err := s.GetUserPolicy(ctx, "alice", "old"); err != nil || doc != old {
		t.Errorf("the stored policy is still shown: %q %v", doc, err)
	}
	if err := s.DeleteUserPolicy(ctx, "alice", "old"); err != nil {
		t.Fatal(err)
	}
	p, _ = s.Lookup(k.AccessKeyID)
	if d := p.Evaluate(policy.Request{Action: policy.ActionInvoke, Resource: "arn:x/open"}); d != policy.Allowed {
		t.Errorf("after deleting it: %v", d)
	}
}
