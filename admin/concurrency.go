package admin

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
)

type concurrencyDoc struct {
	ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions,omitempty"`
}

type provisionedRequest struct {
	ProvisionedConcurrentExecutions *int `json:"ProvisionedConcurrentExecutions"`
}

// provisionedResponse is Lambda's provisioned-concurrency configuration, as
// Get and Put answer it and, with FunctionArn, as List lists it.
type provisionedResponse struct {
	FunctionArn                              string `json:"FunctionArn,omitempty"`
	RequestedProvisionedConcurrentExecutions int    `json:"RequestedProvisionedConcurrentExecutions"`
	AllocatedProvisionedConcurrentExecutions int    `json:"AllocatedProvisionedConcurrentExecutions"`
	AvailableProvisionedConcurrentExecutions int    `json:"AvailableProvisionedConcurrentExecutions"`
	Status                                   string `json:"Status"`
	StatusReason                             string `json:"StatusReason,omitempty"`
	// LastModified is when the configuration was last put; left out for one
	// stored before Portico kept that time.
	LastModified string `json:"LastModified,omitempty"`
}

func (s *Server) putConcurrency(w http.ResponseWriter, r *http.Request, name string) error {
	var req concurrencyDoc
	if err := decodeJSON(w, r, lambdaConfig, &req); err != nil {
		return err
	}
	if req.ReservedConcurrentExecutions == nil {
		return functions.NullViolation("reservedConcurrentExecutions")
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
	switch n := req.ProvisionedConcurrentExecutions; {
	case n == nil:
		return functions.NullViolation("provisionedConcurrentExecutions")
	case *n < 1:
		return functions.RangeViolation("provisionedConcurrentExecutions", *n, 1, math.MaxInt)
	}
	// A version or alias that does not exist is named with those there are
	// (PutProvisioned checks again in its transaction).
	if _, err := s.resolveConfig(r, ref); err != nil {
		return err
	}
	pc, err := s.fns.PutProvisioned(r.Context(), ref.Name, ref.Qualifier, *req.ProvisionedConcurrentExecutions)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, s.provisionedDoc(r.Context(), *pc))
}

// provisionedDoc is Lambda's view of a provisioned-concurrency setting: the
// sandboxes the invoker has started for it past their init are allocated (and
// available), and Status is IN_PROGRESS until all it requested are, READY
// then, and FAILED, with the init's failure as StatusReason, while they fail.
func (s *Server) provisionedDoc(ctx context.Context, pc functions.ProvisionedConfig) provisionedResponse {
	n := pc.Requested
	doc := provisionedResponse{
		RequestedProvisionedConcurrentExecutions: n,
		AllocatedProvisionedConcurrentExecutions: n,
		AvailableProvisionedConcurrentExecutions: n,
		Status:                                   "READY",
	}
	if s.inv != nil {
		st, err := s.inv.ProvisionedStatus(ctx, pc)
		switch {
		case err != nil:
			doc.Status, doc.StatusReason = "FAILED", "Portico cannot resolve the qualifier: "+err.Error()
		case st.Allocated < n && st.Failure != "":
			doc.Status, doc.StatusReason = "FAILED", "FUNCTION_ERROR_INIT_FAILURE: provisioned sandboxes fail their init ("+st.Failure+"); fix the function's init, or delete this configuration"
		case st.Allocated < n:
			doc.Status = "IN_PROGRESS"
		}
		doc.AllocatedProvisionedConcurrentExecutions = st.Allocated
		doc.AvailableProvisionedConcurrentExecutions = st.Allocated
	}
	if !pc.LastModified.IsZero() {
		doc.LastModified = pc.LastModified.UTC().Format(lambdaTime)
	}
	return doc
}

// getOrListProvisioned serves GET .../provisioned-concurrency, which is two
// operations: ListProvisionedConcurrencyConfigs (?List=ALL, no qualifier) and
// GetProvisionedConcurrencyConfig (?Qualifier=).
func (s *Server) getOrListProvisioned(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Query().Has("List") {
		return byName(s.listProvisioned)(w, r)
	}
	return byProvisioned(s.getProvisioned)(w, r)
}

// listProvisioned lists the function's provisioned-concurrency configurations,
// one per version or alias, in qualifier order, paged by Marker and MaxItems.
func (s *Server) listProvisioned(w http.ResponseWriter, r *http.Request, name string) error {
	if v := r.URL.Query().Get("List"); v != "ALL" {
		return invalid("List %q is not valid: the only value is ALL", v)
	}
	if _, err := s.fns.Get(r.Context(), name, functions.Latest); err != nil {
		return err
	}
	all, err := s.fns.ListProvisioned(r.Context())
	if err != nil {
		return err
	}
	mine := slices.DeleteFunc(all, func(pc functions.ProvisionedConfig) bool { return pc.FunctionName != name })
	return writePage(w, r, "ProvisionedConcurrencyConfigs", name, lambdaMaxItemsSmall, 0, mine, func(pc functions.ProvisionedConfig) sortKey { return sortKey{pc.Qualifier} },
		func(pc functions.ProvisionedConfig) provisionedResponse {
			doc := s.provisionedDoc(r.Context(), pc)
			doc.FunctionArn = functions.ARN(pc.FunctionName, pc.Qualifier)
			return doc
		})
}

// getProvisioned serves GetProvisionedConcurrencyConfig. A version or alias
// that does not exist is "Function not found" (ResourceNotFoundException,
// naming those there are), as on Lambda and as Delete answers; only one that
// exists may have "No Provisioned Concurrency Config".
func (s *Server) getProvisioned(w http.ResponseWriter, r *http.Request, ref functions.Ref) error {
	if _, err := s.resolveConfig(r, ref); err != nil {
		return err
	}
	pc, err := s.findProvisioned(r, ref, "ProvisionedConcurrencyConfigNotFoundException")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.provisionedDoc(r.Context(), pc))
}

// findProvisioned returns the provisioned-concurrency configuration of ref's
// version or alias, or a 404 of type notFound naming it when there is none.
func (s *Server) findProvisioned(r *http.Request, ref functions.Ref, notFound string) (functions.ProvisionedConfig, error) {
	list, err := s.fns.ListProvisioned(r.Context())
	if err != nil {
		return functions.ProvisionedConfig{}, err
	}
	for _, pc := range list {
		if pc.FunctionName == ref.Name && pc.Qualifier == ref.Qualifier {
			return pc, nil
		}
	}
	return functions.ProvisionedConfig{}, errdefs.New(errdefs.ErrNotFound, notFound,
		fmt.Sprintf("No Provisioned Concurrency Config found for this function: %s", functions.ARN(ref.Name, ref.Qualifier)))
}

// deleteProvisioned removes the configuration of a version or alias. A
// version or alias that does not exist, or has no configuration, is 404
// ResourceNotFoundException, the one not-found type Lambda's
// DeleteProvisionedConcurrencyConfig has, with GET's message.
func (s *Server) deleteProvisioned(w http.ResponseWriter, r *http.Request, ref functions.Ref) error {
	if _, err := s.resolveConfig(r, ref); err != nil {
		return err
	}
	if _, err := s.findProvisioned(r, ref, "ResourceNotFoundException"); err != nil {
		return err
	}
	_, err := s.fns.PutProvisioned(r.Context(), ref.Name, ref.Qualifier, 0)
	return noContent(w, err)
}
