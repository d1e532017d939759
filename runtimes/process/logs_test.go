package process

import (
	"context"
	"io"
	"os"
	"testing"
	"time"
)

// TestSyncLogsWaitsForOutputWrittenBefore checks SyncLogs' promise with a reader
// that holds each chunk until the test lets it go (a log pump starved of CPU):
// the sync waits as long as output written before it is undelivered, however
// long that takes, and not for output written after it.
func TestSyncLogsWaitsForOutputWrittenBefore(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pw.Close() }()
	raw, err := pr.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	sb := &sandbox{logs: &logPipe{f: pr, raw: raw}}
	chunks := make(chan string) // what the reader took
	next := make(chan struct{}) // lets the reader go on to its next Read
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]byte, 64)
		for {
			n, err := sb.logs.Read(buf)
			if err != nil {
				return
			}
			chunks <- string(buf[:n])
			<-next
		}
	}()

	if _, err := io.WriteString(pw, "before"); err != nil {
		t.Fatal(err)
	}
	if got := <-chunks; got != "before" {
		t.Fatalf("the reader took %q", got)
	}
	// "before" is in the reader's hand: not delivered yet, and SyncLogs waits
	// until the reader is done with it.
	target, ok := sb.logs.mark()
	if !ok || sb.logs.delivered(target) {
		t.Fatalf("mark = %d, %v; delivered %v: want a chunk in hand pending", target, ok, sb.logs.delivered(target))
	}
	synced := make(chan struct{})
	go func() {
		sb.SyncLogs(context.Background())
		close(synced)
	}()
	next <- struct{}{} // done with "before"; the reader blocks in Read
	select {
	case <-synced:
	case <-time.After(time.Minute): // a guard against hanging, not a timing assertion
		t.Fatal("SyncLogs did not return once the output written before it was delivered")
	}

	// Output written after the mark does not hold it: the reader takes "first";
	// "second", written after the mark, is in the reader's hand when "first"
	// counts as delivered.
	if _, err := io.WriteString(pw, "first"); err != nil {
		t.Fatal(err)
	}
	target, ok = sb.logs.mark()
	if !ok {
		t.Fatal("mark: nothing pending with 5 bytes written")
	}
	if got := <-chunks; got != "first" {
		t.Fatalf("the reader took %q", got)
	}
	if sb.logs.delivered(target) {
		t.Fatal("delivered while the reader holds the chunk")
	}
	if _, err := io.WriteString(pw, "second"); err != nil {
		t.Fatal(err)
	}
	next <- struct{}{}
	if got := <-chunks; got != "second" {
		t.Fatalf("the reader took %q", got)
	}
	if !sb.logs.delivered(target) || !sb.logs.pending() {
		t.Fatalf("with \"first\" delivered and \"second\" in hand: delivered %v, pending %v; want true, true",
			sb.logs.delivered(target), sb.logs.pending())
	}
	_ = pw.Close()
	next <- struct{}{}
	<-readerDone
	if sb.logs.pending() {
		t.Error("pending after the pipe closed")
	}
}
