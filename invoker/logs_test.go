package invoker

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"
)

// TestFollowBounded checks that a follower that does not read holds at most
// about maxFollowBuffer of output (plus the one value handed to it), not a copy
// of everything written, and that the stream then says how much it skipped, so
// that what it got and what it skipped add up to what was written.
func TestFollowBounded(t *testing.T) {
	l := newLogs(t.TempDir(), 64<<20)
	defer l.close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := l.Follow(ctx, "f")
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	const chunks = 512 // 16 MB, unread
	for range chunks {
		l.get("f").write(chunk)
	}
	skippedLine := regexp.MustCompile(`\[portico: (\d+) bytes of log output skipped here: this reader fell behind\]\n$`)
	got := 0
	for {
		b := <-ch
		if m := skippedLine.FindSubmatch(b); m != nil {
			skipped, _ := strconv.Atoi(string(m[1]))
			got += len(b) - len(m[0])
			if got+skipped != chunks*len(chunk) {
				t.Fatalf("got %d bytes and skipped %d, want %d in all", got, skipped, chunks*len(chunk))
			}
			break
		}
		got += len(b)
		if got > 2*maxFollowBuffer {
			t.Fatalf("an unread follower held %d bytes, want at most %d", got, 2*maxFollowBuffer)
		}
	}
	l.get("f").write([]byte("after\n"))
	if b := <-ch; string(b) != "after\n" {
		t.Fatalf("after catching up: %q, want the new output", b)
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
