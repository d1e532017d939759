package console_test

import (
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestConsoleConnectionsFocusInChromium: Disconnect, and a Send refused
// because the connection closed since the list loaded, keep the keyboard
// where the user was, as Roll back and Promote do: the list is shown again
// with the focus on the same button of the row now in the place of the one
// that went (the last row's, the list being shorter; the heading once the list
// is empty), not on the document's start, and the live region says what
// happened ("Disconnected connection X.").
func TestConsoleConnectionsFocusInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	wsID, _ := echoConnection(t, env)
	for range 2 {
		conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+wsID+"/dev", nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		t.Cleanup(func() { _ = conn.Close() })
	}
	b := newBrowser(t, browser)
	thrown := exceptions(t, b)
	b.navigate(env.AdminURL + "/console/#/connections")
	b.poll("the three connections", `document.querySelectorAll("#connections tr[data-connection]").length === 3`)
	ids := eval[[]string](b, `[...document.querySelectorAll("#connections tr[data-connection]")].map(r => r.dataset.connection)`)
	focus := func() string {
		return eval[string](b, `(() => { const a = document.activeElement, r = a.closest("tr[data-connection]");
			return a.tagName + (a.className ? "." + a.className : "") + (r ? " " + r.dataset.connection : " " + a.textContent); })()`)
	}
	notice := func() string { return eval[string](b, `document.getElementById("notice").textContent`) }
	press := func(id, cls string) {
		t.Helper()
		// Disconnect asks first: yes.
		eval[bool](b, `(() => { window.confirm = q => { window.asked = q; return true; }; const x = document.querySelector('tr[data-connection="`+id+`"] button.`+cls+`'); x.focus(); x.click(); return true; })()`)
	}

	// Disconnect the middle one: the focus goes to the Disconnect of the
	// row now in its place, the third.
	press(ids[1], "disconnect")
	b.poll("the notice", `document.getElementById("notice").textContent !== ""`)
	if got := eval[string](b, `window.asked || ""`); !strings.HasPrefix(got, "Disconnect connection "+ids[1]+" (") {
		t.Errorf("Disconnect asked %q, want it to ask first", got)
	}
	if got := notice(); got != "Disconnected connection "+ids[1]+"." {
		t.Errorf("after Disconnect the notice reads %q", got)
	}
	if got := focus(); got != "BUTTON.disconnect "+ids[2] {
		t.Errorf("after Disconnect the focus is on %q, want the Disconnect of %s", got, ids[2])
	}
	if n := eval[int](b, `document.querySelectorAll("#connections tr[data-connection]").length`); n != 2 {
		t.Errorf("%d rows after Disconnect, want 2", n)
	}

	// The third closes from the CLI; Send on the stale list: the error, the
	// list again, the focus on the Send of the last row (the first).
	if st, body := call(t, env, "DELETE", "/portico/v1/apis/"+wsID+"/stages/dev/connections/"+ids[2], nil); st != 204 && st != 200 {
		t.Fatalf("close the connection: %d %s", st, body)
	}
	press(ids[2], "send")
	b.poll("the error and the notice", `!document.getElementById("error").hidden && document.getElementById("notice").textContent !== ""`)
	if got := notice(); !strings.Contains(got, "Connection "+ids[2]+" is gone") {
		t.Errorf("after a stale Send the notice reads %q", got)
	}
	if got := focus(); got != "BUTTON.send "+ids[0] {
		t.Errorf("after a stale Send the focus is on %q, want the Send of %s", got, ids[0])
	}

	// The last one: the list is empty, the focus on the heading.
	press(ids[0], "disconnect")
	b.poll("the notice", `document.getElementById("notice").textContent.startsWith("Disconnected")`)
	if got := focus(); got != "H1 WebSocket connections" {
		t.Errorf("after the last Disconnect the focus is on %q, want the heading", got)
	}
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}
