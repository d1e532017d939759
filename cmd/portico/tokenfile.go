package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/internal/netaddr"
)

// maxTokenFile bounds what a token file may hold: a token is a line.
const maxTokenFile = 4 << 10

// readTokenFile returns the token a file holds: its content less one trailing
// newline ("\n" or "\r\n"), as `openssl rand -hex 32 > FILE` writes it. what
// names the setting in errors ("--admin-token-file").
func readTokenFile(path, what string) (string, error) {
	return readSecretFile(path, what, "token", "openssl rand -hex 32 > "+path)
}

// readSecretFile reads the one-line secret (noun names it in errors: "token",
// "API key value") that path holds, as readTokenFile does; example is how to
// write one.
func readSecretFile(path, what, noun, example string) (string, error) {
	f, err := os.Open(path) //nolint:gosec // G304: the operator's own token file
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	defer func() { _ = f.Close() }()
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s %s: not a regular file: give a file holding the %s on one line", what, path, noun)
	}
	raw, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", what, path, err)
	}
	if len(raw) > maxTokenFile {
		return "", fmt.Errorf("%s %s: more than %d bytes: the file should hold the %s alone, on one line", what, path, maxTokenFile, noun)
	}
	tok := strings.TrimSuffix(strings.TrimSuffix(string(raw), "\n"), "\r")
	if tok == "" {
		return "", fmt.Errorf("%s %s: empty: write the %s in it (%s)", what, path, noun, example)
	}
	if n := strings.Count(tok, "\n"); n > 0 {
		return "", fmt.Errorf("%s %s: %d lines: the file should hold the %s alone, on one line", what, path, n+1, noun)
	}
	return tok, nil
}

// othersRead reports whether a file of mode m can be read by users other
// than its owner (its group's or everyone's read bit).
func othersRead(m fs.FileMode) bool { return m.Perm()&0o044 != 0 }

// adminTokenSources completes s's admin token: read from
// --admin-token-file when one is named, and refused when a token is also
// given another way. It adds to s.StartWarnings what exposes the token to
// other users of the host: a token file they can read (wherever the admin
// API listens), and, for an admin API off loopback, a config file holding it
// that they can read (cfgPath, cfgMode; cfgToken when the file holds
// admin-token), or a token given on the command line, which `ps` shows.
func (f *serveFlags) adminTokenSources(s *app.Settings, cfgPath string, cfgMode fs.FileMode, cfgToken bool) error {
	if s.AdminTokenFile != "" {
		if s.AdminToken != "" {
			return errors.New("the admin token is given twice: by --admin-token-file (PORTICO_ADMIN_TOKEN_FILE, admin-token-file:) and by --admin-token (PORTICO_ADMIN_TOKEN, admin-token:): keep the file alone")
		}
		tok, err := readTokenFile(s.AdminTokenFile, "--admin-token-file")
		if err != nil {
			return err
		}
		s.AdminToken = tok
	}
	switch {
	case s.AdminToken == "":
	case s.AdminTokenFile != "":
		s.AdminTokenSource = "the token file " + s.AdminTokenFile + " (--admin-token-file)"
	case f.fs.Changed("admin-token"):
		s.AdminTokenSource = "--admin-token"
	case os.Getenv("PORTICO_ADMIN_TOKEN") != "":
		s.AdminTokenSource = "PORTICO_ADMIN_TOKEN"
	case cfgToken:
		s.AdminTokenSource = "admin-token in " + cfgPath
	}
	warn := func(format string, args ...any) {
		s.StartWarnings = append(s.StartWarnings, fmt.Sprintf(format, args...))
	}
	// A token file is named to keep the token secret: one other users can
	// read is said, on loopback too, where they reach the admin API as
	// well (127.0.0.1 is every local user's).
	if s.AdminTokenFile != "" {
		if st, err := os.Stat(s.AdminTokenFile); err == nil && othersRead(st.Mode()) {
			warn("the admin token file %s can be read by other users of this host (mode %04o), who could then use the admin API on %s: chmod 600 %s", s.AdminTokenFile, st.Mode().Perm(), s.AdminListen, s.AdminTokenFile)
		}
	}
	if s.AdminToken == "" || s.AdminListen == "" || netaddr.IsLoopback(s.AdminListen) {
		return nil
	}
	if cfgToken && s.AdminTokenFile == "" && !f.fs.Changed("admin-token") && os.Getenv("PORTICO_ADMIN_TOKEN") == "" && othersRead(cfgMode) {
		warn("the config file %s holds admin-token and can be read by other users of this host (mode %04o) while the admin API listens on %s: chmod 600 %s, or move the token to a file only the server's user reads (admin-token-file:)", cfgPath, cfgMode.Perm(), s.AdminListen, cfgPath)
	}
	if f.fs.Changed("admin-token") {
		warn("the admin token was given as --admin-token, which every user of this host can read in ps while the admin API listens on %s: pass it with --admin-token-file or PORTICO_ADMIN_TOKEN instead", s.AdminListen)
	}
	return nil
}
