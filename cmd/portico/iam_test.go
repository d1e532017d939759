package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestIAMCommands drives `portico iam` through a user's whole life: create,
// key, policy, list, refusal to delete while keys remain, then delete.
func TestIAMCommands(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	if out := cli(t, env, "iam", "user", "create", "alice"); !strings.Contains(out, "arn:aws:iam::000000000000:user/alice") {
		t.Fatalf("user create:\n%s", out)
	}
	var k struct{ AccessKeyID, SecretAccessKey string }
	if err := json.Unmarshal([]byte(cli(t, env, "-o", "json", "iam", "key", "create", "alice")), &k); err != nil || len(k.SecretAccessKey) != 40 {
		t.Fatalf("key create: %+v %v", k, err)
	}
	if out := cli(t, env, "iam", "key", "list", "alice"); !strings.Contains(out, k.AccessKeyID) || strings.Contains(out, k.SecretAccessKey) {
		t.Fatalf("key list (no secrets):\n%s", out)
	}
	cli(t, env, "iam", "key", "deactivate", "alice", k.AccessKeyID)
	if out := cli(t, env, "iam", "key", "list", "alice"); !strings.Contains(out, "Inactive") {
		t.Fatalf("key list after deactivate:\n%s", out)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`
	cli(t, env, "iam", "policy", "put", "alice", "invoke", "--document", doc)
	if out := cli(t, env, "iam", "policy", "get", "alice", "invoke"); strings.TrimSpace(out) != doc {
		t.Fatalf("policy get: %q", out)
	}
	if out := cli(t, env, "iam", "policy", "list", "alice"); !strings.Contains(out, "invoke") {
		t.Fatalf("policy list:\n%s", out)
	}
	if _, err := cliErr(env, "iam", "user", "delete", "alice"); err == nil || !strings.Contains(err.Error(), "DeleteConflict") {
		t.Fatalf("user delete with a key: %v", err)
	}
	cli(t, env, "iam", "key", "delete", "alice", k.AccessKeyID)
	cli(t, env, "iam", "policy", "delete", "alice", "invoke")
	cli(t, env, "iam", "user", "delete", "alice")
	if out := cli(t, env, "iam", "user", "list"); strings.Contains(out, "alice") {
		t.Fatalf("user list after delete:\n%s", out)
	}
}
