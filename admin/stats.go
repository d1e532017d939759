package admin

import (
	"bytes"
	"net/http"
	"os"
	"runtime"
	"strconv"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/internal/buildinfo"
	"github.com/portico-dev/portico/invoker"
	"github.com/portico-dev/portico/store"
)

// Stats is the answer of GET /portico/v1/stats: what the server holds.
type Stats struct {
	// Build is the server's build, as `portico version` names it.
	Build buildinfo.Build `json:"build"`
	// Sandboxes are the invoker's sandboxes by function and version, and its
	// sandbox budget and the use of it.
	Sandboxes invoker.Stats `json:"sandboxes"`
	// Server is the Portico process itself.
	Server ProcessStats `json:"server"`
	// Gateway is what the gateway's listeners hold; absent when this server
	// runs no gateway.
	Gateway *GatewayStats `json:"gateway,omitempty"`
}

// GatewayStats are the connections the gateway holds.
type GatewayStats struct {
	// Listeners are the HTTP connections of each listener, dormant ones
	// counted apart (gateway.ListenerConns).
	Listeners []gateway.ListenerConns `json:"listeners"`
	// WebSockets are the live WebSocket connections; -1 when WebSocket APIs
	// are off.
	WebSockets int `json:"webSockets"`
	// TLSAddr is the TLS listener's bound address (host:port), whatever
	// the engine; absent when TLS is off. Custom domain names are served
	// on its port: `portico domain map` prints their URLs with it.
	TLSAddr string `json:"tlsAddr,omitempty"`
}

// ProcessStats describe the server process. Figures the platform cannot give
// (outside Linux) are -1.
type ProcessStats struct {
	Goroutines int `json:"goroutines"`
	// Procs is GOMAXPROCS now: the server fits it to the CPU a busy host
	// leaves it (internal/procs).
	Procs           int   `json:"procs"`
	OpenDescriptors int   `json:"openDescriptors"`
	ResidentBytes   int64 `json:"residentBytes"`
	HeapBytes       int64 `json:"heapBytes"`
}

// registerStatsRoutes registers GET /portico/v1/stats.
func (s *Server) registerStatsRoutes(conns ConnectionDeps) {
	s.Handle("GET /portico/v1/stats", func(w http.ResponseWriter, _ *http.Request) error {
		st := Stats{Build: buildinfo.Read(store.SchemaVersion), Server: processStats()}
		if s.inv != nil {
			st.Sandboxes = s.inv.Stats()
		}
		if s.gw.Server != nil {
			st.Gateway = &GatewayStats{Listeners: s.gw.Server.Connections(), WebSockets: -1, TLSAddr: s.gw.Server.TLSAddr()}
			if conns.Manager != nil {
				st.Gateway.WebSockets = conns.Manager.Len()
			}
		}
		return writeJSON(w, http.StatusOK, st)
	})
}

// processStats measures this process.
func processStats() ProcessStats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	p := ProcessStats{Goroutines: runtime.NumGoroutine(), Procs: runtime.GOMAXPROCS(0), OpenDescriptors: -1, ResidentBytes: -1, HeapBytes: int64(ms.HeapAlloc)} //nolint:gosec // G115: heap sizes fit
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		p.OpenDescriptors = len(fds) - 1 // less the one ReadDir held open
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for line := range bytes.Lines(b) {
			if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
				if f := bytes.Fields(rest); len(f) > 0 {
					if kb, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
						p.ResidentBytes = kb << 10
					}
				}
			}
		}
	}
	return p
}
