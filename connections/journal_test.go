package connections

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// TestOrphansDisconnectAfterKill: a server that stops without closing its
// connections (killed with -9: nothing runs, only the journal file is left)
// has their $disconnect run by the next server on the same journal, as a
// dropped client's (1006), with what the events of the connection carried;
// each runs once, and those that closed before the kill are not run again.
func TestOrphansDisconnectAfterKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "connections.journal")
	keys := map[string]bool{RouteConnect: false, RouteDisconnect: false, RouteDefault: false}
	ts := newTestServer(t, Config{Journal: path}, keys)
	ts.d.handle = func(ev *events.APIGatewayWebsocketProxyRequest) (*Response, error) {
		if ev.RequestContext.EventType == EventConnect {
			return &Response{StatusCode: 200, Authorizer: map[string]any{"user": "ann"}}, nil
		}
		return &Response{StatusCode: 200}, nil
	}
	ts.dial(t, "")
	ts.dial(t, "")
	gone := ts.dial(t, "")
	live := ts.waitConns(t, 3)
	_ = gone.Close()
	goneID := ts.d.next(t, EventDisconnect).RequestContext.ConnectionID
	var want []string
	for _, i := range live {
		if i.ConnectionID != goneID {
			want = append(want, i.ConnectionID)
		}
	}
	slices.Sort(want)
	// The journal is written in the background: the kill comes once the
	// kernel has what the server wrote (a killed process loses nothing
	// written).
	waitUntil(t, "the journal records the closed connection", func() bool {
		b, _ := os.ReadFile(path)
		return strings.Contains(string(b), `{"id":"`+goneID+`","gone":true}`)
	})

	// The "killed" server is never shut down before the next one reads the
	// journal (it is, after, by the test's cleanup, on its own file).
	d := newFakeDispatcher(keys)
	next := New(Config{Journal: path}, nil)
	next.DisconnectOrphans(context.Background(), d)
	var got []string
	for range want {
		ev := d.next(t, EventDisconnect)
		rc := ev.RequestContext
		got = append(got, rc.ConnectionID)
		if rc.DisconnectStatusCode != 1006 || rc.DisconnectReason == nil || *rc.DisconnectReason != "" {
			t.Errorf("orphan %s: disconnectStatusCode %d reason %v, want 1006 and no reason", rc.ConnectionID, rc.DisconnectStatusCode, rc.DisconnectReason)
		}
		if rc.APIID != testAPI || rc.Stage != testStage || rc.Identity.UserAgent != "test-agent" || rc.Identity.SourceIP != "127.0.0.1" || rc.ConnectedAt == 0 {
			t.Errorf("orphan event: %+v", rc)
		}
		if a, _ := rc.Authorizer.(map[string]any); a["user"] != "ann" {
			t.Errorf("orphan %s: authorizer %#v, want the $connect's", rc.ConnectionID, rc.Authorizer)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("$disconnect ran for %v, want the connections open at the kill %v", got, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := next.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-d.events:
		t.Fatalf("unexpected event after the orphans: %s %s", ev.RequestContext.EventType, ev.RequestContext.ConnectionID)
	default:
	}

	// Their $disconnect ran: a third server has none to run.
	third := New(Config{Journal: path}, nil)
	third.DisconnectOrphans(context.Background(), d)
	if err := third.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-d.events:
		t.Fatalf("$disconnect ran again for %s", ev.RequestContext.ConnectionID)
	default:
	}
}

// TestJournalCompacts: the journal is rewritten with the live connections
// when it has grown well past them, and what it says stays right.
func TestJournalCompacts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "connections.journal")
	j, orphans, err := openJournal(path, slog.New(slog.DiscardHandler))
	if err != nil || len(orphans) != 0 {
		t.Fatal(orphans, err)
	}
	for i := range 3 * compactOver {
		c := &Conn{id: "c" + strconv.Itoa(i), apiID: testAPI, stage: testStage}
		j.add(c)
		if i != 5 {
			j.remove(c.id)
		}
	}
	j.close(context.Background())
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n > 2*compactOver {
		t.Errorf("journal has %d lines for 1 live connection: never compacted", n)
	}
	_, orphans, err = openJournal(path, slog.New(slog.DiscardHandler))
	if err != nil || len(orphans) != 1 || orphans[0].ID != "c5" {
		t.Fatalf("orphans %+v, %v: want the one connection left open", orphans, err)
	}
}
