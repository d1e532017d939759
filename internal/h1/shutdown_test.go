package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestShutdownAnswersRequestsStillComing: Shutdown does not wait for a
// request whose head or body has not come in whole (a client stalled
// mid-header or mid-body), which nothing has run for yet: the head is
// answered 503 by the server (Options.Refuse when set, else plain text), the
// body's read fails with ErrShutdown for the handler to answer, and Shutdown
// returns without its context's error, the connections closed.
func TestShutdownAnswersRequestsStillComing(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		t.Run("refuse="+map[bool]string{false: "unset", true: "set"}[refuse], func(t *testing.T) {
			testShutdownAnswersRequestsStillComing(t, refuse)
		})
	}
}

func testShutdownAnswersRequestsStillComing(t *testing.T, refuse bool) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		switch {
		case errors.Is(err, ErrShutdown):
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "body cut off")
		case err != nil:
			t.Errorf("body read: %v, want ErrShutdown", err)
		default:
			_, _ = io.WriteString(w, "whole")
		}
	})
	o := Options{ReadHeaderTimeout: time.Hour, IdleTimeout: time.Hour}
	if refuse {
		o.Refuse = func(w http.ResponseWriter, r *http.Request, status int) {
			w.Header().Set("X-Refused", r.Method)
			w.WriteHeader(status)
			_, _ = io.WriteString(w, `{"message":"refused"}`)
		}
	}
	s, addr := startH1Server(t, h, o)
	stalls := []struct{ name, raw, want string }{
		{"mid-body", "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{", "body cut off"},
		{"mid-header", "POST /h HTTP/1.1\r\nHost: x\r\nContent-Le", "503 Service Unavailable"},
		{"mid-request-line", "POST /h", "503 Service Unavailable"},
	}
	if refuse {
		stalls[1].want, stalls[2].want = `{"message":"refused"}`, `{"message":"refused"}`
	}
	conns := make([]net.Conn, len(stalls))
	for i, st := range stalls {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		_ = c.SetDeadline(time.Now().Add(5 * time.Minute)) // a safety net, not a timing assertion
		if _, err := io.WriteString(c, st.raw); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	// Shut down once every request is being read (before, an idle
	// connection is closed unanswered, as ever).
	for s.Active() < len(stalls) {
		time.Sleep(time.Millisecond)
	}
	// Only the fix can make Shutdown return within its context: the clients
	// never send more.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctx) }()
	for i, st := range stalls {
		resp, err := http.ReadResponse(bufio.NewReader(conns[i]), nil)
		if err != nil {
			t.Fatalf("%s: %v, want a 503", st.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !resp.Close || !strings.Contains(string(b), st.want) {
			t.Errorf("%s: %d %q (close %v), want 503 %q and the connection closed", st.name, resp.StatusCode, b, resp.Close, st.want)
		}
		if refuse && st.name != "mid-body" && resp.Header.Get("X-Refused") != "POST" {
			t.Errorf("%s: Refuse saw method %q, want POST", st.name, resp.Header.Get("X-Refused"))
		}
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v, want nil (nothing was running)", err)
	}
}

// TestDeclaredTooLargeAnsweredBeforeBodyRead: a handler that answers 413
// from a Content-Length over its limit, without reading the body, has its
// answer sent before any of the body is read: a client that declared 20 MB
// and sent one byte reads the 413 (Connection: close) without sending more,
// not after the server discarded 256 KB of the body or gave up waiting.
func TestDeclaredTooLargeAnsweredBeforeBodyRead(t *testing.T) {
	addr := startH1(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > 1<<20 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			_, _ = io.WriteString(w, `{"message":"Request Too Long"}`)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
	}), Options{ReadHeaderTimeout: time.Hour, IdleTimeout: time.Hour})
	for _, sent := range []int{0, 1, 100 << 10} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		_ = c.SetDeadline(time.Now().Add(5 * time.Minute)) // a safety net, not a timing assertion
		raw := append([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\n\r\n"), bytes.Repeat([]byte("x"), sent)...)
		if _, err := c.Write(raw); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%d bytes of the body sent: %v, want 413", sent, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
			t.Fatalf("%d bytes of the body sent: %d (close %v), want 413 and Connection: close", sent, resp.StatusCode, resp.Close)
		}
	}
}

// TestShutdownLetsABodyStillComingFinish: a request body that keeps coming
// in when Shutdown begins is not cut off (only a stalled one is): its
// handler reads it whole and answers, and Shutdown returns once it has.
func TestShutdownLetsABodyStillComingFinish(t *testing.T) {
	const size = 4 << 20
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, err.Error())
			return
		}
		_, _ = io.WriteString(w, strconv.FormatInt(n, 10))
	})
	s, addr := startH1Server(t, h, Options{ReadHeaderTimeout: time.Hour, IdleTimeout: time.Hour})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(5 * time.Minute)) // a safety net, not a timing assertion
	if _, err := io.WriteString(c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\nx"); err != nil {
		t.Fatal(err)
	}
	for s.Active() < 1 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctx) }()
	// The rest of the body, sent as fast as the server takes it, after
	// the stop began.
	sent := make(chan error, 1)
	go func() {
		_, err := c.Write(bytes.Repeat([]byte("x"), size-1))
		sent <- err
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%v, want the handler's answer", err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != strconv.Itoa(size) {
		t.Fatalf("%d %q, want 200 %q: the body still coming was cut off", resp.StatusCode, b, strconv.Itoa(size))
	}
	if err := <-sent; err != nil {
		t.Fatalf("sending the body: %v", err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v, want nil", err)
	}
}

// TestShutdownClosesStalledReaders: an answer whose client takes none of it
// does not hold Shutdown (with Options.WriteTimeout, here far longer than
// the stop): once the stop began its write fails after a second without
// progress, the connection closes, Shutdown returns nil (nothing is left
// running) and StalledAtStop counts it; an answer whose client keeps reading
// is sent whole (the faults22 tester's finding 3).
func TestShutdownClosesStalledReaders(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 8<<20)
	started := make(chan struct{}, 2)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		_, _ = w.Write(big)
	})
	s, addr := startH1Server(t, h, Options{ReadHeaderTimeout: time.Hour, IdleTimeout: time.Hour, WriteTimeout: time.Hour})
	stalled := dialSmall(t, addr)
	reader, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reader.Close() }()
	for _, c := range []net.Conn{stalled, reader} {
		_ = c.SetDeadline(time.Now().Add(5 * time.Minute)) // a safety net, not a timing assertion
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	<-started
	<-started
	// Before the fix, Shutdown waits for the stalled write's hour.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctx) }()
	resp, err := http.ReadResponse(bufio.NewReader(reader), nil)
	if err != nil {
		t.Fatalf("the reading client: %v, want its answer", err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil || n != int64(len(big)) {
		t.Fatalf("the reading client got %d bytes (%v), want all %d", n, err, len(big))
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v, want nil: a client that reads nothing held it", err)
	}
	if got := s.StalledAtStop(); got != 1 {
		t.Fatalf("StalledAtStop %d, want 1", got)
	}
}
