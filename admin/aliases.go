package admin

import (
	"net/http"
	"slices"

	"github.com/portico-dev/portico/aliases"
	"github.com/portico-dev/portico/functions"
)

type aliasRequest struct {
	Name            string                 `json:"Name"`
	FunctionVersion string                 `json:"FunctionVersion"`
	Description     *string                `json:"Description"`
	RoutingConfig   *aliases.RoutingConfig `json:"RoutingConfig"`
	RevisionID      string                 `json:"RevisionId"`
}

// aliasDoc fills in the alias's ARN.
func aliasDoc(fn string, a *aliases.Alias) *aliases.Alias {
	if a.AliasArn == "" {
		a.AliasArn = functions.ARN(fn, a.Name)
	}
	return a
}

// alias answers a with status, or err.
func alias(w http.ResponseWriter, status int, fn string, a *aliases.Alias, err error) error {
	if err != nil {
		return err
	}
	return writeJSON(w, status, aliasDoc(fn, a))
}

func (s *Server) createAlias(w http.ResponseWriter, r *http.Request, name string) error {
	var req aliasRequest
	if err := decodeJSON(w, r, lambdaConfig, &req); err != nil {
		return err
	}
	if err := functions.CheckAliasName(req.Name); err != nil {
		return err
	}
	if req.FunctionVersion == "" {
		return functions.NullViolation("functionVersion") // required in Lambda's model
	}
	a, err := s.aliases.Create(r.Context(), name, aliases.Input{
		Name: req.Name, FunctionVersion: req.FunctionVersion, Description: req.Description, RoutingConfig: req.RoutingConfig,
	})
	return alias(w, http.StatusCreated, name, a, err)
}

func (s *Server) listAliases(w http.ResponseWriter, r *http.Request, name string) error {
	version := r.URL.Query().Get("FunctionVersion")
	if version != "" && version != functions.Latest && !(functions.Ref{Qualifier: version}).IsVersion() {
		return invalid("FunctionVersion %q is not a version", version)
	}
	// The function must exist, even when it has no aliases.
	if _, err := s.fns.Get(r.Context(), name, functions.Latest); err != nil {
		return err
	}
	// As Lambda filters: the aliases whose FunctionVersion is version, not
	// those that only route weighted traffic to it (aliases.Service.List
	// counts those too, for the invoker's use of versions).
	list, err := s.aliases.List(r.Context(), name, "")
	if err != nil {
		return err
	}
	if version != "" {
		list = slices.DeleteFunc(list, func(a *aliases.Alias) bool { return a.FunctionVersion != version })
	}
	return writePage(w, r, "Aliases", name, lambdaMaxItems, 0, list, func(a *aliases.Alias) sortKey { return sortKey{a.Name} },
		func(a *aliases.Alias) *aliases.Alias { return aliasDoc(name, a) })
}

func (s *Server) getAlias(w http.ResponseWriter, r *http.Request, name, aliasName string) error {
	a, err := s.aliases.Get(r.Context(), name, aliasName)
	return alias(w, http.StatusOK, name, a, err)
}

func (s *Server) updateAlias(w http.ResponseWriter, r *http.Request, name, aliasName string) error {
	var req aliasRequest
	if err := decodeJSON(w, r, lambdaConfig, &req); err != nil {
		return err
	}
	a, err := s.aliases.Update(r.Context(), name, aliases.Input{
		Name: aliasName, FunctionVersion: req.FunctionVersion, Description: req.Description,
		RoutingConfig: req.RoutingConfig, RevisionID: req.RevisionID,
	})
	return alias(w, http.StatusOK, name, a, err)
}

func (s *Server) deleteAlias(w http.ResponseWriter, r *http.Request, name, aliasName string) error {
	return noContent(w, s.aliases.Delete(r.Context(), name, aliasName))
}
