# husk: build, demo, tests.
GO      ?= go
TAGS    ?= seccomp
VERSION ?= 0.1.0-dev
COMMIT  := $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.gitCommit=$(COMMIT)
TESTFLAGS ?=

.PHONY: husk demo test unit integration clean

husk:
	$(GO) build -tags "$(TAGS)" -ldflags "$(LDFLAGS)" -o husk .

# Build husk, make a busybox bundle with `husk spec`, run it (needs root
# and /bin/busybox from busybox-static).
demo: husk
	bash tests/demo.sh ./husk

# Every test: unit tests, then the root integration suite on this host.
test: unit integration

unit:
	$(GO) vet -tags "$(TAGS)" ./...
	$(GO) test -tags "$(TAGS)" $(TESTFLAGS) ./libcontainer/... ./cgroups/... ./seccomp/...

integration: husk
	HUSK_BINARY=$(CURDIR)/husk $(GO) test -tags "$(TAGS)" -count=1 -timeout 30m $(TESTFLAGS) ./tests/integration/

clean:
	rm -f husk
