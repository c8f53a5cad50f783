# relayd — the two commands a newcomer needs are `make demo` and `make test`; both install
# the Debian packages first (scripts/install-deps is idempotent and fast when nothing is missing).
SWIFT ?= swift
SWIFT_BUILD_FLAGS ?=
# Tests run one at a time: many use real loopback servers and foreign judges (ffmpeg, ffprobe,
# nginx, chromium) that a test waits for synchronously, and on a 2-core machine Swift's
# cooperative pool has two threads — tests blocking both in parallel starve the async HTTP
# handlers of the others into timeouts. Serial, the whole suite takes about 40 s.
SWIFT_TEST_FLAGS ?= --no-parallel

.PHONY: deps build test demo bench bench-baseline fuzz fuzz-smoke soak clean

deps:
	scripts/install-deps

build: deps
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)

test: deps
	$(SWIFT) build --build-tests $(SWIFT_BUILD_FLAGS)
	$(SWIFT) test --skip-build $(SWIFT_TEST_FLAGS)

demo: build
	$(SWIFT) run --skip-build relayd demo

# Release build: the figures are about optimized code. Not part of `make test`. Prints one
# table (figure | result | reference | goal | ok/MISS) and writes bench/results.json; the run
# itself takes 4–5 minutes on a busy 2-core machine (bench/README.md).
bench: deps
	$(SWIFT) build -c release --product relayd-bench
	$(SWIFT) run -c release --skip-build relayd-bench

# Keep the last `make bench` of the reference machine as the committed baseline.
bench-baseline:
	cp bench/results.json bench/baseline.json

# libFuzzer + AddressSanitizer on the parsers of outside input (Fuzz/README.md), built into
# .build-fuzz. FUZZ_SECONDS per target, FUZZ_TARGETS to choose (`.build-fuzz/debug/relayd-fuzz list`).
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?=
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" scripts/fuzz

fuzz-smoke: deps
	FUZZ_SECONDS=10 FUZZ_TARGETS="$(FUZZ_TARGETS)" scripts/fuzz

# One guest for SOAK_SECONDS (3600) under SOAK_IMPAIR (loss=5%), memory and stalls every
# SOAK_INTERVAL (60) s into soak/results.json. Not part of `make test`.
soak: deps
	SOAK_SECONDS=$(or $(SOAK_SECONDS),3600) SOAK_INTERVAL=$(or $(SOAK_INTERVAL),60) \
	  SOAK_IMPAIR="$(or $(SOAK_IMPAIR),loss=5%)" scripts/soak

clean:
	rm -rf .build .build-fuzz
