package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fileToken = "0123456789abcdef0123456789abcdef0123456789abcdef"

// writeMode writes content to a file of mode perm (whatever the umask).
func writeMode(t *testing.T, path, content string, perm os.FileMode) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAdminTokenFromFile: --admin-token-file (and PORTICO_ADMIN_TOKEN_FILE)
// give the admin token without it showing in ps; its trailing newline is not
// part of it; a token given both ways is refused.
func TestAdminTokenFromFile(t *testing.T) {
	t.Chdir(t.TempDir())
	tf := writeMode(t, filepath.Join(t.TempDir(), "token"), fileToken+"\n", 0o600)
	s, err := parseServe(t, "--admin-listen", "0.0.0.0:31901", "--admin-token-file", tf).settings()
	if err != nil {
		t.Fatal(err)
	}
	if s.AdminToken != fileToken {
		t.Errorf("AdminToken = %q, want the file's line %q", s.AdminToken, fileToken)
	}
	if len(s.StartWarnings) != 0 {
		t.Errorf("a 0600 token file warned: %q", s.StartWarnings)
	}
	t.Setenv("PORTICO_ADMIN_TOKEN_FILE", tf)
	if s, err := parseServe(t, "--admin-listen", "0.0.0.0:31901").settings(); err != nil || s.AdminToken != fileToken {
		t.Errorf("PORTICO_ADMIN_TOKEN_FILE: token %q, err %v", s.AdminToken, err)
	}
	if _, err := parseServe(t, "--admin-token", fileToken).settings(); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("token file and --admin-token: err %v, want it refused as given twice", err)
	}
	empty := writeMode(t, filepath.Join(t.TempDir(), "empty"), "\n", 0o600)
	if _, err := parseServe(t, "--admin-token-file", empty).settings(); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty token file: err %v, want it refused", err)
	}
}

// TestAdminTokenExposedWarns: with the admin API off loopback, a start says
// when the token can be read by other users of the host: a config file
// holding it that is group- or world-readable, a readable token file, or
// --admin-token (ps). On loopback, or with the file 0600, nothing is said.
func TestAdminTokenExposedWarns(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	yaml := "admin-listen: 0.0.0.0:31902\nadmin-token: " + fileToken + "\n"
	cfg := writeMode(t, filepath.Join(dir, "portico.yaml"), yaml, 0o644)
	s, err := parseServe(t).settings()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.StartWarnings) != 1 || !strings.Contains(s.StartWarnings[0], "portico.yaml") || !strings.Contains(s.StartWarnings[0], "chmod 600") {
		t.Errorf("a 0644 config file holding the token: warnings %q, want one naming portico.yaml and chmod 600", s.StartWarnings)
	}
	writeMode(t, cfg, yaml, 0o600)
	if s, _ := parseServe(t).settings(); len(s.StartWarnings) != 0 {
		t.Errorf("a 0600 config file warned: %q", s.StartWarnings)
	}
	writeMode(t, cfg, "admin-listen: 127.0.0.1:31902\nadmin-token: "+fileToken+"\n", 0o644)
	if s, _ := parseServe(t).settings(); len(s.StartWarnings) != 0 {
		t.Errorf("the admin API on loopback warned: %q", s.StartWarnings)
	}
	if err := os.Remove(cfg); err != nil {
		t.Fatal(err)
	}
	tf := writeMode(t, filepath.Join(dir, "token"), fileToken, 0o640)
	s, _ = parseServe(t, "--admin-listen", "0.0.0.0:31902", "--admin-token-file", tf).settings()
	if len(s.StartWarnings) != 1 || !strings.Contains(s.StartWarnings[0], tf) {
		t.Errorf("a 0640 token file: warnings %q, want one naming it", s.StartWarnings)
	}
	s, _ = parseServe(t, "--admin-listen", "0.0.0.0:31902", "--admin-token", fileToken).settings()
	if len(s.StartWarnings) != 1 || !strings.Contains(s.StartWarnings[0], "ps") {
		t.Errorf("--admin-token off loopback: warnings %q, want one about ps", s.StartWarnings)
	}
}

// TestClientTokenFromFile: the client reads its token from --token-file or
// PORTICO_TOKEN_FILE (shown by neither ps nor the environment); --token
// still comes first.
func TestClientTokenFromFile(t *testing.T) {
	for _, v := range []string{"PORTICO_TOKEN", "PORTICO_TOKEN_FILE", "PORTICO_ADMIN_TOKEN", "PORTICO_ADMIN_TOKEN_FILE"} {
		t.Setenv(v, "")
	}
	tf := writeMode(t, filepath.Join(t.TempDir(), "token"), "filetok\r\n", 0o600)
	if tok, err := (&globalFlags{tokenFile: tf}).clientToken(); err != nil || tok != "filetok" {
		t.Errorf("--token-file: %q, %v; want filetok", tok, err)
	}
	t.Setenv("PORTICO_TOKEN_FILE", tf)
	if tok, err := (&globalFlags{}).clientToken(); err != nil || tok != "filetok" {
		t.Errorf("PORTICO_TOKEN_FILE: %q, %v; want filetok", tok, err)
	}
	if tok, _ := (&globalFlags{token: "flag"}).clientToken(); tok != "flag" {
		t.Errorf("--token with PORTICO_TOKEN_FILE set: %q, want flag", tok)
	}
	if _, err := (&globalFlags{tokenFile: filepath.Join(t.TempDir(), "none")}).clientToken(); err == nil || !strings.Contains(err.Error(), "--token-file") {
		t.Errorf("a missing --token-file: err %v, want one naming the flag", err)
	}
}

// TestShortTokenNamesItsSource: the refusal of an admin token too short for
// an admin API off loopback names where the token came from (the token file,
// the flag, the variable, the config file), not --admin-token whatever it
// was; a token file others can read is said in the same refusal, since the
// start that would warn of it does not happen.
func TestShortTokenNamesItsSource(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	tf := writeMode(t, filepath.Join(dir, "tokshort"), "short\n", 0o644)
	_, err := parseServe(t, "--admin-listen", "0.0.0.0:31903", "--admin-token-file", tf).settings()
	if err == nil || !strings.Contains(err.Error(), "token file "+tf) || strings.Contains(err.Error(), "as --admin-token") ||
		!strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("short token file: %v, want it named, not --admin-token, and its mode said", err)
	}
	_, err = parseServe(t, "--admin-listen", "0.0.0.0:31903", "--admin-token", "short").settings()
	if err == nil || !strings.Contains(err.Error(), "from --admin-token has") || !strings.Contains(err.Error(), "--admin-token-file") {
		t.Errorf("short --admin-token: %v, want it named, and the token file advised", err)
	}
	writeMode(t, filepath.Join(dir, "portico.yaml"), "admin-listen: 0.0.0.0:31903\nadmin-token: short\n", 0o600)
	if _, err = parseServe(t).settings(); err == nil || !strings.Contains(err.Error(), "from admin-token in portico.yaml has") {
		t.Errorf("short admin-token in the config file: %v, want it named", err)
	}
	t.Setenv("PORTICO_ADMIN_TOKEN", "short")
	if _, err = parseServe(t, "--admin-listen", "0.0.0.0:31903").settings(); err == nil || !strings.Contains(err.Error(), "from PORTICO_ADMIN_TOKEN has") {
		t.Errorf("short PORTICO_ADMIN_TOKEN: %v, want it named", err)
	}
}
