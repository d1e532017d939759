package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/admin"
)

func newStatsCmd(g *globalFlags) *cobra.Command {
	return g.call("stats", "Show what the server holds: sandboxes by function and version, the sandbox budget, goroutines and descriptors",
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
	fmt.Fprintf(out, "sandboxes: %d running of a budget of %s, %d MB of %s; %d starting, %d calls waiting, %d stopping\n",
		b.Sandboxes, capText(int64(b.MaxSandboxes), ""), b.MemoryMB, capText(b.MaxMemoryMB, " MB"), sb.Starting, sb.Waiting, sb.Stopping)
	fmt.Fprintf(out, "server: %d goroutines on %d processors (GOMAXPROCS), %d open descriptors, %d MB resident\n\n",
		st.Server.Goroutines, st.Server.Procs, st.Server.OpenDescriptors, st.Server.ResidentBytes>>20)
	rows := make([][]string, 0, len(sb.Versions))
	for _, v := range sb.Versions {
		rows = append(rows, []string{v.Function, v.Version, strconv.Itoa(v.Busy), strconv.Itoa(v.Idle),
			strconv.Itoa(v.Starting), strconv.Itoa(v.Provisioned), strconv.Itoa(v.Waiting)})
	}
	return table(out, []string{"FUNCTION", "VERSION", "BUSY", "IDLE", "STARTING", "PROVISIONED", "WAITING"}, rows)
}

// capText renders a budget figure, 0 being no cap.
func capText(n int64, unit string) string {
	if n <= 0 {
		return "no cap"
	}
	return strconv.FormatInt(n, 10) + unit
}
