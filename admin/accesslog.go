package admin

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/gateway/accesslog"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
)

// registerAccessLogRoutes adds Portico's access-log routes of a stage:
//
//	PUT    /portico/v1/apis/{api}/stages/{stage}/access-log  {"format": "...", "destinationArn": "..."}
//	DELETE /portico/v1/apis/{api}/stages/{stage}/access-log
//	POST   /portico/v1/access-log/check                      {"destinationArn": "..."}
//
// The format may be one of the presets by name (clf, json, xml, csv). The
// check changes nothing: it answers whether a stage could log to the
// destination (portico deploy asks it before anything changes).
func (s *Server) registerAccessLogRoutes() {
	p := "/portico/v1/apis/{api}/stages/{stage}/access-log"
	s.handleAPIs("PUT "+p, s.putAccessLog)
	s.handleAPIs("DELETE "+p, s.deleteAccessLog)
	s.handleAPIs("POST /portico/v1/access-log/check", s.checkAccessLog)
}

// checkAccessLog answers whether destinationArn is a destination a stage's
// access log may have here (the form, the allowed directories, not a
// function's log file): 200 with it, or 400 saying why not.
func (s *Server) checkAccessLog(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		DestinationARN string `json:"destinationArn"`
	}
	if err := decodeJSON(w, r, porticoBody, &in); err != nil {
		return err
	}
	if in.DestinationARN == "" {
		return fmt.Errorf("destinationArn is required: %w", errdefs.ErrInvalid)
	}
	if _, err := accesslog.ParseDestination(in.DestinationARN); err != nil {
		return fmt.Errorf("%w: %w", err, errdefs.ErrInvalid)
	}
	if err := s.checkAccessLogDestination(in.DestinationARN); err != nil {
		return fmt.Errorf("%w: %w", err, errdefs.ErrInvalid)
	}
	return writeJSON(w, http.StatusOK, map[string]string{"destinationArn": in.DestinationARN})
}

func (s *Server) putAccessLog(w http.ResponseWriter, r *http.Request) error {
	var in apis.AccessLogSettings
	if err := decodeJSON(w, r, porticoBody, &in); err != nil {
		return err
	}
	if preset, ok := accesslog.Presets[strings.ToLower(in.Format)]; ok {
		in.Format = preset
	}
	a, err := s.gw.APIs.Get(r.Context(), r.PathValue("api"))
	if err != nil {
		return err
	}
	// The stage is looked for first, as API Gateway checks the resource
	// before the settings: a missing stage is 404 whatever the settings.
	if _, err := s.gw.APIs.GetStage(r.Context(), r.PathValue("api"), r.PathValue("stage")); err != nil {
		return err
	}
	if _, err := accesslog.CheckFormat(a.Protocol, in.Format); err != nil {
		return fmt.Errorf("%w: %w", err, errdefs.ErrInvalid)
	}
	if err := s.checkAccessLogDestination(in.DestinationARN); err != nil {
		return fmt.Errorf("%w: %w", err, errdefs.ErrInvalid)
	}
	st, err := s.gw.APIs.SetAccessLogSettings(r.Context(), r.PathValue("api"), r.PathValue("stage"), &in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.view(r.Context(), st))
}

func (s *Server) deleteAccessLog(w http.ResponseWriter, r *http.Request) error {
	st, err := s.gw.APIs.SetAccessLogSettings(r.Context(), r.PathValue("api"), r.PathValue("stage"), nil)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.view(r.Context(), st))
}
