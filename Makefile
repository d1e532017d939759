# Portico. `make help` lists the targets.
GO        ?= go
BIN       := bin
# DATA: the data directory of make run (PORTICO_DATA_DIR, as portico serve reads it, else ./portico-data).
DATA      ?= $(or $(PORTICO_DATA_DIR),./portico-data)
SAMPLES   := hello chat
IMAGES    := hello
# -timeout is a hang detector per package: admin's tests, the longest race-built package, take
# about 5 minutes on a 2-core machine with other packages' tests beside them.
# -vet=off: test runs `go vet ./...` first, the whole of vet; go test's own vet pass (a subset
# of its analyzers, cached under another key) repeated it for every package and its dependencies:
# for admin, gateway and store alone that pass cost 48 s of CPU (user+sys 23 s with -vet=off, 103 s
# with it; 2 cores, under load).
# -p 3 -parallel 3: one more test binary, and one more parallel test in each, than the 2 cores
# give by default: many tests wait on containers, browsers, child servers and fsync rather than
# compute, and with two at a time CI left its cores idle while they waited.
TESTFLAGS ?= -race -count=1 -timeout 30m -vet=off -p 3 -parallel 3
# CLI_E2E: cmd/portico's tests run the CLI end to end against a server in the test binary (and
# child `portico` processes). Race-built, they took more CPU than any other package (359 s user+sys
# of a 2-core CI's ~2,500, 7x their 52 s without the detector), re-running server code whose own
# race-built tests (admin, gateway, ...) drive the same API. They run without the detector, beside
# the race-built tests (test-plain); the ones that call the CLI concurrently (CLI_RACE) run
# race-built as well.
CLI_E2E   := ./cmd/portico/
CLI_RACE  := Concurrent
# RACE_FIRST: go test starts test binaries in the order it is given their packages: these wait on
# containers more than they compute, so they start first, beside the others, rather than last
# with the cores idle.
RACE_FIRST := ./runtimes/docker/ ./runtimes/containerd/ ./internal/e2e/
export CGO_ENABLED ?= 1

.PHONY: help build samples images run test test-race test-plain doctest stress bench bench-mapping soak lint fmt clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## build bin/portico and the sample functions
	$(GO) build -ldflags "-X github.com/portico-dev/portico/internal/buildinfo.revision=$$(git rev-parse HEAD 2>/dev/null)" -o $(BIN)/portico ./cmd/portico
	@$(MAKE) --no-print-directory samples

