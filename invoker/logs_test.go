package invoker

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portico-dev/portico/internal/clock"
)

// TestFollowBounded checks that a follower that does not read holds at most
// about maxFollowBuffer of output (plus the one value handed to it), not a copy
// of everything written; that what it misses is the oldest output, so that the
// newest (a tail -f reader's) arrives; that the stream says how much it
// skipped, in a line of its own, so that what it got and what it skipped add
// up to what was written; and that, when the output has lines, what follows
// the marker starts a line. (The obs16 tester found the newest output dropped
// and the marker written mid-line.)
func TestFollowBounded(t *testing.T) {
	l := newLogs(t.TempDir(), 64<<20, slog.New(slog.DiscardHandler), clock.Real{})
	defer l.close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := l.Follow(ctx, "f")
	marker := regexp.MustCompile(`\[portico: (\d+) bytes of log output skipped here: this reader fell behind\]\n`)
	// follow reads values until one holds the marker, and returns all it read.
	follow := func() []byte {
		t.Helper()
		var got []byte
		for !marker.Match(got) {
			got = append(got, <-ch...)
			if len(got) > 3*maxFollowBuffer {
				t.Fatalf("an unread follower held %d bytes, want at most about %d", len(got), 2*maxFollowBuffer)
			}
		}
		return got
	}
	// account checks that the marker starts a line, that got (the stream
	// without the marker, and without the newline put before it when the
	// output before it did not end a line: newline) and what the marker says
	// was skipped add up to written, and returns what followed the marker.
	account := func(stream []byte, written int, newline bool) []byte {
		t.Helper()
		m := marker.FindSubmatchIndex(stream)
		if m[0] == 0 || stream[m[0]-1] != '\n' {
			t.Errorf("the marker continues the line before it, want it on a line of its own: %q", stream[max(0, m[0]-8):m[1]])
		}
		skipped, _ := strconv.Atoi(string(stream[m[2]:m[3]]))
		got := len(stream) - (m[1] - m[0])
		if newline {
			got--
		}
		if got+skipped != written {
			t.Fatalf("got %d bytes and skipped %d, want %d in all", got, skipped, written)
		}
		if len(marker.FindAllIndex(stream, -1)) != 1 {
			t.Fatalf("more than one marker in %d bytes", len(stream))
		}
		return stream[m[1]:]
	}

	// Output without a newline (one long line), after a start the reader has
	// taken: the marker starts a line of its own, and the newest output, to
	// the last byte written, follows it.
	l.get("f").write([]byte("begin"))
	if b := <-ch; string(b) != "begin" {
		t.Fatalf("first read %q, want begin", b)
	}
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	const chunks = 512 // 16 MB, unread
	for range chunks - 1 {
		l.get("f").write(chunk)
	}
	l.get("f").write(append(bytes.Repeat([]byte("x"), len(chunk)-4), "LAST"...))
	stream := follow()
	if after := account(stream, chunks*len(chunk), true); !bytes.HasSuffix(after, []byte("LAST")) || len(after) > maxFollowBuffer {
		t.Fatalf("after the marker: %d bytes ending %q, want the newest output (at most %d bytes) to the last written", len(after), after[max(0, len(after)-8):], maxFollowBuffer)
	}

	l.get("f").write([]byte("after\n"))
	if b := <-ch; string(b) != "after\n" {
		t.Fatalf("after catching up: %q, want the new output", b)
	}

	// Output in lines (of a length that does not divide the buffer's): what
	// follows the marker is whole lines, to the last written.
	const lines = 600
	lineLen := 30000
	for i := range lines {
		line := append([]byte(strconv.Itoa(100000+i)), bytes.Repeat([]byte("y"), lineLen-7)...)
		l.get("f").write(append(line, '\n'))
	}
	after := account(follow(), lines*lineLen, false)
	wholeLine := regexp.MustCompile(`^1\d{5}y+$`)
	kept := bytes.Split(bytes.TrimSuffix(after, []byte("\n")), []byte("\n"))
	for _, line := range kept {
		if len(line) != lineLen-1 || !wholeLine.Match(line) {
			t.Fatalf("after the marker, a line of %d bytes starting %q, want whole lines", len(line), line[:min(len(line), 8)])
		}
	}
	if last := kept[len(kept)-1]; string(last[:6]) != strconv.Itoa(100000+lines-1) {
		t.Errorf("the last line after the marker is %q..., want the last written", last[:6])
	}

	cancel()
	for range ch { // closed once ctx ends
	}
	fl := l.get("f")
	fl.mu.Lock()
	n := len(fl.subs)
	fl.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d followers still registered after ctx ended", n)
	}
}

