package admin

import (
	"net/http"

	"github.com/portico-dev/portico/functions"
)

// addPermissionRequest is Lambda's AddPermission body.
type addPermissionRequest struct {
	StatementID           string `json:"StatementId"`
	Action                string `json:"Action"`
	Principal             string `json:"Principal"`
	SourceArn             string `json:"SourceArn"`
	SourceAccount         string `json:"SourceAccount"`
	EventSourceToken      string `json:"EventSourceToken"`
	PrincipalOrgID        string `json:"PrincipalOrgID"`
	FunctionURLAuthType   string `json:"FunctionUrlAuthType"`
	InvokedViaFunctionURL bool   `json:"InvokedViaFunctionUrl"`
	RevisionID            string `json:"RevisionId"`
}

// addPermission is AddPermission: POST /2015-03-31/functions/{name}/policy,
// 201 {"Statement": "<the statement, as a JSON string>"}.
func (s *Server) addPermission(w http.ResponseWriter, r *http.Request, ref functions.Ref) error {
	var req addPermissionRequest
	if err := decodeJSON(w, r, lambdaConfig, &req); err != nil {
		return err
	}
	st, err := s.fns.AddPermission(r.Context(), ref.Name, ref.Qualifier, functions.Permission{
		StatementID: req.StatementID, Action: req.Action, Principal: req.Principal,
		SourceArn: req.SourceArn, SourceAccount: req.SourceAccount, EventSourceToken: req.EventSourceToken,
		PrincipalOrgID: req.PrincipalOrgID, FunctionURLAuthType: req.FunctionURLAuthType,
		InvokedViaFunctionURL: req.InvokedViaFunctionURL,
	}, req.RevisionID)
	return reply(w, http.StatusCreated, map[string]string{"Statement": string(st)}, err)
}

// getPolicy is GetPolicy: GET /2015-03-31/functions/{name}/policy,
// 200 {"Policy": "<the document, as a JSON string>", "RevisionId": ...}.
func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request, ref functions.Ref) error {
	doc, rev, err := s.fns.GetPolicy(r.Context(), ref.Name, ref.Qualifier)
	return reply(w, http.StatusOK, map[string]string{"Policy": string(doc), "RevisionId": rev}, err)
}

// removePermission is RemovePermission:
// DELETE /2015-03-31/functions/{name}/policy/{sid}?Qualifier=&RevisionId=, 204.
func (s *Server) removePermission(w http.ResponseWriter, r *http.Request, ref functions.Ref) error {
	return noContent(w, s.fns.RemovePermission(r.Context(), ref.Name, ref.Qualifier, r.PathValue("sid"), r.URL.Query().Get("RevisionId")))
}
