// Package ctrbase holds what Portico's container runtimes (runtimes/docker,
// runtimes/containerd) share without sharing an SDK: the labels every sandbox
// carries, the instance scoping of Cleanup, the Zip base image, and the sweep of
// the containers a daemon outage left (Sweeper), which takes the SDK's calls as
// functions.
package ctrbase

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
)

// Labels every Portico container carries.
const (
	LabelPortico  = "portico"          // "1"
	LabelInstance = "portico.instance" // the runtime's instance: whose Cleanup removes it
	LabelFunction = "portico.function"
	LabelVersion  = "portico.version"
	LabelSandbox  = "portico.sandbox"
)

// NoFile is the open-file limit (RLIMIT_NOFILE, soft and hard) of every
// sandbox: Lambda's quota of 1,024 file descriptors per execution environment.
// It also bounds the connections code in a sandbox can open to Portico.
const NoFile = 1024

// InstanceFor returns the instance that scopes a runtime's Cleanup for a data
// directory: a short digest of its absolute path with symbolic links resolved,
// so that the same directory reached through a link is the same instance (the
// path as given when it cannot be resolved).
func InstanceFor(dataDir string) string {
	if abs, err := filepath.Abs(dataDir); err == nil {
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			dataDir = real
		}
	}
	return digest(dataDir)
}

// FormerInstanceFor returns the instance that Portico gave a data directory
// before InstanceFor resolved symbolic links (a digest of its path as
// spelt), when that differs from InstanceFor's, else "": the containers a
// crashed run of an earlier Portico left are labelled with it.
func FormerInstanceFor(dataDir string) string {
	if f := digest(dataDir); f != InstanceFor(dataDir) {
		return f
	}
	return ""
}

// digest is a short digest of s.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}
