package deploy

import (
	"slices"
	"strings"
	"testing"
)

// TestWebSocketKeySourceChangedOnServer: a WebSocket API whose key source on
// the server is not the template's (a deploy from before the source was sent
// made it with the header's; or a change by hand) is updated by the next
// deploy, whose plan says why, although the record's fingerprint matches the
// template; the header's source held as HEADER or as none is the same.
// (The audit's authz11 1: the plan called it unchanged.)
func TestWebSocketKeySourceChangedOnServer(t *testing.T) {
	chat := func(p *Plan) *Change {
		i := slices.IndexFunc(p.Changes, func(c *Change) bool { return c.LogicalID == "Chat" })
		if i < 0 {
			t.Fatalf("the plan has no change of Chat: %+v", p.Changes)
		}
		return p.Changes[i]
	}
	dir := fixture(t)
	f := newFake()
	text := strings.Replace(wsKeyed(t), "$request.header.x-api-key", "$context.authorizer.usageIdentifierKey", 1)
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	id := f.stacks["s"].Resources["Chat"].PhysicalID
	f.apis[id].keySource = ""
	p, err := deployText(t, f, dir, "s", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := chat(p)
	want := "set the API's key selection expression to $context.authorizer.usageIdentifierKey (the server has $request.header.x-api-key)"
	if c.Action != Update || !slices.Contains(c.Steps, want) {
		t.Fatalf("plan for Chat: %s %q, want an update with %q", c.Action, c.Steps, want)
	}
	if got := f.apis[id].keySource; got != "AUTHORIZER" {
		t.Fatalf("key source after the redeploy %q, want AUTHORIZER", got)
	}
	if p, err = deployText(t, f, dir, "s", text, nil); err != nil || chat(p).Action != Keep {
		t.Fatalf("a third deploy: %v %v, want Chat unchanged", p, err)
	}

	// The header's source: HEADER on the server is the template's default.
	if _, err := deployText(t, f, dir, "h", wsKeyed(t), nil); err != nil {
		t.Fatal(err)
	}
	hid := f.stacks["h"].Resources["Chat"].PhysicalID
	f.apis[hid].keySource = "HEADER"
	if p, err = deployText(t, f, dir, "h", wsKeyed(t), nil); err != nil || chat(p).Action != Keep {
		t.Fatalf("HEADER on the server, the header's expression in the template: %v %v, want Chat unchanged", p, err)
	}
	f.apis[hid].keySource = "AUTHORIZER"
	if p, err = deployText(t, f, dir, "h", wsKeyed(t), nil); err != nil || chat(p).Action != Update {
		t.Fatalf("AUTHORIZER on the server, the header's expression in the template: %v %v, want Chat updated", p, err)
	}
	if got := f.apis[hid].keySource; got != "" {
		t.Fatalf("key source after the redeploy %q, want the header's", got)
	}
}
