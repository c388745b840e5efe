# Switchboard developer tasks. CI runs `make test` (see .ci/run).
#
#   make deps    install what the tests need (headless chromium without recommended
#                packages, test/node packages, Go modules)
#   make build   build ./switchboard (with its build time for --version)
#   make test    deps, lint, and every test with the race detector
#   make lint    gofmt and go vet
#   make bench   build the comparison servers (bench/peers) and run the quick
#                load suite against them and Switchboard: writes BENCHMARKS.md
#   make bench-full  the same with larger loads (about four minutes)
#   make gobench the go test -bench micro-benchmarks, with -benchmem
#   make fuzz    run each Fuzz target for FUZZTIME (make fuzz FUZZTIME=2m)

SHELL := /bin/bash
GO ?= go
FUZZTIME ?= 30s
export FUZZTIME

.PHONY: all deps build test lint bench bench-full bench-peers gobench fuzz clean

all: build

deps:
	bash scripts/deps.sh

# The go command stamps the module version and git revision into the
# binary; the build time is added here (switchboard --version prints them).
BUILD_TIME := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)

build:
	$(GO) build -ldflags "-X github.com/switchboard/switchboard/internal/cli.BuildTime=$(BUILD_TIME)" -o switchboard ./cmd/switchboard

# One package at a time (-p 1): the browser and WebRTC tests then share the
# two cores with nothing else, and a busy machine does not starve them.
test: deps lint
	$(GO) test -race -count=1 -p 1 -timeout 15m ./...

lint:
	@unformatted="$$(gofmt -l . | grep -v -e '/node_modules/' -e '/testdata/' || true)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt -l: run gofmt -w on:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

bench-peers:
	cd bench/peers && $(GO) build -o bin/gws ./gws && $(GO) build -o bin/gorilla ./gorilla

bench: build bench-peers
	./switchboard bench suite

bench-full: build bench-peers
	./switchboard bench suite --full

gobench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz:
	bash scripts/fuzz.sh

clean:
	rm -rf bench/peers/bin
	rm -f switchboard coverage.out coverage.html *.coverprofile
