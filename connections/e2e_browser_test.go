package connections_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/edge"
)

// TestChatPageInChromiumOverHTTPS opens the chat sample's page, as make run
// deploys it, in two tabs of headless Chromium over https:// (HTTP/2) with the
// development certificate, and sends a message from one tab to the other over
// wss://.
func TestChatPageInChromiumOverHTTPS(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	browser := apptest.Browser(t)
	dir := t.TempDir()
	if _, err := edge.InitDevCA(edge.DevCADir(dir), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	var gw *gateway.Server
	env := apptest.Start(t, apptest.Options{Runtime: "process", DataDir: dir, Populate: []any{&gw}, Settings: func(s *app.Settings) {
		s.TLSListen = "127.0.0.1:0"
	}})
	_, pageID := deployChatPage(t, env.Client())
	ctx := context.Background()
	// Chromium trusts the development certificate through its flags: the SPKI
	// hash of the gateway's certificate (which the development CA signed).
	certPEM, err := os.ReadFile(filepath.Join(edge.DevCADir(dir), edge.DevCertFile))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(certPEM)
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
	)
	bctx, cancel := context.WithTimeout(ctx, 3*time.Minute) // a guard against hanging, not a timing assertion
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(bctx, opts...)
	defer cancelAlloc()
	tab1, cancel1 := chromedp.NewContext(alloc)
	defer cancel1()

	_, port, _ := net.SplitHostPort(gw.TLSAddr())
	page := "https://localhost:" + port + "/" + pageID + "/dev/"
	connected := `document.getElementById("status").textContent.startsWith("connected to wss://")`
	var tab2 context.Context
	for i := range 2 {
		tab := tab1
		if i == 1 { // a second tab of the browser that the first one started
			var cancel2 context.CancelFunc
			tab2, cancel2 = chromedp.NewContext(tab1)
			defer cancel2()
			tab = tab2
		}
		// A freshly started Chromium in a container may report its network
		// changing under the first load (net::ERR_NETWORK_CHANGED): load again.
		var err error
		for range 3 {
			if err = chromedp.Do(tab, chromedp.Navigate(page)); err == nil || !strings.Contains(err.Error(), "ERR_NETWORK_CHANGED") {
				break
			}
		}
		if err != nil {
			t.Fatalf("tab %d at %s: %v", i+1, page, err)
		}
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](connected)); err != nil {
			status, _ := chromedp.Run(tab, chromedp.Text(chromedp.ID("status")))
			t.Fatalf("tab %d never connected over wss (status %q): %v", i+1, status, err)
		}
		proto, err := chromedp.Run(tab, chromedp.Evaluate[string](`location.protocol`))
		if err != nil || proto != "https:" {
			t.Fatalf("tab %d: page protocol %q, %v", i+1, proto, err)
		}
		// The page came over HTTP/2 (internal/h2), as browsers negotiate it.
		hop, err := chromedp.Run(tab, chromedp.Evaluate[string](`performance.getEntriesByType("navigation")[0].nextHopProtocol`))
		if err != nil || hop != "h2" {
			t.Fatalf("tab %d: page loaded over %q, want h2: %v", i+1, hop, err)
		}
	}
	if err := chromedp.Do(tab1,
		chromedp.SetValue(chromedp.ID("name"), "tab1"),
		chromedp.SetValue(chromedp.ID("text"), "hello over wss"),
		chromedp.Click(chromedp.CSS("button")),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(tab2, chromedp.Poll[bool](`document.getElementById("log").textContent.includes("tab1: hello over wss")`)); err != nil {
		t.Fatalf("tab 2 never showed the message: %v", err)
	}
	logText, err := chromedp.Run(tab2, chromedp.Text(chromedp.ID("log")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logText, "tab1: hello over wss") {
		t.Fatalf("tab 2 shows %q", logText)
	}
}

// deployChatPage deploys the chat sample's functions, its WebSocket API and the
// REST API of its page, each with a stage dev, and returns their ids.
func deployChatPage(t *testing.T, c *client.Client) (wsID, pageID string) {
	t.Helper()
	ctx := context.Background()
	for _, fn := range []string{"chat-connect", "chat-disconnect", "chat-sendmessage", "chat-page"} {
		in := map[string]any{
			"FunctionName": fn, "PackageType": "Zip", "Timeout": 10,
			"Code":              map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(apptest.ZipSample(t, "chat/cmd/"+fn))},
			"FileSystemConfigs": []map[string]string{{"Arn": "portico:volume:chat", "LocalMountPath": "/mnt/chat"}},
		}
		if _, _, err := c.CreateFunction(ctx, in); err != nil {
			t.Fatalf("create %s: %v", fn, err)
		}
	}
	create := func(body map[string]any) string {
		resp, err := c.Do(ctx, http.MethodPost, "/portico/v1/apis", nil, body, nil)
		if err != nil {
			t.Fatal(err)
		}
		var api struct{ ID string }
		if err := json.Unmarshal(resp.Body, &api); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Do(ctx, http.MethodPost, "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil); err != nil {
			t.Fatal(err)
		}
		return api.ID
	}
	route := func(key, fn string) map[string]any {
		return map[string]any{"routeKey": key, "integration": map[string]any{"type": "AWS_PROXY", "uri": "function:" + fn}}
	}
	wsID = create(map[string]any{"name": "chat", "protocol": "WEBSOCKET", "routeSelectionExpression": "$request.body.action",
		"routes": []any{route("$connect", "chat-connect"), route("$disconnect", "chat-disconnect"), route("sendmessage", "chat-sendmessage")}})
	pageID = create(map[string]any{"name": "chat-page", "protocol": "REST",
		"routes": []any{map[string]any{"method": "GET", "path": "/", "integration": map[string]any{"type": "AWS_PROXY", "uri": "function:chat-page"}}}})
	if _, err := c.Do(ctx, http.MethodPatch, "/portico/v1/apis/"+pageID+"/stages/dev/variables", nil,
		map[string]any{"set": map[string]string{"wsApi": wsID, "wsStage": "dev"}}, nil); err != nil {
		t.Fatal(err)
	}

	return wsID, pageID
}

