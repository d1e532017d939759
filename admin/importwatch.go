package admin

import (
	"context"
	"net/http"

	"github.com/portico-dev/portico/internal/h1"
)

// watchImport makes r's context end once its client goes away, for the rest
// of an import (the admin server does not read in the background, so nothing
// else notices a closed connection): openapi.Import stops, and
// importMayCommit refuses the store write. Call it once the request body is
// read to its end; the returned stop must run before the handler returns.
func watchImport(w http.ResponseWriter) (stop func()) {
	return h1.CancelOnGone(w)
}

// importMayCommit returns r's context's error when the client that sent an
// import went away: the import is abandoned before the write that would
// create or replace the API, so a client that gave up (Ctrl-C) finds nothing
// done and may try again without a duplicate. The store checks the context
// too, as the write begins.
func (s *Server) importMayCommit(r *http.Request) error {
	if s.beforeImportCommit != nil {
		s.beforeImportCommit(r.Context())
	}
	return context.Cause(r.Context())
}
