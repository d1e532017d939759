package admin

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/aliases"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/netaddr"
	"github.com/portico-dev/portico/internal/signin"
	"github.com/portico-dev/portico/invoker"
)

// Params are the admin server's dependencies. Route files add what they need through
// their own parameter objects (GatewayDeps in apis.go), so this struct stays small.
type Params struct {
	fx.In

	Config    Config
	Log       *slog.Logger
	Functions *functions.Service
	Aliases   *aliases.Service
	Invoker   *invoker.Invoker
	Gateway   GatewayDeps
	Conns     ConnectionDeps
	Images    ImageDeps
	Usage     UsageDeps
	// Metrics, when provided, is served at GET /metrics (metrics.Module).
	Metrics http.Handler `name:"metrics" optional:"true"`
	Domains EdgeDeps
	IAM     IAMDeps
	Stacks  StackDeps
	Shifts  ShiftDeps
	Backup  BackupDeps
	// Console, when provided, is the web console's handler (console.Module),
	// served at /console/.
	Console http.Handler `name:"console" optional:"true"`
	// SignIns, when provided, is the limiter of the admin surface's failed
	// sign-ins; without it the server has a limiter of its own. It is not to
	// be the public gateway surfaces' (internal/signin): their failures must
	// not lock the admin API.
	SignIns *signin.Limiter `optional:"true"`
}

// New builds the admin server and registers every route set.
func New(p Params) (*Server, error) {
	if p.Config.Listen == "" {
		p.Config.Listen = "127.0.0.1:9090"
	}
	if !netaddr.IsLoopback(p.Config.Listen) && p.Config.Token == "" {
		return nil, fmt.Errorf("admin API would listen on %s, %s, without a token: set --admin-token-file FILE (or PORTICO_ADMIN_TOKEN), or listen on 127.0.0.1", p.Config.Listen, netaddr.NotLoopback(p.Config.Listen))
	}
	if err := CheckToken(p.Config.Listen, p.Config.Token); err != nil {
		return nil, err
	}
	s := &Server{cfg: p.Config, log: p.Log.With("component", "admin"), mux: http.NewServeMux(), stopping: make(chan struct{}), now: time.Now, signIns: p.SignIns}
	if n := tokenLength(p.Config.Token); n > 0 && n < MinTokenLength {
		// Only on loopback (CheckToken refuses it elsewhere), where any
		// local user can still guess it, as fast as the sign-in limit lets.
		s.log.Warn(fmt.Sprintf("the admin token has %d characters, fewer than the %d required off loopback: any local user may guess it "+
			"(one guess every %s after %d failures); give a longer one, for example made with `openssl rand -hex 32`",
			n, MinTokenLength, failedSignInEvery, failedSignInBurst), "addr", p.Config.Listen)
	}
	if !netaddr.IsLoopback(p.Config.Listen) {
		s.log.Warn("the admin API serves plain HTTP off loopback: the bearer token and console sign-ins cross the network unencrypted; put a TLS-terminating proxy in front (named in --trusted-proxies), or use SigV4-signing clients (the AWS CLI and SDKs), which never send the secret",
			"addr", p.Config.Listen)
	}
	s.fns, s.aliases, s.inv = p.Functions, p.Aliases, p.Invoker
	s.follows.limits = p.Config.LogFollows
	s.gw = p.Gateway
	s.registerLambdaRoutes()
	s.registerGatewayRoutes()
	s.registerAPIGatewayStageRoutes()
	s.registerRestAPIRoutes()
	s.registerAPIGatewayV2Routes()
	s.registerConnectionRoutes(p.Conns)
	s.registerImageRoutes(p.Images)
	s.registerStatsRoutes(p.Conns)
	s.registerUsageRoutes(p.Usage)
	s.registerAccessLogRoutes()
	if p.Metrics != nil {
		s.mux.Handle("GET /metrics", p.Metrics)
	}
	s.registerDomainRoutes(p.Domains)
	s.registerIAMRoutes(p.IAM)
	s.registerStackRoutes(p.Stacks)
	s.registerShiftRoutes(p.Shifts)
	s.registerBackupRoutes(p.Backup)
	s.registerUnknownAPIGatewayOperations()
	if p.Console != nil {
		s.registerConsole(p.Console)
	}
	return s, nil
}

// Module provides the admin server and runs it for the app's lifetime.
var Module = fx.Module("admin",
	fx.Provide(New),
	fx.Invoke(func(lc fx.Lifecycle, s *Server) {
		lc.Append(fx.Hook{OnStart: s.Start, OnStop: s.Stop})
	}),
)
