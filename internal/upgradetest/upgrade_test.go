package upgradetest_test

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/gateway/iam"
	"github.com/portico-dev/portico/internal/upgradetest"
	"github.com/portico-dev/portico/store"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// TestUpgradeFromOldBuilds starts this build on each data directory an
// older build wrote (testdata/REV, made by mkfixture) and holds it to what
// that build answered: every readback the same but for the intended
// migrations (migrations_test.go), every recorded gateway request and
// Lambda invoke answered the same (but for the intended throttledChanges),
// usage counts kept and counted on, the older deployment still there to roll
// back to, writes after the upgrade served, and the store marked with this
// build's schema, which every older build refuses to open.
func TestUpgradeFromOldBuilds(t *testing.T) {
	if _, err := os.Stat("/bin/bash"); err != nil {
		t.Skip("the fixtures' functions are bash scripts (#!/bin/bash, bash 4 or later), which this host lacks")
	}
	goldens, err := filepath.Glob(filepath.Join("testdata", "*", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(goldens) < 3 {
		t.Fatalf("%d fixtures under testdata, want one per older schema (at least 3)", len(goldens))
	}
	for _, golden := range goldens {
		dir := filepath.Dir(golden)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			upgrade(t, dir)
		})
	}
}

func upgrade(t *testing.T, dir string) {
	raw, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g upgradetest.Golden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "data")
	untar(t, filepath.Join(dir, "data.tar.gz"), data)
	if got := schemaMark(t, data); got != strconv.Itoa(g.Schema) {
		t.Fatalf("the fixture's store says schema %q, its golden file %d", got, g.Schema)
	}

	if n := requeueNow(t, data, time.Now()); n == 0 && g.QueuedEvent.Function != "" {
		t.Fatalf("the fixture has no queued Event invocation, and its golden file names one of %s", g.QueuedEvent.Function)
	}
	opts, signer := beside(t, dir, data, g)
	env := apptest.Start(t, opts)
	c := &http.Client{}
	ctx := t.Context()
	// Readbacks first: the requests below count usage and warm sandboxes.
	for _, want := range g.Readbacks {
		if absent(want) {
			continue // a route the old build did not have
		}
		want.Answer = presigned(migrate(g, want, upgradetest.Decode(mustJSON(t, want.Answer)))) // on a copy
		// Provisioned concurrency is IN_PROGRESS until its sandboxes
		// have started again: its readback is held to the old one once
		// they have (within 30 s).
		settle := time.Now().Add(30 * time.Second)
		for {
			got, err := upgradetest.Send(ctx, c, env.AdminURL, want)
			if err != nil {
				t.Fatal(err)
			}
			got.Answer = presigned(rebase(t, got.Answer, env, g))
			diffs := upgradetest.Compare(want.Answer, got.Answer)
			if (got.Status != want.Status || len(diffs) > 0) && strings.Contains(want.Path, "/provisioned-concurrency") && time.Now().Before(settle) {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			if got.Status != want.Status {
				t.Errorf("readback %s (GET %s): status %d, the old build's %d: %v", want.Name, want.Path, got.Status, want.Status, got.Answer)
				break
			}
			for _, d := range diffs {
				if saysTLSOff(d, g) {
					continue
				}
				t.Errorf("readback %s (GET %s) changed: %s", want.Name, want.Path, d)
			}
			break
		}
	}
	// The Event invocation the old build left queued runs once its function
	// takes calls again (followed below, while the rest goes on).
	ran := queuedEventRuns(t, env, g.QueuedEvent)
	send := func(what string, list []upgradetest.Exchange) {
		t.Helper()
		for _, want := range list {
			want = migrateRequest(g, want)
			base := env.GatewayURL
			switch {
			case want.Admin:
				base = env.AdminURL
			case want.TLS && env.TLSURL == "":
				t.Errorf("%s %q: no TLS listener after the upgrade (the old build served %s)", what, want.Name, g.TLSURL)
				continue
			case want.TLS:
				base = env.TLSURL
			}
			got, err := upgradetest.SendWith(ctx, c, base, want, signer)
			if err != nil {
				t.Errorf("%s %q: %v", what, want.Name, err)
				continue
			}
			if got.Status != want.Status {
				t.Errorf("%s %q (%s %s): status %d, the old build's %d (%v)", what, want.Name, want.Method, want.Path, got.Status, want.Status, got.Answer)
			}
			for _, d := range upgradetest.Compare(want.Answer, got.Answer) {
				t.Errorf("%s %q (%s %s) answered differently: %s", what, want.Name, want.Method, want.Path, d)
			}
			for h, v := range want.Header {
				if got.Header[h] != v {
					t.Errorf("%s %q (%s %s): header %s: %q, the old build's %q", what, want.Name, want.Method, want.Path, h, got.Header[h], v)
				}
			}
			for _, d := range upgradetest.Compare(toAny(want.Frames), toAny(got.Frames)) {
				t.Errorf("%s %q (%s): WebSocket frames differ: %s", what, want.Name, want.Path, d)
			}
		}
	}
	replayStart := utcDay(time.Now())
	send("request", g.Requests)
	usageCountsOn(t, env, g, replayStart)

	// The older deployment is still there to roll back to, and answers as
	// it did.
	rb := g.Rollback
	rollback := upgradetest.Exchange{Name: "rollback", Method: http.MethodPost,
		Path: "/portico/v1/apis/" + rb.API + "/stages/" + rb.Stage + "/rollback", Body: `{"deploymentId":"` + rb.Deployment + `"}`}
	got, err := upgradetest.Send(ctx, c, env.AdminURL, rollback)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != http.StatusOK {
		t.Errorf("rolling %s/%s back to %s: %d %v", rb.API, rb.Stage, rb.Deployment, got.Status, got.Answer)
	}
	send("after the rollback, request", rb.Requests)
	writesAfterTheUpgrade(t, env, rb.API)

	if err := <-ran; err != nil {
		t.Errorf("the Event invocation of %s that the old build left queued: %v", g.QueuedEvent.Function, err)
	}
	env.Stop()
	if got, want := schemaMark(t, data), strconv.Itoa(store.SchemaVersion); got != want {
		t.Errorf("after the upgrade the store says schema %q, want %s (which the old build, at %d, refuses)", got, want, g.Schema)
	}
}