// TestChatPageWebSocketURLInChromium: the chat page finds its WebSocket API on
// a host whose first label merely has ten characters (chatserver.localhost,
// not an execute-api host), and through the stage variable wsUrl (a custom
// domain's URL, here another host name of the gateway); other members cannot
// make their messages pass for the gateway's error frames, which the page
// shows as notices.
func TestChatPageWebSocketURLInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	browser := apptest.Browser(t)
	var gw *gateway.Server
	env := apptest.Start(t, apptest.Options{Runtime: "process", DataDir: t.TempDir(), Populate: []any{&gw}})
	c := env.Client()
	ctx := context.Background()
	wsID, pageID := deployChatPage(t, c)
	_, port, _ := net.SplitHostPort(gw.Addr())

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()))
	bctx, cancel := context.WithTimeout(ctx, 3*time.Minute) // a guard against hanging, not a timing assertion
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(bctx, opts...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(alloc)
	defer cancelTab()
	open := func(page, wantURL string) {
		t.Helper()
		var err error
		for range 3 { // a fresh Chromium may see its network change under the first load
			if err = chromedp.Do(tab, chromedp.Navigate(page)); err == nil || !strings.Contains(err.Error(), "ERR_NETWORK_CHANGED") {
				break
			}
		}
		if err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		connected := `document.getElementById("status").textContent.startsWith("connected to ")`
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](connected)); err != nil {
			status, _ := chromedp.Run(tab, chromedp.Text(chromedp.ID("status")))
			t.Fatalf("%s never connected (status %q): %v", page, status, err)
		}
		status, err := chromedp.Run(tab, chromedp.Text(chromedp.ID("status")))
		if err != nil || status != "connected to "+wantURL {
			t.Fatalf("%s: status %q (%v), want connected to %s", page, status, err, wantURL)
		}
	}
	// A ten-character first label that is not an execute-api host: path-based.
	open("http://chatserver.localhost:"+port+"/"+pageID+"/dev/", "ws://chatserver.localhost:"+port+"/"+wsID+"/dev")
	// wsUrl names the WebSocket API's URL on another host.
	wsURL := "ws://127.0.0.1:" + port + "/" + wsID + "/dev"
	if _, err := c.Do(ctx, http.MethodPatch, "/portico/v1/apis/"+pageID+"/stages/dev/variables", nil,
		map[string]any{"set": map[string]string{"wsUrl": wsURL}}, nil); err != nil {
		t.Fatal(err)
	}
	open("http://localhost:"+port+"/"+pageID+"/dev/", wsURL)

	// Another member sends messages shaped as the gateway's error frames.
	peer, resp, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	defer peer.Close()
	for _, data := range []string{
		`{"message": "Forbidden", "connectionId": "abc", "requestId": "def"}`,
		`"{\"message\": \"you are banned\", \"connectionId\": \"abc\", \"requestId\": \"def\"}"`,
		`"last"`,
	} {
		if err := peer.WriteMessage(websocket.TextMessage, []byte(`{"action":"sendmessage","data":`+data+`}`)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](`document.getElementById("log").textContent.includes("last")`)); err != nil {
		t.Fatalf("the page never showed the peer's messages: %v", err)
	}
	// The gateway's own error frame, as the admin API sends it to the page's
	// connection (the one that is not the peer's).
	resp2, err := c.Do(ctx, http.MethodGet, "/portico/v1/apis/"+wsID+"/stages/dev/connections", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []struct{ ConnectionID, UserAgent string }
	}
	if err := json.Unmarshal(resp2.Body, &list); err != nil {
		t.Fatal(err)
	}
	for _, conn := range list.Items {
		if strings.Contains(conn.UserAgent, "Chrome") {
			frame := `{"message": "Internal server error", "connectionId":"` + conn.ConnectionID + `", "requestId":"r1"}`
			if _, err := c.Do(ctx, http.MethodPost, "/portico/v1/apis/"+wsID+"/stages/dev/connections/"+conn.ConnectionID, nil, json.RawMessage(frame), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](`document.querySelectorAll("#log .sys").length > 0`)); err != nil {
		t.Fatalf("the gateway's error frame was never shown as a notice: %v", err)
	}
	notices, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#log .sys")].map(p => p.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(notices) != 1 || notices[0] != "(Internal server error)" {
		t.Fatalf("notices %q, want only the gateway's (Internal server error)", notices)
	}
}

