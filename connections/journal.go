package connections

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// journal records the live connection set in a file (Config.Journal), so that
// a server that stopped without closing its connections (killed, crashed, the
// host lost power after the writes reached the disk) runs their $disconnect
// when it starts again (Manager.DisconnectOrphans).
//
// It is off the connect path: add and remove only queue a record; one
// goroutine appends what is queued in one write, and never syncs it to the
// disk (a process killed with -9 loses nothing the kernel has; $disconnect is
// best effort, and a connect storm must not queue for fsyncs). The file is
// rewritten with only the live records when it holds many more than those:
// the journal keeps nothing per connection, it asks its owner (live) for the
// connections it recorded that are not gone, and encodes them then.
// Safe for concurrent use.
type journal struct {
	path string
	log  *slog.Logger
	// live returns the records of the connections added and not removed.
	live func() []journalRecord
	// compactOver is how many more lines than live connections the file may
	// hold before it is rewritten (the constant; smaller in tests, set before
	// the first record).
	compactOver int

	mu      sync.Mutex
	pending []journalRecord
	closed  bool
	kick    chan struct{}
	done    chan struct{}

	// Owned by the writing goroutine (and by openJournal before it starts).
	f       *os.File
	nlive   int // live connections, as the records written say
	written int // lines in the file
}

// journalRecord is one line of the journal: a connection that opened (with
// what its $disconnect event needs), or, with Gone, one whose $disconnect ran.
type journalRecord struct {
	ID          string `json:"id"`
	Gone        bool   `json:"gone,omitempty"`
	APIID       string `json:"api,omitempty"`
	Stage       string `json:"stage,omitempty"`
	DomainName  string `json:"domain,omitempty"`
	SourceIP    string `json:"ip,omitempty"`
	UserAgent   string `json:"ua,omitempty"`
	ConnectedAt int64  `json:"at,omitempty"` // unix milliseconds
	Authorizer  any    `json:"authz,omitempty"`
}

// compactOver is how many more lines than live connections the journal may
// hold before it is rewritten.
const compactOver = 4096

// openJournal reads the journal at path (a missing file is an empty one) and
// returns it with the records of the connections it says are still open: the
// orphans of a server that stopped without closing them. They stay in the
// journal until remove is called for each; live must return them until then.
// A connection must be in what live returns from before add is called for it
// until after remove is (the manager calls both under the lock that live
// takes): the records queued but not written when the journal compacts are
// appended after live's, and for each connection the last record read wins.
func openJournal(path string, log *slog.Logger, live func() []journalRecord) (*journal, []journalRecord, error) {
	j := &journal{path: path, log: log, live: live, compactOver: compactOver, kick: make(chan struct{}, 1), done: make(chan struct{})}
	lines := map[string][]byte{} // id -> its line
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("connections journal: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("connections journal: %w", err)
	}
	bad := 0
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var r journalRecord
		if err := json.Unmarshal(line, &r); err != nil || r.ID == "" {
			bad++ // a line cut short by the crash
			continue
		}
		if r.Gone {
			delete(lines, r.ID)
		} else {
			lines[r.ID] = line
		}
	}
	if bad > 0 {
		log.Warn("connections journal: lines skipped that do not read (cut short by a crash?)", "path", path, "lines", bad)
	}
	orphans := make([]journalRecord, 0, len(lines))
	for _, line := range lines {
		var r journalRecord
		_ = json.Unmarshal(line, &r)
		orphans = append(orphans, r)
	}
	if err := j.rewrite(orphans); err != nil {
		return nil, nil, err
	}
	go j.run()
	return j, orphans, nil
}

// add queues the record of a connection that opened.
func (j *journal) add(c *Conn) {
	// Encoded by the writing goroutine, off the connect path.
	j.queue(c.journalRecord())
}

// journalRecord is what the journal records of c: what its $disconnect event
// needs. The fields it reads do not change once c is registered.
func (c *Conn) journalRecord() journalRecord {
	return journalRecord{ID: c.id, APIID: c.apiID, Stage: c.stage, DomainName: c.domainName,
		SourceIP: c.sourceIP, UserAgent: c.userAgent, ConnectedAt: c.connectedAt.UnixMilli(), Authorizer: c.authorizer}
}

// remove queues the record of a connection whose $disconnect ran (or was
// given up).
func (j *journal) remove(id string) { j.queue(journalRecord{ID: id, Gone: true}) }

