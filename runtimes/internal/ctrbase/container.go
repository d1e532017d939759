// Package ctrbase holds what Portico's container runtimes (runtimes/docker,
// runtimes/containerd) share without sharing an SDK: the labels every sandbox
// carries, the instance scoping of Cleanup, the Zip base image, and the sweep of
// the containers a daemon outage left (Sweeper), which takes the SDK's calls as
// functions.
package ctrbase

import (
	"crypto/sha256"
	"encoding/hex"
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
// directory: a short digest of its path.
func InstanceFor(dataDir string) string {
	sum := sha256.Sum256([]byte(dataDir))
	return hex.EncodeToString(sum[:6])
}
