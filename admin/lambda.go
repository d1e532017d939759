package admin

import (
	"github.com/portico-dev/portico/aliases"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/invoker"
)

// lambdaDeps are the services behind the Lambda API routes.
type lambdaDeps struct {
	fns     *functions.Service
	aliases *aliases.Service
	inv     *invoker.Invoker
}

// registerLambdaRoutes registers the Lambda API subset under /2015-03-31.
func (s *Server) registerLambdaRoutes() {}
