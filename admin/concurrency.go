package admin

import (
	"fmt"
	"net/http"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
)

type concurrencyDoc struct {
	ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions,omitempty"`
}

type provisionedRequest struct {
	ProvisionedConcurrentExecutions *int `json:"ProvisionedConcurrentExecutions"`
}

type provisionedResponse struct {
	RequestedProvisionedConcurrentExecutions int    `json:"RequestedProvisionedConcurrentExecutions"`
	AllocatedProvisionedConcurrentExecutions int    `json:"AllocatedProvisionedConcurrentExecutions"`
	AvailableProvisionedConcurrentExecutions int    `json:"AvailableProvisionedConcurrentExecutions"`
	Status                                   string `json:"Status"`
	LastModified                             string `json:"LastModified"`
}

func (s *Server) putConcurrency(w http.ResponseWriter, r *http.Request, name string) error {
	var req concurrencyDoc
	if err := decodeJSON(w, r, lambdaConfig, &req); err != nil {
		return err
	}
	if req.ReservedConcurrentExecutions == nil || *req.ReservedConcurrentExecutions < 0 {
		return invalid("ReservedConcurrentExecutions is required and must be >= 0")
	}
	return reply(w, http.StatusOK, req, s.fns.SetReservedConcurrency(r.Context(), name, req.ReservedConcurrentExecutions))
}

func (s *Server) getConcurrency(w http.ResponseWriter, r *http.Request, name string) error {
	c, err := s.fns.Get(r.Context(), name, functions.Latest)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, concurrencyDoc{ReservedConcurrentExecutions: c.ReservedConcurrency})
}

func (s *Server) deleteConcurrency(w http.ResponseWriter, r *http.Request, name string) error {
	return noContent(w, s.fns.SetReservedConcurrency(r.Context(), name, nil))
}

// byProvisioned adapts a handler of the function name and the required
// ?Qualifier, which must be a published version or an alias.
func byProvisioned(h func(w http.ResponseWriter, r *http.Request, ref functions.Ref) error) HandlerFunc {
	return byRef(func(w http.ResponseWriter, r *http.Request, ref functions.Ref) error {
		if ref.Qualifier == "" {
			return invalid("Qualifier is required: a published version or an alias")
		}
		if ref.Qualifier == functions.Latest {
			return invalid("Provisioned Concurrency Configs cannot be applied to unpublished function versions ($LATEST)")
		}
		return h(w, r, ref)
	})
}

func (s *Server) putProvisioned(w http.ResponseWriter, r *http.Request, ref functions.Ref) error {
	var req provisionedRequest
	if err := decodeJSON(w, r, lambdaConfig, &req); err != nil {
		return err
	}
	if req.ProvisionedConcurrentExecutions == nil || *req.ProvisionedConcurrentExecutions < 1 {
		return invalid("ProvisionedConcurrentExecutions is required and must be >= 1")
	}
	pc, err := s.fns.PutProvisioned(r.Context(), ref.Name, ref.Qualifier, *req.ProvisionedConcurrentExecutions)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, provisionedDoc(pc.Requested))
}

func provisionedDoc(n int) provisionedResponse {
	// The invoker starts provisioned sandboxes in the background; Portico does not
	// track their progress through this API, so it reports the request as allocated.
	return provisionedResponse{
		RequestedProvisionedConcurrentExecutions: n,
		AllocatedProvisionedConcurrentExecutions: n,
		AvailableProvisionedConcurrentExecutions: n,
		Status:                                   "READY",
		LastModified:                             time.Now().UTC().Format(lambdaTime),
	}
}

func (s *Server) getProvisioned(w http.ResponseWriter, r *http.Request, ref functions.Ref) error {
	if _, err := s.fns.Get(r.Context(), ref.Name, functions.Latest); err != nil {
		return err
	}
	list, err := s.fns.ListProvisioned(r.Context())
	if err != nil {
		return err
	}
	for _, pc := range list {
		if pc.FunctionName == ref.Name && pc.Qualifier == ref.Qualifier {
			return writeJSON(w, http.StatusOK, provisionedDoc(pc.Requested))
		}
	}
	return errdefs.New(errdefs.ErrNotFound, "ProvisionedConcurrencyConfigNotFoundException",
		fmt.Sprintf("No Provisioned Concurrency Config found for this function: %s", functions.ARN(ref.Name, ref.Qualifier)))
}

func (s *Server) deleteProvisioned(w http.ResponseWriter, r *http.Request, ref functions.Ref) error {
	_, err := s.fns.PutProvisioned(r.Context(), ref.Name, ref.Qualifier, 0)
	return noContent(w, err)
}
