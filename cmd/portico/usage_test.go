package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// cli runs the portico command against env and returns its standard output.
func cli(t *testing.T, env *apptest.Env, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := runRoot(&out, &errOut, append([]string{"--endpoint", env.AdminURL}, args...)...); err != nil {
		t.Fatalf("portico %s: %v (%s)", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

func TestKeyAndPlanCommands(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	resp, err := env.Client().Do(ctx, "POST", "/portico/v1/apis", nil, map[string]any{"name": "a", "protocol": "REST",
		"routes": []map[string]any{{"method": "GET", "path": "/x", "integration": map[string]any{"type": "MOCK"}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var api struct{ ID string }
	_ = json.Unmarshal(resp.Body, &api)
	if _, err := env.Client().Do(ctx, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil); err != nil {
		t.Fatal(err)
	}

	var k struct{ ID, Value string }
	if err := json.Unmarshal([]byte(cli(t, env, "-o", "json", "key", "create", "--name", "alice", "--enabled")), &k); err != nil || len(k.Value) != 40 {
		t.Fatalf("key create: %+v %v", k, err)
	}
	if out := cli(t, env, "key", "list"); !strings.Contains(out, "alice") || strings.Contains(out, k.Value) {
		t.Fatalf("key list (values hidden):\n%s", out)
	}
	if out := cli(t, env, "key", "get", k.ID, "--show-value"); !strings.Contains(out, k.Value) {
		t.Fatalf("key get --show-value:\n%s", out)
	}
	if out := cli(t, env, "key", "update", k.ID, "--name", "alicia", "--disable"); !strings.Contains(out, "alicia") || !strings.Contains(out, "false") {
		t.Fatalf("key update:\n%s", out)
	}
	csv := filepath.Join(t.TempDir(), "keys.csv")
	_ = os.WriteFile(csv, []byte("Name,Key,Enabled\nbob,bob-key-value-0123456789,true\n"), 0o600)
	if out := cli(t, env, "key", "import", csv); len(strings.TrimSpace(out)) != 10 {
		t.Fatalf("key import printed %q, want one id", out)
	}

	var p struct{ ID string }
	if err := json.Unmarshal([]byte(cli(t, env, "-o", "json", "plan", "create", "--name", "basic", "--stage", api.ID+":dev",
		"--rate", "10", "--burst", "20", "--quota", "100", "--period", "week")), &p); err != nil || p.ID == "" {
		t.Fatalf("plan create: %v", err)
	}
	if out := cli(t, env, "plan", "list"); !strings.Contains(out, "100 per WEEK") || !strings.Contains(out, "10/s burst 20") {
		t.Fatalf("plan list:\n%s", out)
	}
	cli(t, env, "plan", "add-key", p.ID, k.ID)
	if out := cli(t, env, "plan", "get", p.ID); !strings.Contains(out, "alicia") {
		t.Fatalf("plan get:\n%s", out)
	}
	if out := cli(t, env, "plan", "usage", p.ID); !strings.Contains(out, k.ID) {
		t.Fatalf("plan usage:\n%s", out)
	}
	if out := cli(t, env, "plan", "reset-usage", p.ID, k.ID); !strings.Contains(out, "100") {
		t.Fatalf("plan reset-usage:\n%s", out)
	}
	// plan update changes the plan in place: its keys stay.
	if out := cli(t, env, "plan", "update", p.ID, "--name", "gold", "--rate", "50", "--burst", "80", "--quota", "7", "--period", "day"); !strings.Contains(out, "gold") ||
		!strings.Contains(out, "7 per DAY") || !strings.Contains(out, "50/s burst 80") {
		t.Fatalf("plan update:\n%s", out)
	}
	if out := cli(t, env, "plan", "get", p.ID); !strings.Contains(out, "alicia") || !strings.Contains(out, "7 per DAY") {
		t.Fatalf("plan get after update (its key kept):\n%s", out)
	}
	if out := cli(t, env, "plan", "update", p.ID, "--no-quota", "--no-throttle", "--remove-stage", api.ID+":dev"); strings.Contains(out, "per DAY") ||
		strings.Contains(out, "burst") || strings.Contains(out, api.ID) {
		t.Fatalf("plan update --no-quota --no-throttle --remove-stage:\n%s", out)
	}
	run := stderrRunner(env)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", "update", p.ID}, "nothing to change"},
		{[]string{"plan", "update", p.ID, "--no-throttle", "--rate", "1"}, "--no-throttle removes the plan's throttle"},
		{[]string{"plan", "update", p.ID, "--add-stage", "nostage"}, "use API_ID:STAGE"},
		{[]string{"plan", "update", p.ID, "--quota", "5", "--period", "DAY", "--offset", "2"}, "a DAY quota takes no offset"},
	} {
		if _, err := run(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("portico %s: %v, want an error saying %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	cli(t, env, "plan", "update", p.ID, "--add-stage", api.ID+":dev")
	cli(t, env, "plan", "remove-key", p.ID, k.ID)
	cli(t, env, "plan", "delete", p.ID)
	cli(t, env, "key", "delete", k.ID)
	if out := cli(t, env, "key", "list"); strings.Contains(out, "alicia") {
		t.Fatalf("deleted key listed:\n%s", out)
	}
}

// stderrRunner returns a func that runs the CLI against env's admin API and
// returns what it wrote to stderr.
func stderrRunner(env *apptest.Env) func(args ...string) (string, error) {
	return func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := runRoot(&out, &errOut, append([]string{"--endpoint", env.AdminURL}, args...)...)
		return errOut.String(), err
	}
}

// TestThrottleFlagsSayWhatIsWrong: `plan create --rate NaN` failed with
// "json: unsupported value: NaN"; a rate without a burst made a plan that
// throttles every request (a bucket of 0). Both are refused before any
// request, and a burst of 0 with a rate warns, for plans and stages.
func TestThrottleFlagsSayWhatIsWrong(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	run := stderrRunner(env)
	for _, rate := range []string{"NaN", "Inf", "-Inf"} {
		if _, err := run("plan", "create", "--name", "p", "--rate", rate, "--burst", "1"); err == nil ||
			!strings.Contains(err.Error(), "give a number of requests per second") {
			t.Errorf("plan create --rate %s: %v", rate, err)
		}
	}
	if _, err := run("plan", "create", "--name", "p", "--rate", "10"); err == nil || !strings.Contains(err.Error(), "--rate 10 needs --burst") {
		t.Errorf("plan create --rate without --burst: %v", err)
	}
	stderr, err := run("plan", "create", "--name", "p", "--rate", "10", "--burst", "0")
	if err != nil || !strings.Contains(stderr, "warning: --burst 0 with --rate 10: a plan's burst of 0 beside a rate is taken as not set") {
		t.Errorf("plan create --rate 10 --burst 0: %v, stderr %q", err, stderr)
	}
	// What is not set reads as inherited, not as 0/s (never refills) or burst 0.
	for _, tc := range []struct{ rate, burst, want string }{
		{"0", "3", "rate the account's, burst 3"},
		{"10", "0", "10/s, burst the account's"},
		{"10", "3", "10/s burst 3"},
	} {
		out := cli(t, env, "plan", "create", "--name", "shown", "--rate", tc.rate, "--burst", tc.burst)
		if !strings.Contains(out, tc.want) {
			t.Errorf("plan create --rate %s --burst %s printed %q, want %q", tc.rate, tc.burst, out, tc.want)
		}
	}
	stderr, err = run("plan", "create", "--name", "p0", "--rate", "0", "--burst", "0")
	if err != nil || !strings.Contains(stderr, "warning: --burst 0: a burst of 0 admits no request") {
		t.Errorf("plan create --rate 0 --burst 0: %v, stderr %q", err, stderr)
	}
	resp, err := env.Client().Do(context.Background(), "POST", "/portico/v1/apis", nil, map[string]any{"name": "a", "protocol": "REST",
		"routes": []map[string]any{{"method": "GET", "path": "/x", "integration": map[string]any{"type": "MOCK"}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var api struct{ ID string }
	_ = json.Unmarshal(resp.Body, &api)
	if _, err := env.Client().Do(context.Background(), "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := run("stage", "throttle", api.ID, "dev", "--rate", "NaN", "--burst", "1"); err == nil || !strings.Contains(err.Error(), "give a number") {
		t.Errorf("stage throttle --rate NaN: %v", err)
	}
	if stderr, err := run("stage", "throttle", api.ID, "dev", "--rate", "10"); err != nil || !strings.Contains(stderr, "warning: --rate without --burst") {
		t.Errorf("stage throttle --rate without --burst: %v, stderr %q", err, stderr)
	}
	if stderr, err := run("stage", "throttle", api.ID, "dev", "--rate", "10", "--burst", "0"); err != nil || !strings.Contains(stderr, "warning: --burst 0") {
		t.Errorf("stage throttle --burst 0: %v, stderr %q", err, stderr)
	}
}

// TestAliasWeightNaN: --weight 2=NaN passed the 0..1 check (NaN compares
// false) and failed as "json: unsupported value: NaN".
func TestAliasWeightNaN(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	err := runRoot(&out, &errOut, "--endpoint", "http://127.0.0.1:1", "alias", "set", "f", "live", "1", "--weight", "2=NaN")
	if err == nil || !strings.Contains(err.Error(), `--weight "2=NaN": use VERSION=WEIGHT with a weight between 0 and 1`) {
		t.Fatalf("alias set --weight 2=NaN: %v", err)
	}
}

// TestAliasWeightVersionChecked (newuser26 #2): --weight '=0.1' reached the
// server, which answered "Function not found" for a function that exists;
// --weight 3=0.2 --weight 3=0.3 kept the last silently. The CLI refuses both.
func TestAliasWeightVersionChecked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		weights []string
		want    string
	}{
		{"empty version", []string{"=0.1"}, `--weight "=0.1": the version is empty: use VERSION=WEIGHT`},
		{"version twice", []string{"3=0.2", "3=0.3"}, `--weight "3=0.3": version 3 has a weight already`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := []string{"--endpoint", "http://127.0.0.1:1", "alias", "set", "f", "live", "1"}
			for _, w := range tc.weights {
				args = append(args, "--weight", w)
			}
			err := runRoot(&out, &errOut, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("alias set %v: %v, want %q", tc.weights, err, tc.want)
			}
		})
	}
}

// TestKeyAndPlanListsFollowPosition: `key list`, `plan list` and `plan get`
// showed the first 500 items (one page) and nothing of the rest; they follow
// position to the end, as `plan usage` does, in tables and with -o json.
func TestKeyAndPlanListsFollowPosition(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	const plans, keys = 502, 520
	var planIDs []string
	for i := range plans {
		resp, err := env.Client().Do(ctx, "POST", "/usageplans", nil, map[string]any{"name": fmt.Sprintf("plan-%04d", i)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var p struct{ ID string }
		if err := json.Unmarshal(resp.Body, &p); err != nil {
			t.Fatal(err)
		}
		planIDs = append(planIDs, p.ID)
	}
	var csv strings.Builder
	csv.WriteString("Name,Key,Enabled,UsagePlanIds\n")
	for i := range keys {
		fmt.Fprintf(&csv, "key-%04d,key-value-0123456789-%04d,true,%s\n", i, i, planIDs[0])
	}
	file := filepath.Join(t.TempDir(), "keys.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cli(t, env, "key", "import", file)

	rows := func(out string) int { return len(strings.Split(strings.TrimSpace(out), "\n")) - 1 }
	if out := cli(t, env, "key", "list"); rows(out) != keys || !strings.Contains(out, fmt.Sprintf("key-%04d", keys-1)) {
		t.Errorf("key list: %d rows, want %d", rows(out), keys)
	}
	if out := cli(t, env, "plan", "list"); rows(out) != plans || !strings.Contains(out, fmt.Sprintf("plan-%04d", plans-1)) {
		t.Errorf("plan list: %d rows, want %d", rows(out), plans)
	}
	out := cli(t, env, "plan", "get", planIDs[0])
	if _, keyRows, _ := strings.Cut(out, "KEY ID"); rows(keyRows) != keys || !strings.Contains(keyRows, fmt.Sprintf("key-%04d", keys-1)) {
		t.Errorf("plan get: %d key rows, want %d", rows(keyRows), keys)
	}
	for _, c := range []struct {
		args []string
		want int
	}{{[]string{"key", "list"}, keys}, {[]string{"plan", "list"}, plans}} {
		var got map[string]json.RawMessage
		if err := json.Unmarshal([]byte(cli(t, env, append([]string{"-o", "json"}, c.args...)...)), &got); err != nil {
			t.Fatal(err)
		}
		var items []json.RawMessage
		_ = json.Unmarshal(got["item"], &items)
		if _, paged := got["position"]; len(items) != c.want || paged {
			t.Errorf("-o json %s: %d items (position given: %v), want %d and no position", strings.Join(c.args, " "), len(items), paged, c.want)
		}
	}
}

// TestPlanCreateFlagsThatDoNothingAlone: `plan create --burst N` without a
// rate made a bucket that never refills (N requests per key, then none) with
// no word; it warns now that the rate is the account's (the plan's rate of 0
// beside a burst is not set); --period and --offset without --quota were dropped; --rate -1 was
// answered "needs --burst". The first warns now, the others are refused
// before any request, saying what is wrong.
func TestPlanCreateFlagsThatDoNothingAlone(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	run := stderrRunner(env)
	stderr, err := run("plan", "create", "--name", "b", "--burst", "7")
	if err != nil || !strings.Contains(stderr, "warning: --burst 7 without a --rate") {
		t.Errorf("plan create --burst 7: %v, stderr %q", err, stderr)
	}
	for _, args := range [][]string{{"--period", "MONTH"}, {"--offset", "3"}, {"--period", "WEEK", "--offset", "3"}} {
		if _, err := run(append([]string{"plan", "create", "--name", "q"}, args...)...); err == nil || !strings.Contains(err.Error(), "give the quota too") {
			t.Errorf("plan create %q without --quota: %v", args, err)
		}
	}
	if _, err := run("plan", "create", "--name", "r", "--rate", "-1"); err == nil || !strings.Contains(err.Error(), "may be negative") {
		t.Errorf("plan create --rate -1: %v", err)
	}
	var plans struct {
		Items []struct{ Name string } `json:"item"`
	}
	resp, err := env.Client().Do(context.Background(), "GET", "/usageplans", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(resp.Body, &plans); err != nil || len(plans.Items) != 1 || plans.Items[0].Name != "b" {
		t.Errorf("plans after the refusals: %+v %v, want only b", plans.Items, err)
	}
}

// TestKeyCreateValueFile is keys18's finding 5: a chosen key value could be
// given only as --value, which leaves it in ps and the shell's history.
// --value-file reads it from a file, as --token-file does the admin token.
func TestKeyCreateValueFile(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	f := filepath.Join(t.TempDir(), "value")
	const value = "file-key-value-0123456789abcdef"
	if err := os.WriteFile(f, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var k struct{ ID, Value string }
	if err := json.Unmarshal([]byte(cli(t, env, "-o", "json", "key", "create", "--name", "f", "--value-file", f)), &k); err != nil || k.Value != value {
		t.Fatalf("key create --value-file: %+v %v", k, err)
	}
	if out, err := cliErr(env, "key", "create", "--value", "other-value-0123456789abcdef", "--value-file", f); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("--value with --value-file: %v %s", err, out)
	}
	// keys25's finding 3: an empty file was "empty: write the token in it",
	// and a file of two lines answered the server's "must be printable ASCII".
	for content, want := range map[string]string{
		"":                              "empty: write the API key value in it",
		"a\nb-0123456789abcdefghijkl\n": "2 lines: the file should hold the API key value alone, on one line",
	} {
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := cliErr(env, "key", "create", "--name", "g", "--value-file", f); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--value-file holding %q: %v %s, want %q", content, err, out, want)
		}
	}
}

// TestKeyCustomerID is keys25's finding 4: the CLI could neither set a
// key's customerId nor list the keys of one.
func TestKeyCustomerID(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	var k struct {
		ID         string
		CustomerID string `json:"customerId"`
	}
	if err := json.Unmarshal([]byte(cli(t, env, "-o", "json", "key", "create", "--name", "c", "--customer-id", "cust-1")), &k); err != nil || k.CustomerID != "cust-1" {
		t.Fatalf("key create --customer-id: %+v %v", k, err)
	}
	cli(t, env, "key", "create", "--name", "other")
	if out := cli(t, env, "key", "list", "--customer-id", "cust-1"); !strings.Contains(out, k.ID) || strings.Contains(out, "other") {
		t.Errorf("key list --customer-id cust-1:\n%s", out)
	}
	if err := json.Unmarshal([]byte(cli(t, env, "-o", "json", "key", "update", k.ID, "--customer-id", "cust-2")), &k); err != nil || k.CustomerID != "cust-2" {
		t.Fatalf("key update --customer-id: %+v %v", k, err)
	}
}

// TestPlanUsageDateFlags: plan usage checks its --from and --to itself, so
// that an error names them (a --from in the future, with --to defaulting to
// today, was "The endDate must not be before the startDate").
func TestPlanUsageDateFlags(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	var p struct{ ID string }
	if err := json.Unmarshal([]byte(cli(t, env, "-o", "json", "plan", "create", "--name", "basic")), &p); err != nil || p.ID == "" {
		t.Fatalf("plan create: %v", err)
	}
	run := stderrRunner(env)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", "2999-12-08"}, "--to " + time.Now().UTC().Format(time.DateOnly) + " is before --from 2999-12-08"},
		{[]string{"--from", "2026-02-30", "--to", "2026-03-01"}, "--from 2026-02-30: not a date: February 2026 has 28 days"},
		{[]string{"--to", "26-03-01"}, "--to 26-03-01: use YYYY-MM-DD"},
	} {
		_, err := run(append([]string{"plan", "usage", p.ID}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("plan usage %v: %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestKeyEnableSpellingsAndPeriod (r-verify29a #3): `key create --enable` and
// `key update --enabled` were refused as unknown flags (each command took the
// other's spelling only); `plan update --period YEAR` answered "Invalid quota
// period 'YEAR' for replace /quota/period", a patch path the user never sent.
func TestKeyEnableSpellingsAndPeriod(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	run := stderrRunner(env)
	enabled := func(args ...string) bool {
		t.Helper()
		var k struct {
			ID      string
			Enabled bool
		}
		if err := json.Unmarshal([]byte(cli(t, env, append([]string{"-o", "json", "key"}, args...)...)), &k); err != nil {
			t.Fatal(err)
		}
		return k.Enabled
	}
	var k struct{ ID string }
	if err := json.Unmarshal([]byte(cli(t, env, "-o", "json", "key", "create", "--name", "k1", "--enable")), &k); err != nil {
		t.Fatal(err)
	}
	if !enabled("get", k.ID) {
		t.Errorf("key create --enable: the key is disabled")
	}
	if enabled("update", k.ID, "--enabled=false") {
		t.Errorf("key update --enabled=false: the key is enabled")
	}
	if !enabled("update", k.ID, "--enabled") {
		t.Errorf("key update --enabled: the key is disabled")
	}
	if _, err := run("key", "update", k.ID, "--enabled", "--disable"); err == nil || !strings.Contains(err.Error(), "contradict") {
		t.Errorf("key update --enabled --disable: %v", err)
	}
	if _, err := run("key", "create", "--name", "k2", "--enabled", "--disable"); err == nil || !strings.Contains(err.Error(), "contradict") {
		t.Errorf("key create --enabled --disable: %v", err)
	}
	if out := cli(t, env, "-o", "json", "key", "create", "--name", "k3", "--disable"); !strings.Contains(out, `"enabled": false`) {
		t.Errorf("key create --disable:\n%s", out)
	}

	var p struct{ ID string }
	if err := json.Unmarshal([]byte(cli(t, env, "-o", "json", "plan", "create", "--name", "p", "--quota", "5", "--period", "week")), &p); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"plan", "update", p.ID, "--period", "YEAR", "--quota", "5"},
		{"plan", "update", p.ID, "--period", "year"},
		{"plan", "create", "--name", "q", "--quota", "5", "--period", "YEAR"},
	} {
		_, err := run(args...)
		if err == nil || !strings.Contains(err.Error(), "give DAY, WEEK or MONTH") || strings.Contains(err.Error(), "/quota") {
			t.Errorf("portico %s: %v, want the --period named, not a patch path", strings.Join(args, " "), err)
		}
	}
	if out := cli(t, env, "plan", "get", p.ID); !strings.Contains(out, "5 per WEEK") {
		t.Errorf("plan after the refused updates:\n%s", out)
	}
}
