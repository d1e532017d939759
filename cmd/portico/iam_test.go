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

// TestIAMAndPlanChangesSayWhatTheyDid: the IAM changes (user delete, key
// activate, deactivate and delete, policy put and delete) and plan add-key and
// remove-key print {} with -o json, as every command prints JSON there
// (docs/cli.md), and a line saying what they did in table output.
func TestIAMAndPlanChangesSayWhatTheyDid(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`
	var plan, key struct{ ID string }
	if err := json.Unmarshal([]byte(cli(t, env, "-o", "json", "plan", "create", "--name", "p")), &plan); err != nil || plan.ID == "" {
		t.Fatalf("plan create: %+v %v", plan, err)
	}
	if err := json.Unmarshal([]byte(cli(t, env, "-o", "json", "key", "create", "--name", "k")), &key); err != nil || key.ID == "" {
		t.Fatalf("key create: %+v %v", key, err)
	}
	for _, asJSON := range []bool{true, false} {
		cli(t, env, "iam", "user", "create", "carol")
		var k struct{ AccessKeyID string }
		if err := json.Unmarshal([]byte(cli(t, env, "-o", "json", "iam", "key", "create", "carol")), &k); err != nil || k.AccessKeyID == "" {
			t.Fatalf("key create: %+v %v", k, err)
		}
		for _, c := range []struct {
			args []string
			says string
		}{
			{[]string{"iam", "policy", "put", "carol", "invoke", "--document", doc}, "put policy invoke of user carol"},
			{[]string{"iam", "policy", "delete", "carol", "invoke"}, "deleted policy invoke of user carol"},
			{[]string{"iam", "key", "deactivate", "carol", k.AccessKeyID}, "access key " + k.AccessKeyID + " of user carol: Inactive"},
			{[]string{"iam", "key", "activate", "carol", k.AccessKeyID}, "access key " + k.AccessKeyID + " of user carol: Active"},
			{[]string{"iam", "key", "delete", "carol", k.AccessKeyID}, "deleted access key " + k.AccessKeyID + " of user carol"},
			{[]string{"iam", "user", "delete", "carol"}, "deleted user carol"},
			{[]string{"plan", "add-key", plan.ID, key.ID}, "added key " + key.ID + " to usage plan " + plan.ID},
			{[]string{"plan", "remove-key", plan.ID, key.ID}, "removed key " + key.ID + " from usage plan " + plan.ID},
		} {
			if asJSON {
				out := cli(t, env, append([]string{"-o", "json"}, c.args...)...)
				var v map[string]any
				if err := json.Unmarshal([]byte(out), &v); err != nil {
					t.Errorf("portico -o json %s printed %q, not a JSON object: %v", strings.Join(c.args, " "), out, err)
				}
				continue
			}
			if out := cli(t, env, c.args...); out != c.says+"\n" {
				t.Errorf("portico %s printed %q, want %q", strings.Join(c.args, " "), out, c.says+"\n")
			}
		}
	}
}
