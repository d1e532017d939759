package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/admin"
)

func newStatsCmd(g *globalFlags) *cobra.Command {
	return g.call("stats", "Show what the server holds: sandboxes by function and version, the sandbox budget, goroutines, descriptors and the gateway's connections",
		cobra.NoArgs, func([]string) request { return request{method: "GET", path: "/portico/v1/stats"} }, printStats)
}

// printStats prints a stats answer: the budget, the server's figures and a
// table of sandboxes by function version.
func printStats(out io.Writer, raw []byte) error {
	var st admin.Stats
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	sb, b := st.Sandboxes, st.Sandboxes.Budget
	fmt.Fprintf(out, "build: %s\n", st.Build)
	fmt.Fprintf(out, "sandboxes: %d running of a budget of %s, %d MB of %s; %d starting, %d calls waiting, %d stopping\n",
		b.Sandboxes, capText(int64(b.MaxSandboxes), ""), b.MemoryMB, capText(b.MaxMemoryMB, " MB"), sb.Starting, sb.Waiting, sb.Stopping)
	procs := "processors"
	if st.Server.Procs == 1 {
		procs = "processor"
	}
	fmt.Fprintf(out, "server: %d goroutines on %d %s (GOMAXPROCS), %d open descriptors, %d MB resident\n",
		st.Server.Goroutines, st.Server.Procs, procs, st.Server.OpenDescriptors, st.Server.ResidentBytes>>20)
	if sb.LogBytesLost > 0 {
		fmt.Fprintf(out, "function logs: %d bytes of output not written to the log files (a full disk?): the server's log says why\n", sb.LogBytesLost)
	}
	if gw := st.Gateway; gw != nil {
		fmt.Fprintf(out, "gateway: %s\n", gatewayText(gw))
	}
	fmt.Fprintln(out)
	rows := make([][]string, 0, len(sb.Versions))
	for _, v := range sb.Versions {
		rows = append(rows, []string{v.Function, v.Version, strconv.Itoa(v.Busy), strconv.Itoa(v.Idle),
			strconv.Itoa(v.Starting), strconv.Itoa(v.Provisioned), strconv.Itoa(v.Waiting)})
	}
	return table(out, []string{"FUNCTION", "VERSION", "BUSY", "IDLE", "STARTING", "PROVISIONED", "WAITING"}, rows)
}

// gatewayText renders the gateway's connections: HTTP connections by
// listener (those dormant, idle without a goroutine, among them), then
// WebSockets.
func gatewayText(gw *admin.GatewayStats) string {
	parts := make([]string, 0, len(gw.Listeners)+1)
	for _, l := range gw.Listeners {
		parts = append(parts, fmt.Sprintf("%s %d connections (%d dormant)", l.Listener, l.Open, l.Dormant))
	}
	ws := "WebSockets off"
	if gw.WebSockets >= 0 {
		ws = fmt.Sprintf("%d WebSockets", gw.WebSockets)
	}
	if len(parts) == 0 {
		return ws
	}
	return strings.Join(parts, ", ") + "; " + ws
}

// capText renders a budget figure, 0 being no cap.
func capText(n int64, unit string) string {
	if n <= 0 {
		return "no cap"
	}
	return strconv.FormatInt(n, 10) + unit
}
