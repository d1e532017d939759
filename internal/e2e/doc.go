// Package e2e holds Portico's end-to-end tests and benchmarks across runtimes:
// the whole server started in-process (cmd/portico/app/apptest) on the process, docker
// and containerd runtimes, driven through the AWS SDK for Go v2 and the admin API.
// It has no non-test code.
package e2e