// TestReadSince reads a log by cursor, as the console's live log polls it:
// each read returns what was written since the last, with a cursor for the
// next; a reader that fell behind rotation, or past n bytes, is told how much
// it missed; a cursor of an earlier run of the server (or a garbled one) is
// not taken for a place in this log.
func TestReadSince(t *testing.T) {
	dir := t.TempDir()
	l := newLogs(dir, 200, slog.New(slog.DiscardHandler), clock.Real{}) // rotated at 100 bytes
	defer l.close()
	fl := l.get("f")
	fl.write([]byte("one\n"))
	c, err := l.ReadSince("f", "", -1)
	if err != nil || string(c.Data) != "one\n" || c.Cursor == "" || c.Skipped != 0 || c.Reset {
		t.Fatalf("first read: %+v %v", c, err)
	}
	if c2, err := l.ReadSince("f", c.Cursor, -1); err != nil || len(c2.Data) != 0 || c2.Cursor != c.Cursor {
		t.Fatalf("nothing new: %+v %v", c2, err)
	}
	fl.write([]byte("two\n"))
	fl.writeFrame([]byte("three\n"))
	c, err = l.ReadSince("f", c.Cursor, -1)
	if err != nil || string(c.Data) != "two\nthree\n" || c.Skipped != 0 {
		t.Fatalf("after two writes: %+v %v", c, err)
	}
	// Across rotations: 60-byte lines, rotated every other one.
	line := func(i int) []byte { return append(bytes.Repeat([]byte{byte('a' + i)}, 59), '\n') }
	fl.write(line(0))
	fl.flush()
	fl.write(line(1))
	fl.flush()
	c, err = l.ReadSince("f", c.Cursor, -1)
	if err != nil || string(c.Data) != string(line(0))+string(line(1)) || c.Skipped != 0 {
		t.Fatalf("across a rotation: %q skipped %d %v", c.Data, c.Skipped, err)
	}
	behind := c.Cursor
	for i := 2; i < 8; i++ { // three rotations: line 2..5 rotated away
		fl.write(line(i))
		fl.flush()
	}
	c, err = l.ReadSince("f", behind, -1)
	if err != nil || string(c.Data) != string(line(6))+string(line(7)) || c.Skipped != 4*60 {
		t.Fatalf("behind rotations: %q skipped %d %v, want lines 6 and 7 and 240 skipped", c.Data, c.Skipped, err)
	}
	// At most n bytes: the last ones, the rest counted as skipped.
	c, err = l.ReadSince("f", behind, 30)
	if err != nil || string(c.Data) != string(line(7)[30:]) || c.Skipped != 4*60+60+30 {
		t.Fatalf("with n=30: %q skipped %d %v", c.Data, c.Skipped, err)
	}
	end := c.Cursor
	// The same files read by a new run of the server (another Logs): the
	// old cursor is not this run's; the answer is the log's end, as with no
	// cursor, and says so.
	l.close()
	l2 := newLogs(dir, 200, slog.New(slog.DiscardHandler), clock.Real{})
	defer l2.close()
	c, err = l2.ReadSince("f", end, 60)
	if err != nil || !c.Reset || string(c.Data) != string(line(7)) || c.Cursor == end {
		t.Fatalf("a cursor of an earlier run: %+v %v", c, err)
	}
	if _, err := l2.ReadSince("f", "garbled", -1); err == nil {
		t.Fatalf("a garbled cursor: no error")
	}
}

