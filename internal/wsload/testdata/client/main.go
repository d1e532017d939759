// Command client is internal/wsload's client process as a program of its own
// (wsload.Build builds it, wsload.StartProgram runs it): built without the
// race detector, it opens and drives its connections several times cheaper
// than a -race test binary run again as the client.
package main

import (
	"fmt"
	"os"

	"github.com/portico-dev/portico/internal/wsload"
)

func main() {
	if !wsload.ServeClient() {
		fmt.Fprintf(os.Stderr, "set %s to \"URL N\" (see package wsload)\n", wsload.ClientEnv)
		os.Exit(2)
	}
}
