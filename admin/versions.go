package admin

import (
	"net/http"

	"github.com/portico-dev/portico/functions"
)

type publishVersionRequest struct {
	Description string `json:"Description"`
	RevisionID  string `json:"RevisionId"`
	CodeSha256  string `json:"CodeSha256"`
}

func (s *Server) publishVersion(w http.ResponseWriter, r *http.Request, name string) error {
	var req publishVersionRequest
	if err := decodeJSON(w, r, lambdaConfig, &req); err != nil {
		return err
	}
	c, err := s.fns.Publish(r.Context(), name, functions.PublishInput{Description: req.Description, RevisionID: req.RevisionID, CodeSha256: req.CodeSha256})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toConfiguration(c, c.Version))
}

func (s *Server) listVersions(w http.ResponseWriter, r *http.Request, name string) error {
	versions, err := s.fns.ListVersions(r.Context(), name)
	if err != nil {
		return err
	}
	return writePage(w, r, "Versions", name, lambdaMaxItems, lambdaPageMost, versions, func(v *functions.Config) sortKey { return sortKey{versionOrder(v.Version)} },
		func(v *functions.Config) functionConfiguration { return toConfiguration(v, v.Version) })
}
