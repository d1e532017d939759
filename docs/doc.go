// Package docs holds the documentation's test. TestDocs runs the shell blocks of
// README.md and docs/*.md marked `<!-- doctest -->` (package internal/doctest
// describes the markers and how output is compared), in order, each page in one
// bash session from a directory laid out as the repository's root (bin/, samples/,
// docs/, make run's ./portico-data), against a server started as the page says
// (`make run`: the Makefile's recipe after one `make build` for all pages), with
// the freshly built portico on the PATH and the documented ports replaced by the
// server's. README.md's "Writing docs" says how to mark a block. It has no code of
// its own.
//
// Blocks left unmarked, and why:
//
//   - README.md: "Two commands" (`make run` is the server every page starts, `make
//     test` the suite this test is part of); "Container functions" (an Image
//     function, which make run's process runtime does not run: runtimes.md runs
//     the same commands against a server on the docker runtime, needs=docker).
//     Left out of marked blocks: `logs --follow` (it does not end) and `make
//     samples` (the harness built the samples; it needs the Makefile beside it).
//   - cli.md: the synopses (not commands); `portico dev --function
//     greeter=./greeter` and its transcript (a server that does not end, on a
//     directory the page does not make).
//   - apis-and-stages.md, authorizers-and-iam.md, api-keys-and-usage-plans.md:
//     OpenAPI, JSON, CSV and YAML fragments (not commands); api-keys' `aws
//     apigatewayv2 update-stage` (an HTTP API with a prod stage and GET /pets that
//     the page does not make).
//   - mapping-templates.md: a Go snippet of the mapping package's API, no shell.
//   - websockets.md: `websocat` (an interactive client, like the browser console).
//   - operations.md: the fixture command of upgrades (it builds an old
//     revision), the daemon-outage soak by hand (it starts a containerd of
//     its own and kills it with SIGKILL) and its check for leftover shims.
//   - observability.md: the access-log block of the native route (a log file
//     under /var/log); the OTLP block runs without its `portico serve` (a server
//     in the foreground; no collector is needed to turn tracing on).
//   - tls-and-domains.md: `tls init [api.example.test ...]` (a synopsis) and the
//     mutual TLS blocks (a client CA the page does not make, a path to fill in).
//   - sam.md: `stack unlock t8` (a stack held by a deploy that was killed).
//   - invoker.md, performance.md: no commands for a first session
//     (configuration, benchmarks); runtimes.md: all but the Image function of
//     samples/hello on the docker runtime (needs=docker), which is marked.
//
// Blocks marked needs=docker run where a Docker daemon answers a ping, and
// fail without one under REQUIRE_DOCKER=1 (as CI runs them); elsewhere they
// are skipped, saying so.
package docs