func (j *journal) queue(r journalRecord) {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return
	}
	j.pending = append(j.pending, r)
	j.mu.Unlock()
	select {
	case j.kick <- struct{}{}:
	default:
	}
}

// run appends what is queued, one write per batch, until close.
func (j *journal) run() {
	defer close(j.done)
	for range j.kick {
		j.mu.Lock()
		batch, closed := j.pending, j.closed
		j.pending = nil
		j.mu.Unlock()
		j.write(batch)
		if closed {
			_ = j.f.Close()
			return
		}
	}
}

// write appends batch to the file, or rewrites the file when it has grown
// well past the live set.
func (j *journal) write(batch []journalRecord) {
	if len(batch) == 0 {
		return
	}
	var buf bytes.Buffer
	for _, r := range batch {
		line, _ := json.Marshal(r)
		if r.Gone {
			j.nlive--
		} else {
			j.nlive++
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	j.written += len(batch)
	if j.written > 2*j.nlive+j.compactOver {
		// What is queued now is appended after live's records, which
		// already say it: the last record of a connection is its state.
		err := j.rewrite(j.live())
		if err == nil {
			return
		}
		j.log.Warn("connections journal: rewriting it failed", "path", j.path, "err", err)
	}
	if _, err := j.f.Write(buf.Bytes()); err != nil {
		j.log.Warn("connections journal: writing it failed: a crash now may skip these connections' $disconnect", "path", j.path, "err", err)
	}
}

// rewrite replaces the file with records, the live ones (a new file renamed
// over the old one, so that a crash leaves one or the other).
func (j *journal) rewrite(records []journalRecord) error {
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("connections journal: %w", err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w) // one line each
	for _, r := range records {
		_ = enc.Encode(r)
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return fmt.Errorf("connections journal: %w", err)
	}
	if err := os.Rename(tmp, j.path); err != nil {
		_ = f.Close()
		return fmt.Errorf("connections journal: %w", err)
	}
	if j.f != nil {
		_ = j.f.Close()
	}
	// Appends go to the new file: f is positioned at its end.
	j.f, j.written, j.nlive = f, len(records), len(records)
	return nil
}

// close writes what is queued and closes the file; later records are
// dropped. It waits at most until ctx ends.
func (j *journal) close(ctx context.Context) {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return
	}
	j.closed = true
	j.mu.Unlock()
	select {
	case j.kick <- struct{}{}:
	default:
	}
	select {
	case <-j.done:
	case <-ctx.Done():
	}
}

// orphanConcurrency bounds the orphans' $disconnect calls run at once.
const orphanConcurrency = 64

// DisconnectOrphans runs, with d, the $disconnect of every connection that the
// journal (Config.Journal) says the last server left open: it stopped without
// closing them (killed with -9, a crash, a power loss after the journal's
// writes reached the disk). Each event is a dropped client's: close code 1006,
// no reason, with the connection's recorded id, API, stage, domain name,
// source IP, user agent, connectedAt and authorizer context. They run in the
// background, a few at once, on the stage's current deployment (none for a
// stage that is gone), each removed from the journal once its call ended;
// Shutdown waits for them as it waits for other $disconnect calls. Call it
// once the dispatcher can run routes; later calls do nothing.
func (m *Manager) DisconnectOrphans(ctx context.Context, d Dispatcher) {
	m.mu.Lock()
	if m.stopping {
		// They stay in the journal, for the next start.
		m.mu.Unlock()
		return
	}
	orphans := make([]*Conn, 0, len(m.orphans))
	for _, r := range m.orphans {
		c := &Conn{m: m, d: d, id: r.ID, apiID: r.APIID, stage: r.Stage, domainName: r.DomainName,
			sourceIP: r.SourceIP, userAgent: r.UserAgent, connectedAt: time.UnixMilli(r.ConnectedAt),
			authorizer: r.Authorizer}
		orphans = append(orphans, c)
		m.ending[c.id] = c // still journaled, until readerDone
	}
	m.orphans = nil
	m.readers.Add(len(orphans))
	m.closing.Add(int64(len(orphans)))
	m.mu.Unlock()
	if len(orphans) == 0 {
		return
	}
	m.log.Warn("running $disconnect for the connections the last server left open: it stopped without closing them",
		"connections", len(orphans))
	sem := make(chan struct{}, orphanConcurrency)
	go func() {
		for _, c := range orphans {
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				defer m.readerDone(c.id)
				c.runDisconnect(ctx, websocket1006, "")
			}()
		}
	}()
}
