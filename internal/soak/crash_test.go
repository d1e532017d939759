package soak

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
)

// keyedDoc is a REST API whose GET /pets requires an API key (MOCK integration).
const keyedDoc = `openapi: 3.0.1
info: {title: crash, version: "1"}
components:
  securitySchemes:
    api_key: {type: apiKey, name: x-api-key, in: header}
paths:
  /pets:
    get:
      security: [{api_key: []}]
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200", responseTemplates: {application/json: '{"pets":[]}'}}}
`

// ledger is what the server acknowledged (answered 2xx) before a crash: after
// every restart all of it must still be there.
type ledger struct {
	mu       sync.Mutex
	versions map[string]ackedVersion // version -> what publish answered
	lastEnv  int                     // the last acknowledged $LATEST configuration (env SEQ)
	alias    int                     // the version alias live was last acknowledged to name
	deploys  []string                // deployment ids of the keyed API
	stageVar int                     // the last acknowledged value of stage prod's variable n
	imports  map[string]string       // API id -> name
	usage    int64                   // the highest count get-usage answered since fx.since
	admitted int64                   // gateway calls answered 200 (they were counted)
	crashes  int                     // restarts verified so far
	sent     int64                   // gateway calls sent, answered or not
	writes   int                     // acknowledged writes in all
	refused  []string                // error answers (not cut connections) during the load
}

// fail records err when the server answered it (rather than the kill cutting
// the connection): under load nothing should be refused.
func (l *ledger) fail(what string, err error) {
	var ae *client.APIError
	if !errors.As(err, &ae) {
		return
	}
	l.mu.Lock()
	l.refused = append(l.refused, what+": "+err.Error())
	l.mu.Unlock()
}

type ackedVersion struct {
	env    int
	sha256 string // CodeSha256, base64
}

// crashFixture is the data directory's fixed part, made on the first start.
type crashFixture struct {
	api, plan, key, keyValue string
	since                    time.Time // before the first request counted
}

// maxReservationBlock is gateway/usage's cap on the requests one reservation
// covers ahead of use: what a crash can count that was never admitted.
const maxReservationBlock = 4096

// TestKillNineKeepsAcknowledgedWrites runs `portico serve` and kills it with
// SIGKILL, several times, while it publishes versions (with new code), deploys,
// sets stage variables, imports APIs and counts usage-plan requests under load.
// After each restart the store must open, every write acknowledged before the
// kill must be there, nothing half-written may be visible (a version whose code
// is missing, a stage or history entry naming no deployment), and a key's usage
// must be at least what get-usage answered and every request admitted before
// the kill (a count is reserved durably before its request is admitted), and at
// most what was sent plus one reservation block per crash. CRASH_KILLS sets the number
// of kills (6 by default; the documented soak ran 60). The kill schedule's seed is
// logged; CRASH_SEED replays it.
func TestKillNineKeepsAcknowledgedWrites(t *testing.T) {
	kills := 6
	if v := os.Getenv("CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("CRASH_KILLS=%q: give a positive number", v)
		}
		kills = n
	}
	dataDir := t.TempDir()
	zips := [][]byte{apptest.ZipSample(t, "hello"), zipWithExtra(t, apptest.Sample(t, "hello"))}
	led := &ledger{versions: map[string]ackedVersion{}, imports: map[string]string{}}
	var fx crashFixture
	seed, err := crashSeed()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kill schedule: seed %d (CRASH_SEED=%d CRASH_KILLS=%d replays it)", seed, seed, kills)
	waits := killWaits(seed, kills)
	seq := 0
	for round := 0; round <= kills; round++ {
		p := apptest.StartProcess(t, apptest.Options{DataDir: dataDir})
		c := p.Client()
		if round == 0 {
			fx = setUpCrashFixture(t, c, zips[0])
		} else {
			verifyLedger(t, c, p, fx, led)
			if t.Failed() {
				t.Logf("server output after restart %d:\n%s", round, p.Output())
				return
			}
		}
		if round == kills {
			p.Kill()
			break
		}
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { publisher(ctx, c, zips, led, &seq) })
		wg.Go(func() { deployer(ctx, c, fx, led) })
		wg.Go(func() { importer(ctx, c, led, round) })
		for range 4 {
			wg.Go(func() { caller(ctx, p.GatewayURL+"/"+fx.api+"/prod/pets", fx.keyValue, led) })
		}
		wg.Go(func() { usageReader(ctx, c, fx, led) })
		// Kill at a random point of the writes, after enough have been made to
		// land mid-write with good odds.
		time.Sleep(waits[round]) // the fault schedule, not a wait for the server
		p.Kill()
		stop()
		wg.Wait()
	}
	led.mu.Lock()
	defer led.mu.Unlock()
	for _, r := range led.refused {
		t.Errorf("refused under load: %s", r)
	}
	t.Logf("%d kills; %d acknowledged writes checked after each restart (%d versions, %d deployments, %d imported APIs; alias live at %d, stage variable n=%d); %d gateway calls admitted, usage reported %d",
		kills, led.writes, len(led.versions), len(led.deploys), len(led.imports), led.alias, led.stageVar, led.admitted, led.usage)
}

