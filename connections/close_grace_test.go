package connections

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestServerCloseEndsCleanlyWhileClientSends: a server-initiated close
// (an @connections DELETE, or a refused frame's) whose client goes on sending past the close
// grace without answering ends with a half-close, as RFC 6455 7.1.1 asks
// (shutdown the write side, read until the client's end, then close): the
// client reads the close frame with the server's code and then the end of
// the stream, over ws:// and wss://, and its sending meets no reset. The
// socket was closed under the client's unread bytes, which the kernel
// answers with a reset: the client's next write, or its read after the close
// frame, failed with ECONNRESET (a browser reports 1006 for it).
// The server discards what the client sends meanwhile, and $disconnect has
// the server's code.
func TestServerCloseEndsCleanlyWhileClientSends(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tls     bool
		refused bool // the close is a refused frame's (1003), not a DELETE's (1000)
	}{
		{"ws DELETE", false, false}, {"wss DELETE", true, false},
		{"ws refused frame", false, true}, {"wss refused frame", true, true},
	} {
		useTLS := tc.tls
		t.Run(tc.name, func(t *testing.T) {
			d := newFakeDispatcher(map[string]bool{"$default": true, "$disconnect": false})
			m := New(Config{}, nil)
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				m.ServeWebSocket(w, r, Endpoint{APIID: testAPI, Stage: testStage, DomainName: r.Host}, d)
			}))
			if useTLS {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_ = m.Shutdown(ctx)
				srv.Close()
			})
			c := dialRaw(t, srv)
			var id string
			waitUntil(t, "the connection", func() bool {
				l := m.List(testAPI, testStage)
				if len(l) == 1 {
					id = l[0].ConnectionID
				}
				return id != ""
			})
			wantCode, wantReason := websocket.CloseNormalClosure, ""
			if tc.refused {
				wantCode, wantReason = websocket.CloseUnsupportedData, binaryRefused
				if _, err := c.nc.Write(maskedFrame(websocket.BinaryMessage, "bin")); err != nil {
					t.Fatal(err)
				}
			} else if err := m.Disconnect(testAPI, testStage, id); err != nil {
				t.Fatal(err)
			}
			// The client goes on sending messages, and does not answer the
			// close, until it has read the end of the server's stream.
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var writeErr error
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Many frames a write, so that the server's socket always
				// has some of them unread. After a refused frame the server
				// discards at most maxDrainBytes (a client past it is reset):
				// this client sends well under that in the grace, paced.
				frame := append(bigFrameHeader(8000), strings.Repeat("m", 8000)...)
				msg := bytes.Repeat(frame, 64)
				var pace <-chan time.Time
				if tc.refused {
					msg = frame
					tick := time.NewTicker(5 * time.Millisecond) // about 1.6 MB/s
					defer tick.Stop()
					pace = tick.C
				}
				for {
					select {
					case <-stop:
						return
					default:
					}
					if pace != nil {
						select {
						case <-stop:
							return
						case <-pace:
						}
					}
					if _, err := c.nc.Write(msg); err != nil {
						writeErr = err
						return
					}
				}
			}()
			code, reason := c.closeFrom(t)
			if code != wantCode || reason != wantReason {
				t.Errorf("close = %d %q, want %d %q", code, reason, wantCode, wantReason)
			}
			_, _, err := c.frame()
			close(stop)
			wg.Wait()
			if !errors.Is(err, io.EOF) {
				t.Errorf("after the close frame: %v, want the end of the stream (a half-close), not a reset", err)
			}
			if writeErr != nil {
				t.Errorf("the client's sending until it read the end of the stream: %v, want no reset", writeErr)
			}
			_ = c.nc.Close()
			if ev := d.next(t, EventDisconnect); ev.RequestContext.DisconnectStatusCode != int64(wantCode) {
				t.Fatalf("$disconnect code %d, want %d", ev.RequestContext.DisconnectStatusCode, wantCode)
			}
		})
	}
}

// TestServerCloseEndsCleanlyWhileGorillaSends is
// TestServerCloseEndsCleanlyWhileClientSends with gorilla/websocket's client,
// whose close handler does not answer (an application still busy sending): it
// reads the server's close code, its messages written meanwhile meet no reset,
// and its connection then reads the end of the server's stream.
func TestServerCloseEndsCleanlyWhileGorillaSends(t *testing.T) {
	ts := newTestServer(t, Config{}, map[string]bool{"$default": true, "$disconnect": false})
	ws := ts.dial(t, "")
	ws.SetCloseHandler(func(int, string) error { return nil }) // no answer yet
	id := ts.waitConns(t, 1)[0].ConnectionID
	if err := ts.m.Disconnect(testAPI, testStage, id); err != nil {
		t.Fatal(err)
	}
	_, _, err := ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure {
		t.Fatalf("read: %v, want the server's close 1000", err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		msg := []byte(strings.Repeat("g", 16000))
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := ws.WriteMessage(websocket.TextMessage, msg); err != nil {
				writeErr = err
				return
			}
		}
	}()
	// The server's stream ends after the grace: a half-close, not a reset.
	_, err = io.Copy(io.Discard, ws.NetConn())
	close(stop)
	wg.Wait()
	if err != nil {
		t.Errorf("reading the end of the server's stream: %v, want EOF", err)
	}
	if writeErr != nil {
		t.Errorf("sending until the server's stream ended: %v, want no reset", writeErr)
	}
	_ = ws.Close()
	if ev := ts.d.next(t, EventDisconnect); ev.RequestContext.DisconnectStatusCode != websocket.CloseNormalClosure {
		t.Fatalf("$disconnect code %d, want 1000", ev.RequestContext.DisconnectStatusCode)
	}
}