samples: ## build each sample function as a static bootstrap binary
	@echo "building the sample functions into $(BIN)/samples (minutes on a first build with an empty Go build cache, seconds after)"
	@for s in $(SAMPLES); do \
	  for d in samples/$$s/cmd/*/ samples/$$s/; do \
	    if [ -f $$d/main.go ]; then n=$$(basename $$d); [ "$$d" = "samples/$$s/" ] && n=$$s; \
	      mkdir -p $(BIN)/samples/$$n && CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags='-s -w' -o $(BIN)/samples/$$n/bootstrap ./$$d || exit 1; fi; \
	  done; \
	done

images: build ## build the sample images portico-samples/NAME:latest (Docker) with bin/portico build
	@for s in $(IMAGES); do \
	  rm -rf $(BIN)/images/$$s && mkdir -p $(BIN)/images/$$s && \
	  cp samples/$$s/Dockerfile $(BIN)/samples/$$s/bootstrap $(BIN)/images/$$s/ && \
	  $(BIN)/portico build $(BIN)/images/$$s -t portico-samples/$$s:latest || exit 1; \
	done

run: build ## serve the samples on the embedded (process) runtime, over HTTP (:8080) and HTTPS/wss (:8443, development CA)
	@$(BIN)/portico tls init --data-dir $(DATA) --starting --if-needed
	$(BIN)/portico dev --runtime process --data-dir $(DATA) --samples $(BIN)/samples

# vet -race: vet type-checks against its dependencies compiled with the flags it is given, so
# with -race it compiles them as the race-built tests need them and the test build that follows
# finds them in the build cache; a plain vet compiled every dependency a second time, without
# -race (on a fresh machine, cold cache, CPU user+sys: vet 631 s + race test build 676 s).
# The build step between: tests build programs with the go command (docs: make build; e2e and
# soak: portico itself; a dozen packages: the samples and test functions, static). Built once here
# in the two configurations they use (for this host as `make build`; static with -trimpath as
# `make samples`), the test binaries find every package compiled and only link; otherwise each
# compiled the same packages again from a cold cache, several at once.
test: ## run every test (Docker tests skip without a daemon unless REQUIRE_DOCKER=1)
	$(GO) vet -race ./...
	$(GO) build ./...
	CGO_ENABLED=0 $(GO) build -trimpath ./samples/...
	@$(MAKE) --no-print-directory -j2 test-race test-plain

# test-race and test-plain are test's two halves, run at once: the race-built tests, and those
# that run as shipped.
test-race:
	$(GO) test $(TESTFLAGS) $(RACE_FIRST) $$($(GO) list ./... | grep -vx 'github.com/portico-dev/portico/cmd/portico')

test-plain:
	$(GO) test -count=1 -timeout 30m -vet=off -parallel 3 $(CLI_E2E)
	$(GO) test $(TESTFLAGS) -run '$(CLI_RACE)' $(CLI_E2E)
	@# the raw read(2)/write(2) of internal/rawio are ordinary syscalls under -race:
	@# run it and its users on the hot paths once without it
	$(GO) test -count=1 -vet=off ./internal/rawio/ ./internal/h1/ ./gateway/internal/fastproxy/
	@# race builds give nbio's connection hand-off a hook the detector sees
	@# (gateway/engine_nbio_race.go): run its engine's cases once as shipped
	$(GO) test -count=1 -vet=off -run 'Nbio|TestForwardedPortIsTheListeners' ./gateway/

doctest: ## run only the documentation's marked shell blocks (part of test; see README, Writing docs)
	$(GO) test -count=1 -run 'TestDocs|TestPagesParse|TestMakeRunRecipe' ./docs/

stress: ## hunt for flaky tests: each package's race-built tests N times beside a busy loop (N=20; PKGS, RUN); not part of test
	N=$(or $(N),20) PKGS="$(PKGS)" RUN="$(RUN)" .ci/stress

# Container benchmarks cost a container per cold start: fewer iterations, and cold
# starts capped at BENCH_COLDSTARTS per sub-benchmark (PORTICO_BENCH_COLDSTARTS).
BENCH_COLDSTARTS ?= 20
CONTAINER_BENCH  := ./runtimes/docker ./runtimes/containerd ./internal/e2e

soak: ## a bounded soak against portico serve (SOAK=10m by default; SOAK=60s for a short one); not part of test
	SOAK=$(or $(SOAK),10m) $(GO) test -count=1 -timeout 0 -run TestSoak -v ./internal/soak/

bench: ## run the benchmarks and print latency figures (container runtimes skip without their daemons)
	$(GO) test -run '^$$' -bench . -benchtime 2000x -count 1 $$($(GO) list ./... | grep -v -e /runtimes/docker -e /runtimes/containerd -e /internal/e2e)
	PORTICO_BENCH_COLDSTARTS=$(BENCH_COLDSTARTS) $(GO) test -run '^$$' -bench . -benchtime 50x -count 1 -p 1 -timeout 15m $(CONTAINER_BENCH)
	@$(MAKE) --no-print-directory bench-mapping

bench-mapping: ## mapping templates: the guide's templates in Portico and velocityjs, CPU time per render, interleaved rounds (velocityjs skipped without node)
	$(GO) test -run '^$$' -bench 'Typical|DocTemplates' -benchmem -benchtime 2000x -count 1 ./gateway/mapping/
	@sh gateway/mapping/testdata/bench/velocityjs.sh
	$(GO) run ./gateway/mapping/testdata/bench/compare

lint: ## gofmt, go vet and golangci-lint
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	@command -v golangci-lint >/dev/null && golangci-lint run ./... || echo "golangci-lint not installed: go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@latest"

clean: ## remove build output
	rm -rf $(BIN)
