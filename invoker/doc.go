// Package invoker runs function versions in warm sandboxes within concurrency limits
// and deadlines. Each sandbox gets its own Lambda Runtime API endpoint (2018-06-01),
// so handlers written with aws-lambda-go run unmodified and a sandbox can reach only
// its own invocations.
//
// The invoker's configuration and the Request and Result of a call are in
// config.go; the Runtime API server a sandbox talks to is in runtimeapi.go.
package invoker