// beside puts back what the old build kept outside its data directory, or
// served from elsewhere, and returns the options to start this build on data
// with, and what signs the requests that need it:
//   - the IAM key file that sealed its users' secrets, beside the data
//     directory (DATA-DIR.iam-key), where a server looks for it;
//   - its JWT authorizer's issuer, served again at the address the
//     authorizer names;
//   - with a development CA under tls/, the TLS listener (on a port of its
//     own), its certificate renewed first when it expires within 30 days,
//     as make run does (`portico tls init --if-needed`), and the CA to trust.
func beside(t *testing.T, dir, data string, g upgradetest.Golden) (apptest.Options, upgradetest.Signer) {
	t.Helper()
	opts := apptest.Options{DataDir: data}
	s := upgradetest.Signer{IAM: g.IAM, JWT: g.JWT}
	if key, err := os.ReadFile(filepath.Join(dir, upgradetest.IAMKeyFile)); err == nil {
		if err := os.WriteFile(iam.DefaultKeyFile(data), key, 0o600); err != nil {
			t.Fatal(err)
		}
	} else if g.IAM != nil {
		t.Fatalf("the fixture has an IAM user but no %s: %v", upgradetest.IAMKeyFile, err)
	}
	if g.JWT != nil {
		stop, err := g.JWT.Serve()
		if err != nil {
			t.Fatalf("serving the JWT issuer the old build's authorizer names: %v", err)
		}
		t.Cleanup(stop)
		if g.JWT.TLS {
			opts.JWKSTransport = g.JWT.Transport()
		}
	}
	if g.TLSURL != "" {
		if _, err := edge.InitDevCAWith(edge.DevCADir(data), edge.DevInit{IfNeeded: true}, time.Now()); err != nil {
			t.Fatal(err)
		}
		ca, err := os.ReadFile(filepath.Join(edge.DevCADir(data), edge.DevCACertFile))
		if err != nil {
			t.Fatal(err)
		}
		s.RootCAs = x509.NewCertPool()
		s.RootCAs.AppendCertsFromPEM(ca)
		opts.Settings = func(st *app.Settings) { st.TLSListen = "127.0.0.1:0" }
	}
	return opts, s
}