// crashSeed is the kill schedule's seed: CRASH_SEED (a failed run's, which
// it logged) or a new one.
func crashSeed() (uint64, error) {
	v := os.Getenv("CRASH_SEED")
	if v == "" {
		return rand.Uint64(), nil //nolint:gosec // G404: a fault schedule, not a secret
	}
	seed, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("CRASH_SEED=%q: give the seed a run logged (a number): %w", v, err)
	}
	return seed, nil
}

// killWaits is the kill schedule of seed: for each of kills rounds, how long
// into the load the server is killed (100 ms to 1 s, a random point of the
// writes after enough have been made to land mid-write with good odds).
func killWaits(seed uint64, kills int) []time.Duration {
	rng := rand.New(rand.NewPCG(seed, 1)) //nolint:gosec // G404: a fault schedule, not a secret
	waits := make([]time.Duration, kills)
	for i := range waits {
		waits[i] = time.Duration(100+rng.IntN(900)) * time.Millisecond
	}
	return waits
}

// zipWithFile zips the package in src with one more file, name holding data,
// so that its code differs from src's.
func zipWithFile(t *testing.T, src, name string, data []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	boot, err := os.ReadFile(filepath.Join(src, "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	//nolint:gosec // G306: bootstrap must be executable
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), boot, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := client.ZipDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// zipWithExtra zips the package in src with 64 KB more, so that its code
// differs from src's.
func zipWithExtra(t *testing.T, src string) []byte {
	t.Helper()
	return zipWithFile(t, src, "extra.txt", bytes.Repeat([]byte("x"), 64<<10))
}

func setUpCrashFixture(t *testing.T, c *client.Client, zip []byte) crashFixture {
	t.Helper()
	ctx := context.Background()
	if _, _, err := c.CreateFunction(ctx, map[string]any{"FunctionName": "pub", "Code": map[string]any{"ZipFile": zip}}); err != nil {
		t.Fatal(err)
	}
	fx := crashFixture{since: time.Now()}
	res, err := c.Do(ctx, http.MethodPost, "/portico/v1/apis/import", url.Values{"name": {"keyed"}}, []byte(keyedDoc), nil)
	if err != nil {
		t.Fatal(err)
	}
	var imp struct {
		API struct{ ID string } `json:"api"`
	}
	mustJSON(t, res.Body, &imp)
	fx.api = imp.API.ID
	if _, err := c.Do(ctx, http.MethodPost, "/portico/v1/apis/"+fx.api+"/deployments", nil, map[string]any{"stageName": "prod"}, nil); err != nil {
		t.Fatal(err)
	}
	res, err = c.Do(ctx, http.MethodPost, "/apikeys", nil, map[string]any{"name": "k", "enabled": true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var key struct{ ID, Value string }
	mustJSON(t, res.Body, &key)
	fx.key, fx.keyValue = key.ID, key.Value
	res, err = c.Do(ctx, http.MethodPost, "/usageplans", nil, map[string]any{
		"name":      "p",
		"apiStages": []map[string]string{{"apiId": fx.api, "stage": "prod"}},
		"quota":     map[string]any{"limit": math.MaxInt32, "period": "DAY"}, // never reached: the counts are what is checked
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var plan struct{ ID string }
	mustJSON(t, res.Body, &plan)
	fx.plan = plan.ID
	if _, err := c.Do(ctx, http.MethodPost, "/usageplans/"+fx.plan+"/keys", nil, map[string]string{"keyId": fx.key, "keyType": "API_KEY"}, nil); err != nil {
		t.Fatal(err)
	}
	return fx
}

func mustJSON(t *testing.T, raw []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
}

// publisher changes $LATEST (its environment, and every other time its code)
// and publishes it, recording each acknowledged version.
func publisher(ctx context.Context, c *client.Client, zips [][]byte, led *ledger, seq *int) {
	for ctx.Err() == nil {
		*seq++
		n := *seq
		if n%2 == 0 {
			if _, _, err := c.UpdateFunctionCode(ctx, "pub", zips[n/2%2], ""); err != nil {
				led.fail("update-function-code", err)
				return
			}
		}
		if _, _, err := c.UpdateFunctionConfiguration(ctx, "pub", map[string]any{"Environment": map[string]any{"Variables": map[string]string{"SEQ": strconv.Itoa(n)}}}); err != nil {
			led.fail("update-function-configuration", err)
			return
		}
		led.mu.Lock()
		led.lastEnv = n
		led.writes++
		led.mu.Unlock()
		v, _, err := c.PublishVersion(ctx, "pub", "")
		if err != nil {
			led.fail("publish-version", err)
			return
		}
		led.mu.Lock()
		led.versions[v.Version] = ackedVersion{env: n, sha256: v.CodeSha256}
		led.writes++
		led.mu.Unlock()
		if _, _, err := c.SetAlias(ctx, "pub", "live", v.Version, nil); err != nil {
			led.fail("alias set", err)
			return
		}
		led.mu.Lock()
		led.alias, _ = strconv.Atoi(v.Version)
		led.writes++
		led.mu.Unlock()
	}
}

// deployer deploys the keyed API to prod and sets prod's variable n, in turn.
func deployer(ctx context.Context, c *client.Client, fx crashFixture, led *ledger) {
	for i := 0; ctx.Err() == nil; i++ {
		res, err := c.Do(ctx, http.MethodPost, "/portico/v1/apis/"+fx.api+"/deployments", nil, map[string]any{"stageName": "prod", "description": "d"}, nil)
		if err != nil {
			led.fail("create-deployment", err)
			return
		}
		var out struct {
			Deployment struct{ ID string } `json:"deployment"`
		}
		if json.Unmarshal(res.Body, &out) != nil || out.Deployment.ID == "" {
			return
		}
		led.mu.Lock()
		led.deploys = append(led.deploys, out.Deployment.ID)
		led.writes++
		n := led.stageVar + 1
		led.mu.Unlock()
		if _, err := c.Do(ctx, http.MethodPatch, "/portico/v1/apis/"+fx.api+"/stages/prod/variables", nil, map[string]any{"set": map[string]string{"n": strconv.Itoa(n)}}, nil); err != nil {
			led.fail("set-var", err)
			return
		}
		led.mu.Lock()
		led.stageVar = n
		led.writes++
		led.mu.Unlock()
	}
}

// importer imports new APIs, recording each acknowledged one.
func importer(ctx context.Context, c *client.Client, led *ledger, round int) {
	for i := 0; ctx.Err() == nil; i++ {
		name := fmt.Sprintf("imp-%d-%d", round, i)
		res, err := c.Do(ctx, http.MethodPost, "/portico/v1/apis/import", url.Values{"name": {name}}, []byte(keyedDoc), nil)
		if err != nil {
			led.fail("import", err)
			return
		}
		var imp struct {
			API struct{ ID string } `json:"api"`
		}
		if json.Unmarshal(res.Body, &imp) != nil || imp.API.ID == "" {
			return
		}
		led.mu.Lock()
		led.imports[imp.API.ID] = name
		led.writes++
		led.mu.Unlock()
	}
}

// caller sends keyed gateway requests, counting those sent and those admitted.
func caller(ctx context.Context, u, key string, led *ledger) {
	hc := &http.Client{Timeout: 10 * time.Second}
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		req.Header.Set("x-api-key", key)
		atomic.AddInt64(&led.sent, 1)
		resp, err := hc.Do(req)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			atomic.AddInt64(&led.admitted, 1)
		} else {
			led.fail("gateway", &client.APIError{Status: resp.StatusCode, Type: resp.Header.Get("x-amzn-ErrorType")})
		}
	}
}

// usageReader asks get-usage for the key's count, recording the highest answer.
func usageReader(ctx context.Context, c *client.Client, fx crashFixture, led *ledger) {
	for ctx.Err() == nil {
		n, err := usedSince(ctx, c, fx)
		if err != nil {
			led.fail("get-usage", err)
			return
		}
		led.mu.Lock()
		led.usage = max(led.usage, n)
		led.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// usedSince is the key's count over every day from the fixture's first to
// tomorrow (UTC), which only grows: today's alone starts again from 0 at
// midnight UTC, and a run that crossed it would see the count fall.
func usedSince(ctx context.Context, c *client.Client, fx crashFixture) (int64, error) {
	from, to := fx.since.UTC().Format(time.DateOnly), time.Now().UTC().Add(24*time.Hour).Format(time.DateOnly)
	res, err := c.Do(ctx, http.MethodGet, "/usageplans/"+fx.plan+"/usage", url.Values{"startDate": {from}, "endDate": {to}, "keyId": {fx.key}}, nil, nil)
	if err != nil {
		return 0, err
	}
	var out struct {
		Values map[string][][2]int64 `json:"values"`
	}
	if err := json.Unmarshal(res.Body, &out); err != nil {
		return 0, err
	}
	var n int64
	for _, d := range out.Values[fx.key] {
		n += d[0]
	}
	return n, nil
}

// verifyLedger checks the restarted server against everything acknowledged.
func verifyLedger(t *testing.T, c *client.Client, p *apptest.Process, fx crashFixture, led *ledger) {
	t.Helper()
	ctx := context.Background()
	led.mu.Lock()
	defer led.mu.Unlock()

	// Versions: every acknowledged one, with its configuration and code; and
	// every listed one (acknowledged or not) with its code on disk.
	res, err := c.Do(ctx, http.MethodGet, client.FunctionPath("pub", "/versions"), url.Values{"MaxItems": {"10000"}}, nil, nil)
	if err != nil {
		t.Fatalf("list versions: %v", err)
	}
	var vs struct {
		Versions []client.FunctionConfiguration
	}
	mustJSON(t, res.Body, &vs)
	listed := map[string]client.FunctionConfiguration{}
	for _, v := range vs.Versions {
		listed[v.Version] = v
		if !codeOnDisk(p.DataDir, v.CodeSha256) {
			t.Errorf("version %s is listed but its code %s is not on disk", v.Version, v.CodeSha256)
		}
	}
	latestAcked := ""
	for ver, want := range led.versions {
		got, ok := listed[ver]
		if !ok {
			t.Errorf("acknowledged version %s (N=%d) is gone", ver, want.env)
			continue
		}
		if got.CodeSha256 != want.sha256 {
			t.Errorf("version %s: code %s, acknowledged %s", ver, got.CodeSha256, want.sha256)
		}
		if env := envN(got); env != strconv.Itoa(want.env) {
			t.Errorf("version %s: N=%q, acknowledged %d", ver, env, want.env)
		}
		if n, _ := strconv.Atoi(ver); n > 0 {
			if l, _ := strconv.Atoi(latestAcked); n > l {
				latestAcked = ver
			}
		}
	}
	cfg, _, err := c.GetFunctionConfiguration(ctx, "pub")
	if err != nil {
		t.Fatalf("get $LATEST: %v", err)
	}
	if n, _ := strconv.Atoi(envN(*cfg)); n < led.lastEnv {
		t.Errorf("$LATEST has N=%d, but N=%d was acknowledged", n, led.lastEnv)
	}
	if !codeOnDisk(p.DataDir, cfg.CodeSha256) {
		t.Errorf("$LATEST's code %s is not on disk", cfg.CodeSha256)
	}
	if led.alias > 0 { // alias live names a version at least as new as acknowledged, and one that exists
		res, err := c.Do(ctx, http.MethodGet, client.FunctionPath("pub", "/aliases/live"), nil, nil, nil)
		if err != nil {
			t.Fatalf("get alias live: %v", err)
		}
		var a client.Alias
		mustJSON(t, res.Body, &a)
		if n, _ := strconv.Atoi(a.FunctionVersion); n < led.alias {
			t.Errorf("alias live names version %s, but version %d was acknowledged", a.FunctionVersion, led.alias)
		}
		if _, ok := listed[a.FunctionVersion]; !ok {
			t.Errorf("alias live names version %s, which does not exist", a.FunctionVersion)
		}
	}
	if latestAcked != "" { // the newest acknowledged version runs
		if _, err := c.Do(ctx, http.MethodPost, client.FunctionPath("pub:"+latestAcked, "/invocations"), nil, []byte(`{}`), nil); err != nil {
			t.Errorf("invoke pub:%s: %v", latestAcked, err)
		}
	}

	// Deployments and the stage.
	res, err = c.Do(ctx, http.MethodGet, "/portico/v1/apis/"+fx.api+"/deployments", nil, nil, nil)
	if err != nil {
		t.Fatalf("list deployments: %v", err)
	}
	var ds struct {
		Items []struct{ ID string } `json:"items"`
	}
	mustJSON(t, res.Body, &ds)
	have := map[string]bool{}
	for _, d := range ds.Items {
		have[d.ID] = true
	}
	for _, id := range led.deploys {
		if !have[id] {
			t.Errorf("acknowledged deployment %s is gone", id)
		}
	}
	checkStages(t, c, fx.api, have)
	res, err = c.Do(ctx, http.MethodGet, "/portico/v1/apis/"+fx.api+"/stages/prod", nil, nil, nil)
	if err != nil {
		t.Fatalf("get stage: %v", err)
	}
	var st struct {
		Variables map[string]string `json:"variables"`
	}
	mustJSON(t, res.Body, &st)
	if n, _ := strconv.Atoi(st.Variables["n"]); n < led.stageVar {
		t.Errorf("stage prod has n=%d, but n=%d was acknowledged", n, led.stageVar)
	}

	// Imported APIs.
	res, err = c.Do(ctx, http.MethodGet, "/portico/v1/apis", nil, nil, nil)
	if err != nil {
		t.Fatalf("list apis: %v", err)
	}
	var as struct {
		Items []struct{ ID, Name string } `json:"items"`
	}
	mustJSON(t, res.Body, &as)
	apisHave := map[string]string{}
	for _, a := range as.Items {
		apisHave[a.ID] = a.Name
	}
	for id, name := range led.imports {
		if apisHave[id] != name {
			t.Errorf("acknowledged import %s (%s) is gone or renamed: %q", id, name, apisHave[id])
		}
	}

	// Usage: never below what get-usage reported nor below the requests
	// admitted (each count is reserved durably before its request is
	// admitted); above what was sent by at most one reservation block per
	// crash (docs/api-keys-and-usage-plans.md, Counting).
	got, err := usedSince(ctx, c, fx)
	if err != nil {
		t.Fatalf("get-usage: %v", err)
	}
	led.crashes++
	if got < led.usage {
		t.Errorf("usage after the restart is %d, below the %d get-usage reported before the kill", got, led.usage)
	}
	if admitted := atomic.LoadInt64(&led.admitted); got < admitted {
		t.Errorf("usage after the restart is %d, below the %d requests admitted before the kill", got, admitted)
	}
	if sent := atomic.LoadInt64(&led.sent); got > sent+int64(led.crashes)*maxReservationBlock {
		t.Errorf("usage after the restart is %d, above the %d requests sent and a reservation block (%d) for each of %d crashes", got, sent, maxReservationBlock, led.crashes)
	}
	led.usage = got
	// The gateway still admits the key and counts it.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.GatewayURL+"/"+fx.api+"/prod/pets", nil)
	req.Header.Set("x-api-key", fx.keyValue)
	atomic.AddInt64(&led.sent, 1)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("gateway: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("gateway after the restart: %d", resp.StatusCode)
	} else {
		atomic.AddInt64(&led.admitted, 1)
	}
}

// envN is the variable N of a function configuration, "" when unset.
func envN(cfg client.FunctionConfiguration) string {
	if cfg.Environment == nil {
		return ""
	}
	return cfg.Environment.Variables["SEQ"]
}

// checkStages fails t for a stage of api, or an entry of its history, that
// names a deployment that does not exist.
func checkStages(t *testing.T, c *client.Client, api string, deployments map[string]bool) {
	t.Helper()
	res, err := c.Do(context.Background(), http.MethodGet, "/portico/v1/apis/"+api+"/stages", nil, nil, nil)
	if err != nil {
		t.Fatalf("list stages: %v", err)
	}
	var ss struct {
		Items []struct {
			Name         string `json:"name"`
			DeploymentID string `json:"deploymentId"`
			History      []struct {
				DeploymentID string `json:"deploymentId"`
			} `json:"history"`
		} `json:"items"`
	}
	mustJSON(t, res.Body, &ss)
	for _, s := range ss.Items {
		if !deployments[s.DeploymentID] {
			t.Errorf("stage %s points at deployment %q, which does not exist", s.Name, s.DeploymentID)
		}
		for _, h := range s.History {
			if !deployments[h.DeploymentID] {
				t.Errorf("stage %s's history names deployment %q, which does not exist", s.Name, h.DeploymentID)
			}
		}
	}
}

// codeOnDisk reports whether the code artifact of sum (base64 sha256) is
// unpacked in dataDir with its bootstrap.
func codeOnDisk(dataDir, sum string) bool {
	raw, err := base64.StdEncoding.DecodeString(sum)
	if err != nil {
		return false
	}
	fi, err := os.Stat(filepath.Join(dataDir, "code", hex.EncodeToString(raw), "bootstrap"))
	return err == nil && fi.Mode().IsRegular()
}
