package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestTooLargeBodyAnsweredNotReset sends a body larger than the handler takes
// and more than the server discards to keep a connection: the handler answers
// 413 from the Content-Length without reading, and the client, which reads
// only once it has sent its whole body, must read the 413, not a reset (the
// server half-closes and drains what the client still sends before it
// closes). A client that asked for "100-continue" gets the 413 and no 100
// Continue.
func TestTooLargeBodyAnsweredNotReset(t *testing.T) {
	const limit = 64 << 10
	addr := startH1(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			_, _ = w.Write([]byte(`{"message":"Request Too Long"}`))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}), Options{ReadHeaderTimeout: time.Minute})

	// 3 MB, and a body over the largest limit a Portico listener sets (the
	// gateway's 10 MB payload; an invoke's 6 MB on the admin API).
	for _, size := range []int{3 << 20, 11 << 20} {
		for _, expect := range []bool{false, true} {
			t.Run(strconv.Itoa(size>>20)+"MB/expect="+strconv.FormatBool(expect), func(t *testing.T) { testTooLargeBody(t, addr, size, expect) })
		}
	}
}

// testTooLargeBody sends one request with a body of size bytes to addr, whose
// handler answers 413 without reading it.
func testTooLargeBody(t *testing.T, addr string, size int, expect bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	// A small send buffer, so that the body is not all taken by the
	// kernel before the server closes: a write after a close that
	// reset the connection fails, as curl's does.
	_ = c.(*net.TCPConn).SetWriteBuffer(64 << 10)
	body := bytes.Repeat([]byte("x"), size) // past the 256 KB discarded, within the lingering close's bytes
	head := "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	if expect {
		head += "Expect: 100-continue\r\n"
	}
	br := bufio.NewReader(c)
	if expect {
		if _, err := c.Write([]byte(head + "\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("read the answer to the head: %v", err)
		}
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("answer to the head: %d, want 413 (and no 100 Continue)", resp.StatusCode)
		}
		_, _ = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		// A client that sends its body anyway (curl does after a
		// second) must not make the close a reset either.
		if _, err := c.Write(body); err != nil {
			t.Fatalf("send the body after the 413: %v", err)
		}
		_ = c.(*net.TCPConn).CloseWrite()
		if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
			t.Fatalf("after the 413: %v, want EOF (a graceful close)", err)
		}
		return
	}
	if _, err := c.Write(append([]byte(head+"\r\n"), body...)); err != nil {
		t.Fatalf("send the request: %v (the server reset the connection), want it read and answered 413", err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read the answer: %v, want 413", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
}
