package gateway

import (
	"context"
	"errors"
	"time"

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
// client's next message. It runs after every change to the API (invalidate),
// off the writer's goroutine.
func (g *Gateway) closeGoneStages(apiID string) {
	if g.ws == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, stage := range g.ws.m.Stages(apiID) {
		if _, _, err := g.apis.Resolve(ctx, apiID, stage); errors.Is(err, errdefs.ErrNotFound) {
			if n := g.ws.m.CloseStage(apiID, stage, stageGoneCode, stageGoneReason); n > 0 {
				g.log.Info("closed the connections of a deleted stage", "api", apiID, "stage", stage, "connections", n)
			}
		}
	}
}
