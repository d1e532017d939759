// Package h2conform runs h2spec, the HTTP/2 conformance suite (RFC 7540 and
// RFC 7541 cases), against a TLS server from a test.
package h2conform

import (
	"encoding/xml"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/summerwind/h2spec"
	"github.com/summerwind/h2spec/config"
)

// Run runs the whole suite against the HTTP/2 server at addr (host:port, TLS,
// its certificate not verified), requesting path, and fails t on each case
// the server fails or h2spec skips (the answer at path must have a body of 5
// bytes or more). It returns how many cases ran.
func Run(t testing.TB, addr, path string) int {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	report := filepath.Join(t.TempDir(), "h2spec.xml")
	cfg := &config.Config{Host: host, Port: p, Path: path, Timeout: 2 * time.Second, MaxHeaderLen: 4000,
		TLS: true, Insecure: true, JUnitReport: report}
	// h2spec writes its progress to stdout: kept for -v.
	stdout := os.Stdout
	if !testing.Verbose() {
		devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		os.Stdout = devnull
		defer func() { os.Stdout = stdout; _ = devnull.Close() }()
	}
	if _, err := h2spec.Run(cfg); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Text string `xml:",chardata"`
				} `xml:"failure"`
				Error *struct {
					Text string `xml:",chardata"`
				} `xml:"error"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &suites); err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, s := range suites.Suites {
		for _, c := range s.Cases {
			ran++
			switch {
			case c.Failure != nil:
				t.Errorf("h2spec %s %s: %s", s.Name, c.Name, c.Failure.Text)
			case c.Error != nil:
				t.Errorf("h2spec %s %s: %s", s.Name, c.Name, c.Error.Text)
			case c.Skipped != nil:
				t.Errorf("h2spec %s %s: skipped (a case skips when the response body at path is shorter than 5 bytes)", s.Name, c.Name)
			}
		}
	}
	if ran < 140 {
		t.Fatalf("h2spec ran %d cases, not the whole suite (145)", ran)
	}
	return ran
}