// queuedEventRuns lets ev's function take calls (its reserved concurrency 0
// lifted) and follows its log until the invocation prints its marker, or a
// minute has passed; the channel gets the outcome.
func queuedEventRuns(t *testing.T, env *apptest.Env, ev upgradetest.QueuedEvent) <-chan error {
	t.Helper()
	out := make(chan error, 1)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, env.AdminURL+"/portico/v1/functions/"+ev.Function+"/logs?follow=1", nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req) //nolint:bodyclose // closed by the goroutine below
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	got, err := upgradetest.Send(t.Context(), http.DefaultClient, env.AdminURL, upgradetest.Exchange{Method: http.MethodPut,
		Path: "/2017-10-31/functions/" + ev.Function + "/concurrency", Body: `{"ReservedConcurrentExecutions":2}`})
	if err != nil || got.Status != http.StatusOK {
		cancel()
		_ = resp.Body.Close()
		t.Fatalf("lifting %s's reserved concurrency of 0: %v %d %v", ev.Function, err, got.Status, got.Answer)
	}
	go func() {
		defer cancel()
		defer func() { _ = resp.Body.Close() }()
		var seen strings.Builder
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.Contains(sc.Text(), ev.Marker) {
				out <- nil
				return
			}
			if seen.Len() < 4096 {
				seen.WriteString(sc.Text() + "\n")
			}
		}
		why := "the follow ended"
		if err := sc.Err(); err != nil {
			why = err.Error() // a minute passed
		}
		out <- fmt.Errorf("no log line with %q (%s); the log held:\n%s", ev.Marker, why, seen.String())
	}()
	return out
}

// usageCountsOn checks that the usage the old build counted is kept and
// that this build counts on from it: the old build's get-usage readback
// (its days, already compared) plus the keyed requests replayed since
// replayStart, which this build admitted, summed over the fixture's days and
// the replay's (usageRanges).
func usageCountsOn(t *testing.T, env *apptest.Env, g upgradetest.Golden, replayStart time.Time) {
	t.Helper()
	var old upgradetest.Exchange
	for _, r := range g.Readbacks {
		if r.Name == "get-usage" {
			old = r
		}
	}
	u, err := url.Parse(old.Path)
	if err != nil || old.Status != http.StatusOK {
		t.Fatalf("the fixture's get-usage readback %q: %v %d", old.Path, err, old.Status)
	}
	q := u.Query()
	fixStart, err1 := time.Parse(time.DateOnly, q.Get("startDate"))
	fixEnd, err2 := time.Parse(time.DateOnly, q.Get("endDate"))
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("the fixture's get-usage readback %q: %v", old.Path, err)
	}
	sum := func(into map[string]int, answer any) {
		values, _ := answer.(map[string]any)["values"].(map[string]any)
		for key, days := range values {
			for _, d := range days.([]any) {
				into[key] += int(d.([]any)[0].(float64))
			}
		}
	}
	want := map[string]int{}
	sum(want, old.Answer)
	if len(want) != 1 {
		t.Fatalf("the fixture's get-usage names %d keys, want 1: %v", len(want), old.Answer)
	}
	for _, r := range g.Requests {
		if r.Headers["x-api-key"] == g.UsageKey && r.Status == http.StatusOK {
			for k := range want {
				want[k]++
			}
		}
	}
	counted := map[string]int{}
	var asked []string
	for _, r := range usageRanges(fixStart, fixEnd, replayStart, utcDay(time.Now())) {
		q.Set("startDate", r[0].Format(time.DateOnly))
		q.Set("endDate", r[1].Format(time.DateOnly))
		asked = append(asked, q.Encode())
		got, err := upgradetest.Send(t.Context(), http.DefaultClient, env.AdminURL,
			upgradetest.Exchange{Method: http.MethodGet, Path: u.Path + "?" + q.Encode()})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != http.StatusOK {
			t.Fatalf("get-usage %s: %d %v", q.Encode(), got.Status, got.Answer)
		}
		sum(counted, got.Answer)
	}
	if !reflect.DeepEqual(counted, want) {
		t.Errorf("usage on the fixture's days and the replay's (%v): %v, want %v (the old build's count and the keyed requests since)", asked, counted, want)
	}
}

