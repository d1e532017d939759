package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/listener/listenertest"
)

type ctxKey struct{}

// TestRequestContext: a request context carries its parent's values, is live
// until it ends, and once ended reports Canceled, closes its Done channel
// (asked for before or after the end) and cancels its children; its parent's
// cancellation reaches it and its children.
func TestRequestContext(t *testing.T) {
	t.Run("ends", func(t *testing.T) {
		parent := context.WithValue(context.Background(), ctxKey{}, "v")
		for _, doneFirst := range []bool{false, true} {
			c := &requestContext{parent: parent}
			if c.Value(ctxKey{}) != "v" {
				t.Fatal("parent's value lost")
			}
			if c.Err() != nil {
				t.Fatalf("live context: Err = %v", c.Err())
			}
			var child context.Context
			var early <-chan struct{}
			if doneFirst {
				early = c.Done()
				var cancelChild context.CancelFunc
				child, cancelChild = context.WithCancel(c)
				defer cancelChild()
				if c.Value(ctxKey{}) != "v" || child.Value(ctxKey{}) != "v" {
					t.Fatal("value lost once Done was asked for")
				}
			}
			select {
			case <-c.Done():
				t.Fatal("Done closed before the end")
			default:
			}
			c.end()
			if !errors.Is(c.Err(), context.Canceled) {
				t.Fatalf("ended: Err = %v", c.Err())
			}
			<-c.Done()
			if early != nil {
				<-early
				<-child.Done()
				if !errors.Is(child.Err(), context.Canceled) {
					t.Fatalf("child: Err = %v", child.Err())
				}
			}
			after, cancel := context.WithCancel(c)
			<-after.Done()
			cancel()
		}
	})
	t.Run("parent cancelled", func(t *testing.T) {
		for _, doneFirst := range []bool{false, true} {
			parent, cancel := context.WithCancel(context.Background())
			c := &requestContext{parent: parent}
			var early <-chan struct{}
			if doneFirst {
				early = c.Done()
			}
			child, cancelChild := context.WithCancel(c)
			cancel()
			if !errors.Is(c.Err(), context.Canceled) {
				t.Fatalf("parent cancelled: Err = %v", c.Err())
			}
			<-c.Done()
			<-child.Done()
			if early != nil {
				<-early
			}
			cancelChild()
			c.end()
		}
	})
	t.Run("AfterFunc", func(t *testing.T) {
		c := &requestContext{parent: context.Background()}
		ran := make(chan struct{})
		context.AfterFunc(c, func() { close(ran) })
		c.end()
		<-ran
	})
}

// TestContextEndsWithRequest: a request's context ends, and what waits on it
// runs, when the handler returns, while the connection stays open for the
// next request, whose context is live.
func TestContextEndsWithRequest(t *testing.T) {
	ctxs := make(chan context.Context, 2)
	after := make(chan chan struct{}, 2)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.Context().Err(); err != nil {
			t.Errorf("context ended during the request: %v", err)
		}
		ran := make(chan struct{})
		context.AfterFunc(r.Context(), func() { close(ran) })
		ctxs <- r.Context()
		after <- ran
		_, _ = io.WriteString(w, "ok")
	})
	addr := startH1(t, h, Options{})
	c := listenertest.Dial(t, addr)
	buf := make([]byte, 4096)
	for range 2 {
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
		ctx := <-ctxs
		<-ctx.Done()
		<-<-after
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Fatalf("after the request: %v", ctx.Err())
		}
	}
}

// TestHeaderStartsEmpty: each response on a keep-alive connection starts with
// an empty header, whatever the last one held (a few fields, or more than a
// reused map keeps).
func TestHeaderStartsEmpty(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := len(w.Header()); n != 0 {
			t.Errorf("%s: header starts with %d fields: %v", r.URL.Path, n, w.Header())
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		for i := range n {
			w.Header().Set("X-F"+strconv.Itoa(i), "v")
		}
		_, _ = io.WriteString(w, "ok")
	})
	addr := startH1(t, h, Options{})
	c := listenertest.Dial(t, addr)
	br := bufio.NewReader(c)
	for _, n := range []int{3, 0, maxReusedHeader + 5, 1, 0} {
		header := roundTrip(t, c, br, fmt.Sprintf("GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", n))
		got := 0
		for k := range header {
			if strings.HasPrefix(k, "X-F") {
				got++
			}
		}
		if got != n {
			t.Fatalf("/%d: %d X-F fields in the response: %v", n, got, header)
		}
	}
}
