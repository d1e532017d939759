package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/cmd/portico/client"
)

// Uploads of at least progressMin bytes show their progress on stderr, and so
// do those of progressTTYMin on a terminal, where the line is rewritten in
// place; smaller ones are over before progress would tell anything.
const (
	progressMin    = 8 << 20
	progressTTYMin = 1 << 20
)

// progressModels is how many models make `api import` say, on stderr, that
// the server is compiling them: below it the answer comes before the line
// would tell anything.
const progressModels = 100

// terminal reports whether w is a terminal.
func terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// uploadClient is g's client, showing the progress of large uploads on the
// command's stderr (never on stdout, which -o json keeps for JSON).
func (g *globalFlags) uploadClient(cmd *cobra.Command) (*client.Client, error) {
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	w := cmd.ErrOrStderr()
	p := &uploadProgress{w: w, tty: terminal(w), label: "uploading"}
	c.Progress = p.report
	// The server unpacks and stores the code before it answers.
	c.Wait = client.UploadWait
	return c, nil
}

// uploadProgress writes "LABEL SENT / TOTAL (P%)" (LABEL "uploading", or
// "zipping DIR:"): on a terminal a line rewritten at every percent, elsewhere
// a line at every quarter. Safe for concurrent use.
type uploadProgress struct {
	w     io.Writer
	tty   bool
	label string

	mu    sync.Mutex
	total int64
	step  int // the last step shown, -1 none
}

func (p *uploadProgress) report(sent, total int64) {
	if total < progressMin && (!p.tty || total < progressTTYMin) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if total != p.total { // another upload
		p.total, p.step = total, -1
	}
	pct := int(sent * 100 / total)
	step := pct
	if !p.tty {
		step = pct / 25
	}
	if step == p.step {
		return
	}
	p.step = step
	line := fmt.Sprintf("%s %s / %s (%d%%)", p.label, mb(sent), mb(total), pct)
	switch {
	case p.tty && sent < total:
		fmt.Fprintf(p.w, "\r%s", line)
	case p.tty:
		fmt.Fprintf(p.w, "\r%s\n", line)
	default:
		fmt.Fprintln(p.w, line)
	}
}

// mb formats a size in MB, one decimal.
func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

// zipping zips dir with zip, saying so on w: on a terminal that it
// starts; for a directory large enough (as an upload is, progressMin, or
// progressTTYMin on a terminal) how much of it has been read, "zipping DIR:
// READ / TOTAL (P%)"; then how large the package came out (on a terminal,
// after that progress, or when its upload shows progress, which counts the
// request: the package base64-encoded in JSON, a third larger).
func zipping(w io.Writer, dir string, zip func(progress func(done, total int64)) ([]byte, error)) ([]byte, error) {
	tty := terminal(w)
	if tty {
		fmt.Fprintf(w, "zipping %s...\n", dir)
	}
	p := &uploadProgress{w: w, tty: tty, label: "zipping " + dir + ":"}
	b, err := zip(p.report)
	p.mu.Lock()
	shown := p.total != 0
	p.mu.Unlock()
	if err == nil && (tty || shown || base64.StdEncoding.EncodedLen(len(b)) >= progressMin) {
		fmt.Fprintf(w, "zipped %s: %s (the package; uploading counts it base64-encoded, a third more)\n", dir, mb(int64(len(b))))
	}
	return b, err
}

// zipDirTo returns a zipper of directories (client.ZipDirProgress) that says
// so on w, as zipping does.
func zipDirTo(w io.Writer) func(dir string) ([]byte, error) {
	return func(dir string) ([]byte, error) {
		return zipping(w, dir, func(p func(done, total int64)) ([]byte, error) { return client.ZipDirProgress(dir, p) })
	}
}
