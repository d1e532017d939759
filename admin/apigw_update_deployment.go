package admin

import (
	"net/http"

	"github.com/portico-dev/portico/gateway/apis"
)

// This file holds API Gateway's (v1) update-deployment: PATCH
// /restapis/{api}/deployments/{dep} with patchOperations; the description is
// the only field a deployment lets change ("replace /description"), as AWS.

func (s *Server) registerUpdateDeploymentRoute() {
	s.HandleAPIGateway("PATCH /restapis/{api}/deployments/{dep}", s.apigwUpdateDeployment)
}

func (s *Server) apigwUpdateDeployment(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("api")
	if _, err := s.restAPI(r.Context(), id); err != nil {
		return err
	}
	ops, err := decodePatch(w, r)
	if err != nil {
		return err
	}
	var desc *string
	for _, op := range ops {
		if op.Op != "replace" || op.Path != "/description" {
			return BadPatchPath(op)
		}
		d := op.DescriptionValue()
		desc = &d
	}
	var d *apis.Deployment
	if desc == nil { // nothing to change: the deployment as it is
		d, err = s.gw.APIs.GetDeployment(r.Context(), id, r.PathValue("dep"))
	} else {
		d, err = s.gw.APIs.SetDeploymentDescription(r.Context(), id, r.PathValue("dep"), *desc)
	}
	if err != nil {
		return s.stageErr(r.Context(), id, err, errDeploymentNotFound)
	}
	return writeJSON(w, http.StatusOK, deploymentJSON{ID: d.ID, Description: d.Description, CreatedDate: epoch(d.CreatedAt)})
}
