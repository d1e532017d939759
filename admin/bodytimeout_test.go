package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/listener"
)

// TestBodyTimeoutIs408: a request body that does not arrive within the admin
// listener's body-timeout is answered 408 RequestTimeoutException, as on the
// gateway's listeners, with no socket error in the message, and the
// connection closed; it used to be 400 InvalidRequestContentException
// "read tcp ...: i/o timeout".
func TestBodyTimeoutIs408(t *testing.T) {
	t.Parallel()
	s := &Server{cfg: Config{Listen: "127.0.0.1:0", Limits: listener.Limits{BodyTimeout: 200 * time.Millisecond}},
		log: slog.New(slog.DiscardHandler), mux: http.NewServeMux(), stopping: make(chan struct{})}
	s.Handle("POST /2015-03-31/functions/{name}/configuration", func(w http.ResponseWriter, r *http.Request) error {
		var v map[string]any
		return decodeJSON(w, r, lambdaConfig, &v)
	})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Stop(context.Background()) }()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second)) // a safety net
	if _, err := c.Write([]byte("POST /2015-03-31/functions/fn/configuration HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"Timeout\":")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	var e struct{ Message string }
	_ = json.Unmarshal(body, &e)
	if resp.StatusCode != http.StatusRequestTimeout || resp.Header.Get("x-amzn-ErrorType") != "RequestTimeoutException" ||
		e.Message != listener.BodyTimeoutMessage || !resp.Close {
		t.Fatalf("%d %s close=%v %s; want 408 RequestTimeoutException %q and the connection closed",
			resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), resp.Close, body, listener.BodyTimeoutMessage)
	}
	if strings.Contains(string(body), "tcp") {
		t.Fatalf("the answer shows a socket error: %s", body)
	}
}
