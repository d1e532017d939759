package connections

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
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
// (the manager's, encoded then) when it has grown well past them, and what it
// says stays right: every connection open at the "kill", none closed.
func TestJournalCompacts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "connections.journal")
	m := New(Config{Journal: path}, nil)
	if m.journal == nil || len(m.orphans) != 0 {
		t.Fatal("no journal, or orphans in a new one")
	}
	for i := range 3 * compactOver {
		c := testJournalConn(m, i)
		m.add(c)
		if i != 5 {
			closeTestJournalConn(c)
		}
	}
	m.journal.close(context.Background())
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n > 2*compactOver {
		t.Errorf("journal has %d lines for 1 live connection: never compacted", n)
	}
	next := New(Config{Journal: path}, nil)
	if len(next.orphans) != 1 || next.orphans[0].ID != testJournalConn(m, 5).id || next.orphans[0].APIID != testAPI {
		t.Fatalf("orphans %+v: want the one connection left open", next.orphans)
	}
	next.journal.close(context.Background())
}

// TestJournalCompactsUnderConnects: compactions that run while connections
// open and close, from many goroutines, lose none: the journal read after the
// "kill" has every connection open then (and those whose $disconnect had not
// ended), and none of those whose $disconnect ran.
func TestJournalCompactsUnderConnects(t *testing.T) {
	const workers, each = 8, 500
	path := filepath.Join(t.TempDir(), "connections.journal")
	m := New(Config{Journal: path}, nil)
	m.journal.compactOver = 3 // a compaction every few records
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				c := testJournalConn(m, w*each+i)
				m.add(c)
				switch i % 10 {
				case 0: // open at the kill
				case 1: // closed, $disconnect running at the kill
					m.remove(c)
				default:
					closeTestJournalConn(c)
				}
			}
		})
	}
	wg.Wait()
	m.journal.close(context.Background())

	var want []string
	m.mu.RLock()
	for id := range m.conns {
		want = append(want, id)
	}
	for id := range m.ending {
		want = append(want, id)
	}
	m.mu.RUnlock()
	next := New(Config{Journal: path}, nil)
	defer next.journal.close(context.Background())
	var got []string
	for _, r := range next.orphans {
		got = append(got, r.ID)
	}
	slices.Sort(want)
	slices.Sort(got)
	if len(want) != workers*each/5 || !slices.Equal(got, want) {
		t.Fatalf("the journal has %d connections, want the %d open or closing at the kill", len(got), len(want))
	}
}

// testJournalConn is a connection of m numbered i, registered by nothing.
func testJournalConn(m *Manager, i int) *Conn {
	return &Conn{m: m, id: fmt.Sprintf("conn%012d", i), apiID: testAPI, stage: testStage, domainName: "localhost",
		sourceIP: "127.0.0.1", userAgent: "test-agent", connectedAt: time.UnixMilli(1700000000000)}
}

// closeTestJournalConn unregisters c and ends its $disconnect, as its reader
// does.
func closeTestJournalConn(c *Conn) {
	c.m.remove(c)
	c.m.readerDone(c.id)
}

// TestJournalKeepsNothingPerConnection: the journal holds no copy of what the
// manager already holds of each live connection (its encoded line, 0.3 KB per
// idle WebSocket): it encodes the manager's connections when it compacts.
func TestJournalKeepsNothingPerConnection(t *testing.T) {
	const n = 5000
	heapGrowth := func(cfg Config) (perConn float64) {
		m := New(cfg, nil)
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		for i := range n {
			m.add(testJournalConn(m, i))
		}
		if m.journal != nil {
			// Everything queued is written (the file holds every line).
			waitUntil(t, "the journal records every connection", func() bool {
				b, _ := os.ReadFile(cfg.Journal)
				return strings.Count(string(b), "\n") == n
			})
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		perConn = (float64(ms.HeapAlloc) - float64(before)) / n
		runtime.KeepAlive(m)
		if m.journal != nil {
			m.journal.close(context.Background())
		}
		return perConn
	}
	without := heapGrowth(Config{})
	with := heapGrowth(Config{Journal: filepath.Join(t.TempDir(), "connections.journal")})
	if extra := with - without; extra > 48 {
		t.Errorf("the journal holds %.0f bytes per live connection (%.0f with it, %.0f without): want nothing beyond the manager's", extra, with, without)
	}
}