// TestReadsStartAtAWholeLine: the edge15 leftover. A read cut by bytes (the
// tail portico logs --follow prints first, a ReadSince that fell more than n
// bytes behind) began in the middle of a line, printed as if it were one; it
// now begins at the next whole line, what it drops counted as skipped. A cut
// in the last line (longer than n) keeps that line's end.
func TestReadsStartAtAWholeLine(t *testing.T) {
	l := newLogs(t.TempDir(), 1<<20, slog.New(slog.DiscardHandler), clock.Real{})
	defer l.close()
	fl := l.get("f")
	first, err := l.ReadSince("f", "", -1)
	if err != nil {
		t.Fatal(err)
	}
	fl.write([]byte("alpha line\nbravo line\ncharlie\n")) // lines of 11, 11 and 8 bytes
	for _, tc := range []struct {
		n    int
		want string
	}{{12, "charlie\n"}, {8, "charlie\n"}, {18, "charlie\n"}, {19, "bravo line\ncharlie\n"}, {20, "bravo line\ncharlie\n"}, {5, "rlie\n"}, {-1, "alpha line\nbravo line\ncharlie\n"}} {
		if got, err := l.Read("f", tc.n); err != nil || string(got) != tc.want {
			t.Errorf("Read(%d) = %q, %v; want %q", tc.n, got, err, tc.want)
		}
		c, err := l.ReadSince("f", "", tc.n)
		if err != nil || string(c.Data) != tc.want {
			t.Errorf("ReadSince(no cursor, %d) = %q, %v; want %q", tc.n, c.Data, err, tc.want)
		}
		c, err = l.ReadSince("f", first.Cursor, tc.n)
		if err != nil || string(c.Data) != tc.want || c.Skipped != int64(30-len(tc.want)) {
			t.Errorf("ReadSince(cursor, %d) = %q skipped %d, %v; want %q skipped %d", tc.n, c.Data, c.Skipped, err, tc.want, 30-len(tc.want))
		}
	}
}

// TestRotatedLogAppends: the obs16 finding. After its first rotation a
// function's log was reopened without O_APPEND, so a truncation from outside
// (logrotate's copytruncate, `: > f.log`) left the file sparse, NULs up to the
// writer's old offset, and a line another writer appended was overwritten.
// The new file is opened for appending, as the first one is.
func TestRotatedLogAppends(t *testing.T) {
	dir := t.TempDir()
	l := newLogs(dir, 400, slog.New(slog.DiscardHandler), clock.Real{}) // rotated at 200 bytes
	defer l.close()
	fl := l.get("f")
	line := func(c byte) []byte { return append(bytes.Repeat([]byte{c}, 59), '\n') }
	fl.write(bytes.Repeat(line('a'), 3))
	fl.flush()
	fl.write(line('b')) // rotates: f.log.1 holds a, f.log is reopened
	fl.flush()
	path := filepath.Join(dir, "f.log")
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	fl.write(line('c'))
	fl.flush()
	if b, _ := os.ReadFile(path); string(b) != string(line('c')) {
		t.Fatalf("after a truncation from outside: %q, want only the new line (no NULs before it)", b)
	}
	af, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = af.WriteString("X\n")
	_ = af.Close()
	fl.write([]byte("d\n"))
	fl.flush()
	if b, _ := os.ReadFile(path); string(b) != string(line('c'))+"X\nd\n" {
		t.Fatalf("after another writer's line: %q, want it kept", b)
	}
}

