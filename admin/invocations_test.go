package admin_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestInvokeAnswersOnOneConnection checks warm Invoke answers on one
// keep-alive connection (the answer path: the result written by the goroutine
// that read it from the sandbox, the handler parked meanwhile): every answer
// whole, framed by its Content-Length, the connection kept; a pipelined pair
// answered in order; a request with "Connection: close" answered, then the
// connection closed.
func TestInvokeAnswersOnOneConnection(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	createHello(t, ctx, sdk(env), "hello", "kept")
	u, err := url.Parse(env.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second)) // a guard against a hang
	br := bufio.NewReader(conn)
	const req = "POST /2015-03-31/functions/hello/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}"
	send := func(s string) {
		t.Helper()
		if _, err := io.WriteString(conn, s); err != nil {
			t.Fatal(err)
		}
	}
	// check reads an answer and reports whether it closes the connection.
	check := func(what string) (closes bool) {
		t.Helper()
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(body)) || len(resp.TransferEncoding) != 0 {
			t.Fatalf("%s: %d, Content-Length %d for %d bytes, %v", what, resp.StatusCode, resp.ContentLength, len(body), resp.TransferEncoding)
		}
		if v := resp.Header.Get("X-Amz-Executed-Version"); v != "$LATEST" || resp.Header.Get("X-Amzn-Requestid") == "" {
			t.Fatalf("%s: executed version %q, request id %q", what, v, resp.Header.Get("X-Amzn-Requestid"))
		}
		if g := decodeHello(t, body); g.Greeting != "kept" {
			t.Fatalf("%s: %+v", what, g)
		}
		return resp.Close
	}
	for i := range 20 {
		send(req)
		check("call " + strconv.Itoa(i))
	}
	send(req + req)
	check("pipelined first")
	check("pipelined second")
	send(strings.Replace(req, "Host: 127.0.0.1\r\n", "Host: 127.0.0.1\r\nConnection: close\r\n", 1))
	if !check("closing") {
		t.Fatal("no Connection: close on the last answer")
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("the connection was not closed after Connection: close: %v", err)
	}
}
