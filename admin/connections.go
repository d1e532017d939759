package admin

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/internal/errdefs"
)

// ConnectionDeps are what the connection routes need: the registry of live
// WebSocket connections. Optional; without it the routes are not registered.
type ConnectionDeps struct {
	fx.In

	Manager *connections.Manager `optional:"true"`
}

// registerConnectionRoutes registers the routes that list, describe, message and
// close live WebSocket connections:
//
//	GET    /portico/v1/connections[?api=ID&stage=NAME]
//	GET    /portico/v1/apis/{api}/stages/{stage}/connections
//	GET    /portico/v1/apis/{api}/stages/{stage}/connections/{id}
//	POST   /portico/v1/apis/{api}/stages/{stage}/connections/{id}   (body = message)
//	DELETE /portico/v1/apis/{api}/stages/{stage}/connections/{id}
//
// They are the @connections API for operators, behind the admin token instead of
// SigV4.
func (s *Server) registerConnectionRoutes(d ConnectionDeps) {
	m := d.Manager
	if m == nil {
		return
	}
	list := func(w http.ResponseWriter, r *http.Request) error {
		api, stage := r.PathValue("api"), r.PathValue("stage")
		if api == "" {
			api, stage = r.URL.Query().Get("api"), r.URL.Query().Get("stage")
		}
		if err := s.stageExists(r.Context(), api, stage); err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, items(m.List(api, stage)))
	}
	s.Handle("GET /portico/v1/connections", list)
	const p = "/portico/v1/apis/{api}/stages/{stage}/connections"
	s.Handle("GET "+p, list)
	s.Handle("GET "+p+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		info, err := m.Get(r.PathValue("api"), r.PathValue("stage"), r.PathValue("id"))
		return reply(w, http.StatusOK, info, err)
	})
	s.Handle("POST "+p+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		limit := m.Config().MaxMessageBytes
		// Over the limit: refused with the message's size when its
		// Content-Length gives it (before reading it), else as over the
		// limit, not with the size of the part read.
		if r.ContentLength > int64(limit) {
			return messageTooLarge(fmt.Sprintf("message of %d bytes is over the %d-byte limit", r.ContentLength, limit))
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
		if bodyReadAnswered(err) {
			return err
		}
		if err != nil {
			return errdefs.New(errdefs.ErrInvalid, "BadRequestException", "reading the message: "+err.Error())
		}
		if len(body) > limit {
			return messageTooLarge(fmt.Sprintf("message over the %d-byte limit", limit))
		}
		if err := m.Send(r.PathValue("api"), r.PathValue("stage"), r.PathValue("id"), body); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	})
	s.Handle("DELETE "+p+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		return noContent(w, m.Disconnect(r.PathValue("api"), r.PathValue("stage"), r.PathValue("id")))
	})
}

// messageTooLarge is the 413 of a message to a connection over the limit.
func messageTooLarge(msg string) error {
	return &errdefs.Kinded{Kind: errdefs.ErrTooLarge, Type: "PayloadTooLargeException", Message: msg}
}

// stageExists returns the 404 of an API, or a stage of it, that does not
// exist, as GET .../apis/{api}[/stages/{stage}] answers; nil for an empty api
// (every API), or without the APIs service.
func (s *Server) stageExists(ctx context.Context, api, stage string) error {
	if api == "" || s.gw.APIs == nil {
		return nil
	}
	if stage == "" {
		_, err := s.gw.APIs.Get(ctx, api)
		return err
	}
	_, err := s.gw.APIs.GetStage(ctx, api, stage)
	return err
}
