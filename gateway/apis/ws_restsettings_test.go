package apis

import (
	"context"
	"strings"
	"testing"

	"github.com/portico-dev/portico/store"
)

// TestWebSocketBinaryMediaTypes: a WebSocket API is refused binary media
// types on every write (create, Modify: PATCH and PUT on Portico's routes),
// as an HTTP API is: apigatewayv2 has no such field and the gateway never
// applies them to WebSocket messages. One an earlier build stored loads,
// without them (they were never applied), and a later change of something
// else is taken, not refused for them.
func TestWebSocketBinaryMediaTypes(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	ws := func() *API {
		return &API{Name: "chat", Protocol: ProtocolWebSocket, Definition: Definition{RouteSelectionExpression: "$request.body.action"}}
	}
	bad := ws()
	bad.BinaryMediaTypes = []string{"image/png"}
	if _, err := s.Create(ctx, bad); err == nil || !strings.Contains(err.Error(), "binaryMediaTypes") {
		t.Errorf("create with binaryMediaTypes: %v", err)
	}
	a := mustCreate(t, s, ws())
	if _, err := s.Modify(ctx, a.ID, func(a *API) error {
		a.BinaryMediaTypes = []string{"*/*"}
		return nil
	}); err == nil || !strings.Contains(err.Error(), "binaryMediaTypes") {
		t.Errorf("modify with binaryMediaTypes: %v", err)
	}

	// As an earlier build stored it.
	a.BinaryMediaTypes = []string{"image/png"}
	if err := s.st.Update(ctx, func(tx *store.Tx) error { return tx.Put(bucketAPIs, a.ID, a) }); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, a.ID)
	if err != nil || len(got.BinaryMediaTypes) > 0 {
		t.Fatalf("Get: %v, %v", got, err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || len(list[0].BinaryMediaTypes) > 0 {
		t.Fatalf("List: %v, %v", list, err)
	}
	if got, err = s.Modify(ctx, a.ID, func(a *API) error {
		a.Description = "renamed"
		return nil
	}); err != nil || len(got.BinaryMediaTypes) > 0 {
		t.Fatalf("a change of the description: %v, %v", got, err)
	}
}
