# relayd — the two commands a newcomer needs are `make demo` and `make test`; both install
# the Debian packages first (scripts/install-deps is idempotent and fast when nothing is missing).
SWIFT ?= swift
SWIFT_BUILD_FLAGS ?=
# Tests use real loopback sockets and external judges (ffprobe, ffmpeg, chromium); running
# them in parallel across processes would only fight over the two cores.
SWIFT_TEST_FLAGS ?=

.PHONY: deps build test demo clean

deps:
	scripts/install-deps

build: deps
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)

test: deps
	$(SWIFT) build --build-tests $(SWIFT_BUILD_FLAGS)
	$(SWIFT) test --skip-build $(SWIFT_TEST_FLAGS)

demo: build
	$(SWIFT) run --skip-build relayd demo

clean:
	rm -rf .build
