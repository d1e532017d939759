package connections_test

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway"
)

// TestChatOverWSS runs the chat sample over wss:// with the development CA of
// `portico tls init`: two clients, a message from one reaching the other through
// the sample's sendmessage function and @connections.
func TestChatOverWSS(t *testing.T) {
	dir := t.TempDir()
	pool := apptest.DevCA(t, dir)
	var gw *gateway.Server
	env := apptest.Start(t, apptest.Options{Runtime: "process", DataDir: dir, Populate: []any{&gw}, Settings: func(s *app.Settings) {
		s.AdminToken = e2eToken
		s.TLSListen = "127.0.0.1:0"
	}})
	a := deployChat(t, env, gw.Addr())
	_, port, _ := net.SplitHostPort(gw.TLSAddr())
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}, HandshakeTimeout: 30 * time.Second}
	url := "wss://localhost:" + port + "/" + a.apiID + "/dev?token=" + chatToken
	dial := func() *websocket.Conn {
		c, resp, err := d.Dial(url, nil)
		if err != nil {
			t.Fatalf("dial %s: %v", url, err)
		}
		_ = resp.Body.Close()
		if !c.UnderlyingConn().(*tls.Conn).ConnectionState().HandshakeComplete {
			t.Fatal("not over TLS")
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	c1, c2 := dial(), dial()
	waitFor(t, "both clients to be members", func() bool { return len(a.members(t)) == 2 })
	if err := c1.WriteMessage(websocket.TextMessage, []byte(`{"action":"sendmessage","data":"over wss"}`)); err != nil {
		t.Fatal(err)
	}
	if got := readMsg(t, c2); got != "over wss" {
		t.Fatalf("c2 got %q", got)
	}
	// A bad token is refused over wss as over ws.
	_, resp, err := d.Dial("wss://localhost:"+port+"/"+a.apiID+"/dev?token=wrong", nil)
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("wrong token over wss: %v", err)
	}
}
