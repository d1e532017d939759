package connections_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/chromedp/chromedp"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/internal/routeselect"
)

// echoDispatcher serves a stage with a $default route that answers nothing.
type echoDispatcher struct{ routes *connections.Routes }

func (d echoDispatcher) Routes(context.Context, string, string) (*connections.Routes, error) {
	return d.routes, nil
}

func (d echoDispatcher) Dispatch(context.Context, *events.APIGatewayWebsocketProxyRequest) (*connections.Response, error) {
	return nil, nil
}

// closePage sends one message of the size in its query over a WebSocket to its
// own host and shows how the connection closed.
const closePage = `<!doctype html><title>close</title><p id="result"></p><script>
const n = Number(new URLSearchParams(location.search).get("n"));
const ws = new WebSocket("ws://" + location.host + "/abcdefghij/dev");
ws.onopen = () => ws.send("x".repeat(n));
ws.onclose = (e) => { document.getElementById("result").textContent = e.code + " " + e.reason; };
</script>`

// TestRefusedFrameCloseInChromium: Chromium sending a message over the frame
// limit sees the server's close code and reason (1009 "Frame over 32768
// bytes"), not 1006: the server drains what the browser goes on writing before
// it closes the socket.
func TestRefusedFrameCloseInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	browser := apptest.Browser(t)
	sel, err := routeselect.Parse("")
	if err != nil {
		t.Fatal(err)
	}
	d := echoDispatcher{routes: &connections.Routes{Selector: sel, Keys: map[string]bool{"$default": false}}}
	m := connections.New(connections.Config{}, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/abcdefghij/dev" {
			m.ServeWebSocket(w, r, connections.Endpoint{APIID: "abcdefghij", Stage: "dev", DomainName: r.Host}, d)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, closePage)
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = m.Shutdown(ctx)
		srv.Close()
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()))
	bctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a guard against hanging, not a timing assertion
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(bctx, opts...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(alloc)
	defer cancelTab()
	for _, n := range []int{40 << 10, 1 << 20} {
		var err error
		for range 3 { // a fresh Chromium may see its network change under the first load
			if err = chromedp.Do(tab, chromedp.Navigate(srv.URL+"/?n="+strconv.Itoa(n))); err == nil || !strings.Contains(err.Error(), "ERR_NETWORK_CHANGED") {
				break
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(tab, chromedp.Poll[string](`document.getElementById("result").textContent || null`))
		if err != nil {
			t.Fatal(err)
		}
		if want := "1009 Frame over 32768 bytes"; got != want {
			t.Fatalf("a %d-byte message: the browser saw the close %q, want %q", n, got, want)
		}
	}
}
