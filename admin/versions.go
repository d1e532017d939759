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
	if req.CodeSha256 != "" {
		cur, err := s.fns.Get(r.Context(), name, functions.Latest)
		if err != nil {
			return err
		}
		if cur.CodeSha256 != req.CodeSha256 {
			return invalid("CodeSha256 (%s) is different from current CodeSha256 in $LATEST (%s). Please try again with the CodeSha256 in $LATEST.", req.CodeSha256, cur.CodeSha256)
		}
	}
	c, err := s.fns.Publish(r.Context(), name, req.Description, req.RevisionID)
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
	return writePage(w, r, "Versions", versions, func(v *functions.Config) functionConfiguration { return toConfiguration(v, v.Version) })
}