// TestLogReopensAfterOutsideRotation is what the ops21 tester found: after
// logrotate renamed a function's log file, the output went on into the
// renamed file. Within LogReopenCheck of a rename (or a removal) the next
// output goes to a new file at the path; reads see it, and a ReadSince
// cursor taken before goes on from its place.
func TestLogReopensAfterOutsideRotation(t *testing.T) {
	dir := t.TempDir()
	clk := newFakeClock()
	l := newLogs(dir, 1<<20, slog.New(slog.DiscardHandler), clk)
	defer l.close()
	fl := l.get("f")
	path := filepath.Join(dir, "f.log")
	fl.write([]byte("before\n"))
	fl.flush()
	c, err := l.ReadSince("f", "", -1)
	if err != nil || string(c.Data) != "before\n" {
		t.Fatalf("first read: %+v %v", c, err)
	}
	for i, rotate := range []func() error{
		func() error { return os.Rename(path, path+"-20261207") }, // logrotate, dateext
		func() error { return os.Remove(path) },
	} {
		if err := rotate(); err != nil {
			t.Fatal(err)
		}
		clk.Advance(LogReopenCheck)
		line := "after " + strconv.Itoa(i) + "\n"
		fl.write([]byte(line))
		fl.flush()
		b, err := os.ReadFile(path)
		if err != nil || string(b) != line {
			t.Fatalf("rotation %d: %s holds %q (%v), want the new output %q", i, path, b, err, line)
		}
		if old, _ := os.ReadFile(path + "-20261207"); string(old) != "before\n" {
			t.Errorf("rotation %d: the renamed file holds %q, want what was written before only", i, old)
		}
		next, err := l.ReadSince("f", c.Cursor, -1)
		if err != nil || string(next.Data) != line || next.Reset {
			t.Errorf("rotation %d: ReadSince the cursor before it: %+v %v, want %q", i, next, err, line)
		}
		c = next
	}
}

// TestLogsDroppedWhileStoreFull is ops26 #2: once a full disk made the
// store release its reserve (the room deletes are written in), function log
// output went on being appended to the log files and took that room back. While
// the store says it is full, output is dropped and counted, with one WARN;
// followers and tails still get it, and the files are written again after.
func TestLogsDroppedWhileStoreFull(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	l := newLogs(dir, 1<<20, slog.New(slog.NewTextHandler(&logs, nil)), clock.Real{})
	defer l.close()
	var full atomic.Bool
	l.full = full.Load
	f, g := l.get("f"), l.get("g")
	f.write([]byte("kept\n"))
	f.flush()
	full.Store(true)
	sub := &follower{wake: make(chan struct{}, 1)}
	f.mu.Lock()
	f.subs[sub] = struct{}{}
	f.mu.Unlock()
	for _, fl := range []*fnLog{f, g, f} {
		fl.write([]byte("dropped\n"))
		fl.flush()
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "f.log")); string(b) != "kept\n" {
		t.Fatalf("f.log while the store is full: %q, want only what was written before", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "g.log")); !os.IsNotExist(err) {
		t.Fatalf("g.log was created while the store is full: %v", err)
	}
	if got := l.Lost(); got != 3*int64(len("dropped\n")) {
		t.Fatalf("Lost() = %d, want the 3 dropped writes' %d bytes", got, 3*len("dropped\n"))
	}
	if got := string(sub.take()); got != "dropped\ndropped\n" {
		t.Fatalf("a follower got %q, want the output all the same", got)
	}
	if n := strings.Count(logs.String(), "disk is full"); n != 1 || !strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("the server's log: %q; want one WARN", logs.String())
	}
	full.Store(false)
	f.write([]byte("again\n"))
	f.flush()
	if b, _ := os.ReadFile(filepath.Join(dir, "f.log")); string(b) != "kept\nagain\n" {
		t.Fatalf("f.log once the store has room: %q", b)
	}
	if !strings.Contains(logs.String(), "function log written again") {
		t.Fatalf("the server's log: %q; want it to say the log is written again", logs.String())
	}
}
