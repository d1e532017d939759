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

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
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
	c := env.Client()
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
	wsID := create(map[string]any{"name": "chat", "protocol": "WEBSOCKET", "routeSelectionExpression": "$request.body.action",
		"routes": []any{route("$connect", "chat-connect"), route("$disconnect", "chat-disconnect"), route("sendmessage", "chat-sendmessage")}})
	pageID := create(map[string]any{"name": "chat-page", "protocol": "REST",
		"routes": []any{map[string]any{"method": "GET", "path": "/", "integration": map[string]any{"type": "AWS_PROXY", "uri": "function:chat-page"}}}})
	if _, err := c.Do(ctx, http.MethodPatch, "/portico/v1/apis/"+pageID+"/stages/dev/variables", nil,
		map[string]any{"set": map[string]string{"wsApi": wsID, "wsStage": "dev"}}, nil); err != nil {
		t.Fatal(err)
	}

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
