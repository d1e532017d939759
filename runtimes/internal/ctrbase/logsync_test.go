package ctrbase

import (
	"errors"
	"io"
	"testing"
)

// TestLogSyncStreamsDropMarkers checks that the streams take markers out of
// the output wherever writes split them, pass on what only looked like the
// start of one, and count a marker delivered only once the reader has come
// back after every byte before it.
func TestLogSyncStreamsDropMarkers(t *testing.T) {
	l := NewLogSync()
	tok := string(l.token)
	out, errw := l.Stream(), l.Stream()
	writes := []struct {
		w    io.Writer
		data string
	}{
		{out, "a\n" + tok[:5]},            // a marker split across writes...
		{errw, "e1\n"},                    // ...with the other stream in between
		{out, tok[5:] + "b\n"},            // ...ends here
		{out, tok[:3] + "x" + tok[:1]},    // not a marker: passed on as output
		{out, "\n" + tok + tok + "c\n"},   // two in a row
		{errw, tok[:len(tok)-1] + "\x00"}, // all but the last byte: output
	}
	for _, w := range writes {
		if _, err := w.w.Write([]byte(w.data)); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = out.Close(), errw.Close()
	l.CloseWithError(nil)

	buf := make([]byte, 64<<10)
	got := ""
	for {
		l.mu.Lock()
		delivered := l.delivered
		l.mu.Unlock()
		n, err := l.Read(buf)
		got += string(buf[:n])
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if delivered > 3 {
			t.Fatalf("%d markers counted delivered before the reader came back for them", delivered)
		}
	}
	want := "a\ne1\nb\n" + tok[:3] + "x" + tok[:1] + "\nc\n" + tok[:len(tok)-1] + "\x00"
	if got != want {
		t.Fatalf("output %q, want %q", got, want)
	}
	if l.delivered != 3 {
		t.Fatalf("%d markers delivered, want 3", l.delivered)
	}
}