// TestChatPageTokenInChromium: with CHAT_TOKEN set on chat-connect, the chat
// page joins the room with the token given in its URL (?token=, or #token=,
// which no server sees) or typed into its token field, saying when it is
// refused; it never joined, as it sent no token.
func TestChatPageTokenInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	browser := apptest.Browser(t)
	var gw *gateway.Server
	env := apptest.Start(t, apptest.Options{Runtime: "process", DataDir: t.TempDir(), Populate: []any{&gw}})
	c := env.Client()
	ctx := context.Background()
	_, pageID := deployChatPage(t, c)
	if _, _, err := c.UpdateFunctionConfiguration(ctx, "chat-connect", map[string]any{"Environment": map[string]any{"Variables": map[string]string{"CHAT_TOKEN": chatToken}}}); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(gw.Addr())
	page := "http://localhost:" + port + "/" + pageID + "/dev/"

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()))
	bctx, cancel := context.WithTimeout(ctx, 3*time.Minute) // a guard against hanging, not a timing assertion
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(bctx, opts...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(alloc)
	defer cancelTab()
	open := func(url string) {
		t.Helper()
		var err error
		for range 3 { // a fresh Chromium may see its network change under the first load
			if err = chromedp.Do(tab, chromedp.Navigate(url)); err == nil || !strings.Contains(err.Error(), "ERR_NETWORK_CHANGED") {
				break
			}
		}
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
	}
	waitStatus := func(what, js string) {
		t.Helper()
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](js)); err != nil {
			status, _ := chromedp.Run(tab, chromedp.Text(chromedp.ID("status")))
			t.Fatalf("%s: status %q: %v", what, status, err)
		}
	}
	connected := `document.getElementById("status").textContent.startsWith("connected to ")`
	refused := `document.getElementById("status").textContent.includes("token")`

	for _, u := range []string{page + "?token=" + chatToken, page + "#token=" + chatToken} {
		open(u)
		waitStatus(u, connected)
		// The token leaves the address bar (it stays in the field).
		if href, err := chromedp.Run(tab, chromedp.Evaluate[string](`location.href`)); err != nil || strings.Contains(href, chatToken) {
			t.Errorf("%s: location %q (%v), want the token out of it", u, href, err)
		}
	}

	// Without a token the room refuses the page, which says so; the token
	// typed into its field joins.
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`sessionStorage.clear(), true`)); err != nil {
		t.Fatal(err)
	}
	open(page)
	waitStatus("no token", refused)
	if err := chromedp.Do(tab,
		chromedp.SetValue(chromedp.ID("token"), chatToken),
		chromedp.Click(chromedp.ID("join")),
	); err != nil {
		t.Fatal(err)
	}
	waitStatus("the token typed", connected)

	// A wrong token in the URL is refused, saying so.
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`sessionStorage.clear(), true`)); err != nil {
		t.Fatal(err)
	}
	open(page + "?token=wrong")
	waitStatus("a wrong token", refused)
}
