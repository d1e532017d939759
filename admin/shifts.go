package admin

import (
	"net/http"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/shifts"
)

// ShiftDeps are the services behind the traffic shift routes.
type ShiftDeps struct {
	fx.In

	Shifts *shifts.Service `optional:"true"`
	// Sandboxes verify the credentials a hook's sandbox signs its
	// PutLifecycleEventHookExecutionStatus with (connections.Manager).
	Sandboxes SandboxCredentials `optional:"true"`
}

// shiftRequest starts a traffic shift.
type shiftRequest struct {
	ToVersion      string       `json:"ToVersion"`
	DeploymentType string       `json:"DeploymentType"`
	Hooks          shifts.Hooks `json:"Hooks"`
}

// registerShiftRoutes registers POST (start), GET (status) and DELETE (stop,
// rolling back) of /portico/v1/functions/{name}/aliases/{alias}/shift.
func (s *Server) registerShiftRoutes(d ShiftDeps) {
	s.shifts, s.sandboxes = d.Shifts, d.Sandboxes
	if d.Shifts == nil {
		return
	}
	const p = "/portico/v1/functions/{name}/aliases/{alias}/shift"
	svc := d.Shifts
	s.Handle("POST "+p, byAlias(func(w http.ResponseWriter, r *http.Request, name, alias string) error {
		var req shiftRequest
		if err := decodeJSON(w, r, porticoBody, &req); err != nil {
			return err
		}
		if req.ToVersion == "" {
			return invalid("ToVersion is required")
		}
		if req.DeploymentType == "" {
			return invalid("DeploymentType is required: one of %v", shifts.TypeNames())
		}
		sh, err := svc.Start(r.Context(), shifts.StartInput{FunctionName: name, Alias: alias, ToVersion: req.ToVersion, Type: req.DeploymentType, Hooks: req.Hooks})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, sh)
	}))
	s.Handle("GET "+p, byAlias(func(w http.ResponseWriter, r *http.Request, name, alias string) error {
		sh, err := svc.Get(r.Context(), name, alias)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, sh)
	}))
	s.Handle("DELETE "+p, byAlias(func(w http.ResponseWriter, r *http.Request, name, alias string) error {
		sh, err := svc.Stop(r.Context(), name, alias)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, sh)
	}))
}
