package admin

import "go.uber.org/fx"

// GatewayDeps are the gateway services behind the /portico/v1 API and stage routes.
type GatewayDeps struct {
	fx.In
}

// registerGatewayRoutes registers the routes for APIs, deployments and stages.
func (s *Server) registerGatewayRoutes() {}