// utcDay is the UTC date of at, at midnight.
func utcDay(at time.Time) time.Time {
	y, m, d := at.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// usageRanges are the get-usage ranges (first and last day, UTC) that hold
// every count of the key: the fixture's own recorded range, where the old
// build counted, and, where they lie past it, the days this build counted the
// replayed requests on, from the day the replay began to today. None spans
// the time between the fixture's day and the test's, so none passes
// get-usage's limit of usage.MaxUsageDays however old the fixture is; the
// days between them counted nothing.
func usageRanges(fixStart, fixEnd, replayStart, today time.Time) [][2]time.Time {
	out := [][2]time.Time{{fixStart, fixEnd}}
	from := replayStart
	if next := fixEnd.AddDate(0, 0, 1); from.Before(next) {
		from = next
	}
	if !from.After(today) {
		out = append(out, [2]time.Time{from, today})
	}
	return out
}

// writesAfterTheUpgrade changes what the old build made, as a user would
// next: hello gets a new version that alias live moves to, and the REST API
// a third deployment on prod and a new stage variable, each served.
func writesAfterTheUpgrade(t *testing.T, env *apptest.Env, rest string) {
	t.Helper()
	steps := []struct {
		admin        bool
		method, path string
		body         string
		status       int
		answer       string // a part of the answer's JSON
	}{
		{true, "PUT", "/2015-03-31/functions/hello/configuration", `{"Environment":{"Variables":{"GREETING":"upgraded"}}}`, 200, `"GREETING":"upgraded"`},
		{true, "POST", "/2015-03-31/functions/hello/versions", `{"Description":"after the upgrade"}`, 201, `"Version":"3"`},
		{true, "PUT", "/2015-03-31/functions/hello/aliases/live", `{"FunctionVersion":"3"}`, 200, `"FunctionVersion":"3"`},
		{true, "POST", "/2015-03-31/functions/hello:live/invocations", `{}`, 200, `{\"fn\":\"hello\",\"version\":\"3\",\"greeting\":\"upgraded\"}`},
		{true, "POST", "/portico/v1/apis/" + rest + "/deployments", `{"stageName":"prod","description":"after the upgrade"}`, 201, `"description":"after the upgrade"`},
		{true, "PATCH", "/restapis/" + rest + "/stages/prod", `{"patchOperations":[{"op":"replace","path":"/variables/colour","value":"purple"}]}`, 200, `"colour":"purple"`},
		{false, "GET", "/" + rest + "/prod/hello", "", 200, `{"fn":"hello","greeting":"upgraded","version":"3"}`},
		{false, "GET", "/" + rest + "/prod/mock", "", 200, `{"colour":"purple","deployment":"two","stage":"prod"}`},
	}
	for _, s := range steps {
		base := env.GatewayURL
		if s.admin {
			base = env.AdminURL
		}
		got, err := upgradetest.Send(t.Context(), http.DefaultClient, base, upgradetest.Exchange{Method: s.method, Path: s.path, Body: s.body})
		if err != nil {
			t.Fatal(err)
		}
		if raw := string(mustJSON(t, got.Answer)); got.Status != s.status || !strings.Contains(raw, s.answer) {
			t.Errorf("after the upgrade, %s %s: %d %s, want %d with %s", s.method, s.path, got.Status, raw, s.status, s.answer)
		}
	}
}

// saysTLSOff says whether d is the domainNameStatusMessage this build adds
// to a custom domain name while its TLS listener is off (eb3b4973), on a
// fixture recorded without one: a state of the running server, not stored,
// which the old builds left unsaid.
func saysTLSOff(d upgradetest.Diff, g upgradetest.Golden) bool {
	return g.TLSURL == "" && d.Old == upgradetest.Missing && strings.HasSuffix(d.Path, "/domainNameStatusMessage")
}

// absent says whether the old build answered a readback 404 for want of the
// route: net/http's page, or Portico's "does not implement".
func absent(e upgradetest.Exchange) bool {
	if e.Status != http.StatusNotFound {
		return false
	}
	if s, ok := e.Answer.(string); ok {
		return strings.HasPrefix(s, "404 page not found")
	}
	m, _ := e.Answer.(map[string]any)
	msg, _ := m["message"].(string)
	return strings.Contains(msg, "does not implement")
}

// rebase replaces this server's addresses in answer by the old build's (a
// function's code location, a stage's URL).
func rebase(t *testing.T, answer any, env *apptest.Env, g upgradetest.Golden) any {
	t.Helper()
	raw, err := json.Marshal(answer)
	if err != nil {
		t.Fatal(err)
	}
	hostPort := func(u string) string { return u[strings.Index(u, "://")+3:] }
	pairs := []string{hostPort(env.AdminURL), hostPort(g.AdminURL), hostPort(env.GatewayURL), hostPort(g.GatewayURL)}
	if env.TLSURL != "" && g.TLSURL != "" {
		pairs = append(pairs, hostPort(env.TLSURL), hostPort(g.TLSURL))
	}
	r := strings.NewReplacer(pairs...)
	return upgradetest.Decode([]byte(r.Replace(string(raw))))
}

// presigned strips the signature GetFunction's Code.Location carries
// (41e2977): it differs per server process, and the oldest builds had none.
func presigned(answer any) any {
	objects(answer, func(o map[string]any) {
		loc, ok := o["Location"].(string)
		if !ok || !strings.Contains(loc, "X-Portico-Signature=") {
			return
		}
		u, err := url.Parse(loc)
		if err != nil {
			return
		}
		q := u.Query()
		q.Del("X-Portico-Expires")
		q.Del("X-Portico-Signature")
		u.RawQuery = q.Encode()
		o["Location"] = u.String()
	})
	return answer
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func toAny(frames []string) any {
	out := make([]any, len(frames))
	for i, f := range frames {
		out[i] = f
	}
	return out
}

// schemaMark reads the store's schema version from its meta bucket, as every
// build checks it at open.
func schemaMark(t *testing.T, data string) string {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(data, "portico.db"), 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	var v string
	err = db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("meta"))
		if b == nil {
			return errors.New("no meta bucket")
		}
		v = string(b.Get([]byte("schema")))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// requeueNow dates the Event invocations the old build left queued in data
// (bucket async-invocations: enqueued and notBefore) at now, as if it had
// stopped just before the upgrade, and returns how many there were. An event
// older than its maximum event age (six hours at most) is dropped, not run:
// without this every fixture's would be, from six hours after mkfixture made
// it. The rest of each record is left as the old build wrote it.
func requeueNow(t *testing.T, data string, now time.Time) int {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(data, "portico.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	n := 0
	at, err := json.Marshal(now.UTC())
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("async-invocations"))
		if b == nil {
			return nil
		}
		events := map[string][]byte{}
		if err := b.ForEach(func(k, v []byte) error {
			var ev map[string]json.RawMessage
			if err := json.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("queued event %s: %w", k, err)
			}
			ev["enqueued"], ev["notBefore"] = at, at
			raw, err := json.Marshal(ev)
			events[string(k)] = raw
			return err
		}); err != nil {
			return err
		}
		for k, v := range events {
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// untar unpacks the gzipped tar file into dir.
func untar(t *testing.T, file, dir string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if !strings.HasPrefix(name, dir+string(filepath.Separator)) {
			t.Fatalf("%s: %q leaves the directory", file, hdr.Name)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(name, hdr.FileInfo().Mode().Perm()|0o700)
		case tar.TypeReg:
			err = writeFile(name, tr, hdr.FileInfo().Mode().Perm())
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func writeFile(name string, r io.Reader, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
