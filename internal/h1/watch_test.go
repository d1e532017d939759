//go:build linux

package h1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestCancelOnGone: a handler that streams and waits notices its client's
// close through CancelOnGone (the server reads nothing in the background), and
// the connection's next request is still served when the client stays.
func TestCancelOnGone(t *testing.T) {
	ended := make(chan error, 2)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/plain" {
			_, _ = io.WriteString(w, "plain")
			return
		}
		w.(http.Flusher).Flush()
		stop := CancelOnGone(w)
		<-r.Context().Done()
		stop()
		ended <- r.Context().Err()
	})
	addr := startH1(t, h, Options{})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	_, _ = io.WriteString(c, "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	_, _ = io.WriteString(c, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
	// The stream's body never ends (Close would read it to its end): the
	// connection's close below is the point of the test.
	resp, err = http.ReadResponse(br, nil) //nolint:bodyclose // see above
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %s", resp.Status)
	}
	_ = c.Close()
	select {
	case err := <-ended:
		if err == nil {
			t.Fatal("the handler ended without its context cancelled")
		}
	case <-time.After(30 * time.Second): // a bound for failure, not a wait for time
		t.Fatal("the handler did not notice its client's close")
	}
}

// TestCancelOnGoneOtherWriter: for a ResponseWriter not of this package it does
// nothing.
func TestCancelOnGoneOtherWriter(t *testing.T) {
	var w http.ResponseWriter = struct{ http.ResponseWriter }{}
	CancelOnGone(w)()
}
