package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/internal/errdefs"
)

// stageGoneReason is the close reason of a connection whose stage (or API) was
// deleted; a connection that sends a message to one learns the same.
const (
	stageGoneCode   = 1001 // websocket.CloseGoingAway
	stageGoneReason = "Stage no longer exists"
)

// closeGoneStages closes the WebSocket connections of apiID whose stage no
// longer resolves (the stage, or the whole API, was deleted): they would
// otherwise stay open, listed and reachable through @connections, until their
// client's next message. Their $disconnect runs on the routes the stage last
// had (ws.routes): for a stage that still has connections those are brought
// up to date here, after every change, so that a redeploy no message has used
// since is the deployment $disconnect runs on. An API that is gone is
// remembered (ws.gone): its @connections URLs answer 410. It runs after every
// change to the API (invalidate), after the commit and before the change is
// acknowledged, so that the routes it keeps are those of that moment; it does
// not wait for the connections to end.
func (g *Gateway) closeGoneStages(apiID string) {
	if g.ws == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := wsDispatcher{g}
	closed := false
	for _, stage := range g.ws.m.Stages(apiID) {
		if _, err := d.Routes(ctx, apiID, stage); !errors.Is(err, errdefs.ErrNotFound) {
			continue
		}
		closed = true
		var last *connections.Routes
		if v, ok := g.ws.routes.Load(apiID + "/" + stage); ok {
			last = v.(*wsRoutes).routes
		}
		if n := g.ws.m.CloseGoneStage(apiID, stage, stageGoneCode, stageGoneReason, last); n > 0 {
			g.log.Info("closed the connections of a deleted stage", "api", apiID, "stage", stage, "connections", n)
		}
	}
	if closed {
		if _, err := g.apis.Get(ctx, apiID); errors.Is(err, errdefs.ErrNotFound) {
			g.ws.gone.Store(apiID, struct{}{})
		}
	}
}

// goneAPI reports whether apiID names a WebSocket API deleted while it had
// connections here (until the server restarts).
func (g *Gateway) goneAPI(apiID string) bool {
	_, ok := g.ws.gone.Load(apiID)
	return ok
}
