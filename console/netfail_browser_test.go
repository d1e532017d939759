package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// dropper holds the page's requests that match a pattern and lets them go in
// batches, once the page has sent all it will send for now (nothing new for a
// moment), failing at the network level (the connection reset, as a network
// change does) the ones that fail says to fail. most is the most requests the
// page had sent and not had answered at once.
type dropper struct {
	mu      sync.Mutex
	held    []fetch.EventRequestPaused
	most    int
	dropped int
	seen    map[string]int // requests per URL
}

// drop intercepts the tab's requests matching pattern until the test ends.
func drop(t *testing.T, b *browserTab, pattern string, fail func(url string, nth int) bool) *dropper {
	t.Helper()
	d := &dropper{seen: map[string]int{}}
	ctx, stop := context.WithCancel(b.tab)
	t.Cleanup(stop)
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(b.tab, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: pattern}}}); err != nil {
		t.Fatal(err)
	}
	release := func() {
		d.mu.Lock()
		held := d.held
		d.held = nil
		d.mu.Unlock()
		for _, ev := range held {
			d.mu.Lock()
			d.seen[ev.Request.URL]++
			f := fail(ev.Request.URL, d.seen[ev.Request.URL])
			if f {
				d.dropped++
			}
			d.mu.Unlock()
			if f {
				_, _ = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonConnectionReset})
			} else {
				_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
			}
		}
	}
	// The quiet moment only decides how the requests are batched: a page
	// that sends at most six at once never has more held, however long the
	// moment.
	timer := time.AfterFunc(time.Hour, release)
	timer.Stop()
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			d.mu.Lock()
			d.held = append(d.held, ev)
			d.most = max(d.most, len(d.held))
			d.mu.Unlock()
			timer.Reset(150 * time.Millisecond)
		}
	}()
	return d
}

// TestConsoleUsageReadInTurnInChromium: the keys page reads the usage of its
// plans six at a time, not all at once; a read that got no answer (its
// connection reset, as a change of the machine's network does to every
// request in flight) is made again; and a plan whose usage gets no answer
// twice says so, with an error that does not claim the server is down (it
// answered the page's other calls).
func TestConsoleUsageReadInTurnInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	const n = 30
	broken := ""
	for i := range n {
		var plan struct{ ID string }
		_, body := call(t, env, "POST", "/usageplans", map[string]any{"name": fmt.Sprintf("plan%d", i+1)})
		if err := json.Unmarshal(body, &plan); err != nil || plan.ID == "" {
			t.Fatalf("create plan %d: %s", i, body)
		}
		if i == n/2 {
			broken = plan.ID
		}
	}
	b := newBrowser(t, browser)
	thrown := exceptions(t, b)
	b.navigate(env.AdminURL + "/console/")
	b.poll("the console", `document.body.dataset.page !== undefined && !document.body.dataset.loading`)
	// The first read of three plans' usage and every read of broken's lose
	// their connection.
	first := 0
	var mu sync.Mutex
	d := drop(t, b, "*/console/api/usageplans/*/usage*", func(url string, nth int) bool {
		if strings.Contains(url, "/usageplans/"+broken+"/") {
			return true
		}
		mu.Lock()
		defer mu.Unlock()
		if nth == 1 && first < 3 {
			first++
			return true
		}
		return false
	})
	defer func() { _, _ = chromedp.Call(b.tab, fetch.Disable, cdp.Empty{}) }()
	eval[string](b, `location.hash = "#/keys"`)
	b.poll("the keys page", `document.body.dataset.page === "keys" && !document.body.dataset.loading`)
	b.shot("usage-in-turn")
	if got := eval[int](b, `document.querySelectorAll("section p.no-keys").length`); got != n-1 {
		t.Errorf("%d plans' usage read, want %d (all but the one whose reads all fail)", got, n-1)
	}
	if got := eval[int](b, `[...document.querySelectorAll("section p")].filter(p => p.textContent.includes("could not be read")).length`); got != 1 {
		t.Errorf("%d plans say their usage could not be read, want 1", got)
	}
	d.mu.Lock()
	most, dropped := d.most, d.dropped
	d.mu.Unlock()
	if dropped != 5 { // 3 first reads, broken's read and its second try
		t.Errorf("%d reads failed, want 5", dropped)
	}
	if most > 6 {
		t.Errorf("the page had %d reads of usage in flight at once, want 6 at most", most)
	}
	msg := eval[string](b, `document.getElementById("error").textContent`)
	if !strings.Contains(msg, "GET /usageplans/"+broken+"/usage was lost: the server answers") || strings.Contains(msg, "is portico serve running") {
		t.Errorf("the error reads %q: want the lost answer of broken's usage, the server up", msg)
	}
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}
