package admin

import (
	"fmt"
	"net/http"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
)

// accountLimit is Lambda's AccountLimit, as GetAccountSettings answers it.
type accountLimit struct {
	ConcurrentExecutions           int   `json:"ConcurrentExecutions"`
	UnreservedConcurrentExecutions int   `json:"UnreservedConcurrentExecutions"`
	CodeSizeUnzipped               int64 `json:"CodeSizeUnzipped"`
	CodeSizeZipped                 int64 `json:"CodeSizeZipped"`
	TotalCodeSize                  int64 `json:"TotalCodeSize"`
}

// accountUsage is Lambda's AccountUsage.
type accountUsage struct {
	FunctionCount int   `json:"FunctionCount"`
	TotalCodeSize int64 `json:"TotalCodeSize"`
}

type accountSettings struct {
	AccountLimit accountLimit `json:"AccountLimit"`
	AccountUsage accountUsage `json:"AccountUsage"`
}

// lambdaTotalCodeSize is Lambda's default TotalCodeSize limit (75 GB).
// Portico sets no limit on stored code; it reports Lambda's, which tools
// that compare usage with the limit expect to find.
const lambdaTotalCodeSize = 75 << 30

// getAccountSettings answers GetAccountSettings with what Portico knows: the
// invoker's account concurrency, less the functions' reservations, the code
// size limits, and the functions and code stored.
func (s *Server) getAccountSettings(w http.ResponseWriter, r *http.Request) error {
	u, err := s.fns.Usage(r.Context())
	if err != nil {
		return err
	}
	limit := s.inv.Slots().Limit
	return writeJSON(w, http.StatusOK, accountSettings{
		AccountLimit: accountLimit{
			ConcurrentExecutions:           limit,
			UnreservedConcurrentExecutions: max(0, limit-u.Reserved),
			CodeSizeUnzipped:               functions.MaxUnzippedSize,
			CodeSizeZipped:                 functions.MaxZipSize,
			TotalCodeSize:                  lambdaTotalCodeSize,
		},
		AccountUsage: accountUsage{FunctionCount: u.Functions, TotalCodeSize: u.CodeSize},
	})
}

// lambdaPrefixes are the API versions Lambda's operations are under (those the
// SDK for Go v2 knows), implemented by Portico or not: requests under them
// are signed for service "lambda" and answered in Lambda's error shape.
var lambdaPrefixes = []string{
	"/2014-11-13/", "/2015-03-31/", "/2016-08-19/", "/2017-03-31/", "/2017-10-31/", "/2018-10-31/",
	"/2019-09-25/", "/2019-09-30/", "/2020-04-22/", "/2020-06-30/", "/2021-07-20/", "/2021-10-31/",
	"/2021-11-15/", "/2024-08-31/", "/2025-11-30/", "/2025-12-01/", "/2026-07-09/",
}

// unknownLambdaOperation answers a path under a Lambda API version that no
// route serves (an operation Portico does not implement, or a method the
// resource lacks) in Lambda's error shape, as the SDKs and CLI can read it,
// instead of ServeMux's plain-text 404 or 405.
func (s *Server) unknownLambdaOperation(_ http.ResponseWriter, r *http.Request) error {
	return errdefs.New(errdefs.ErrNotFound, "UnknownOperationException",
		fmt.Sprintf("Portico does not implement the Lambda operation at %s %s", r.Method, r.URL.Path))
}
