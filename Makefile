# Every command run by hand on this project has a target here.
GO       ?= go
BIN      ?= bin
PKGS     := ./...
DEMO_DIR ?= $(CURDIR)/.demo
DEMO_ADDR ?= 127.0.0.1:8089
# FUZZTIME is a count of executions per fuzz target: a duration can trip a
# false failure in Go 1.26's fuzz coordinator (see scripts/fuzz.sh).
FUZZTIME ?= 20000x

.PHONY: all build test race test-short demo lint fmt bench bench-pace fuzz ci clean deps-browser

all: build

## build: compile activator and portalsim into ./bin
build:
	$(GO) build -o $(BIN)/activator ./cmd/activator
	$(GO) build -o $(BIN)/portalsim ./cmd/portalsim

## test: every test, including the browser tests (needs chromium) and the testscript end-to-end scripts
test:
	$(GO) test -count=1 -timeout 20m $(PKGS)

## race: every test under the race detector
race:
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

## test-short: the inner loop: no Chromium, no cli history build, no fault-storm script
test-short:
	$(GO) test -count=1 -short $(PKGS)

## demo: the main job against the simulator with a local SQLite file
demo: build
	@bash scripts/demo.sh "$(BIN)" "$(DEMO_DIR)" "$(DEMO_ADDR)"

## lint: go vet, a gofmt check and the function length limits (internal/lint)
lint:
	$(GO) vet $(PKGS)
	$(GO) test -count=1 ./internal/lint/
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

fmt:
	gofmt -w $$(git ls-files '*.go')

## bench: the benchmarks (pace against a rate-limited simulator, local cost per org, brands streaming)
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=1x -timeout 60m $(PKGS)

## bench-pace: BenchmarkPace alone, the table README shows (about 25 minutes: 8 lines, 3 runs each; BENCH_PACE_RUNS=1 for a quick look)
bench-pace:
	$(GO) test -run='^$$' -bench='^BenchmarkPace$$' -benchtime=1x -timeout 60m ./internal/activate

## fuzz: each fuzz target briefly
fuzz:
	@bash scripts/fuzz.sh $(FUZZTIME)

## deps-browser: install Debian's chromium for the browser tests
deps-browser:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

clean:
	rm -rf $(BIN) $(DEMO_DIR)
