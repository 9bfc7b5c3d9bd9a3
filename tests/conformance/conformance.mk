# OCI conformance: the runtime-tools validation suite run against husk,
# with runc (and crun) beside it for comparison.
#
# Included by the main Makefile (include tests/conformance/conformance.mk),
# or on its own after `make husk`:
#
#	make -f tests/conformance/conformance.mk conformance                      # husk and runc, on this host
#	make -f tests/conformance/conformance.mk conformance RUNTIMES="husk runc crun"
#	make -f tests/conformance/conformance.mk conformance-vm                   # the same in the cgroup v2 VM
#	make conformance-ci       # CI: gated on tests/conformance/known-gaps.txt (make test runs it)
#
# runtime-tools is taken through the Go module proxy at a pinned commit
# and built here (into bin/conformance/rt), never copied into the repo and
# never a dependency of husk's module. Needs root.
#
# The harness (tests/conformance, stdlib only) prints a table of
# pass/fail/skip per validation program and runtime, the assertions runc
# passes and husk does not, and closes with one line per runtime, husk's
# last: "husk: N passed, M failed, K skipped". Each run's TAP and stderr,
# the report and results.json are kept in $(CONF_OUT).
GO            ?= go
VMRUN         ?= ../shared/vm/run
RT_MODULE     := github.com/opencontainers/runtime-tools
# master of 2025-11-14 (the proxy refuses @master: pin the pseudo-version)
RT_VERSION    ?= v0.9.1-0.20251114084447-edf4cb3d2116
# The first runtime is the one under test; runc is the reference.
RUNTIMES      ?= husk runc
CONF_husk     ?= $(CURDIR)/husk
# husk again, given configs without linux.seccomp: what husk scores on
# everything else while it lacks seccomp (not a conformance run).
CONF_husk-noseccomp ?= $(CONF_husk)
CONF_runc     ?= runc
CONF_crun     ?= crun
CONF_BIN      ?= bin/conformance
CONF_OUT      ?= $(CONF_BIN)/results
# Extra harness flags, e.g. -v, -run 'hooks|kill', -jobs 2, -timeout 3m,
# -gate -expect tests/conformance/known-gaps.txt
CONF_FLAGS    ?=
# What runs in the VM: the programs that set cgroup limits (husk applies
# them only on a pure cgroup v2 host). Its CPU is emulated (about 25x
# slower): fewer at a time, more time each. CONF_VMFLAGS="-jobs 2
# -timeout 10m" runs the whole suite there (about 30 minutes).
CONF_VMFLAGS  ?= -jobs 2 -timeout 10m -run '^(linux_cgroups_|delete_resources$$)'

RT_DIR         = $(CONF_BIN)/rt
RT_STAMP       = $(RT_DIR)/.built-$(RT_VERSION)
# The module's directory in the module cache, for its rootfs tarball.
RT_SRC         = $(shell $(GO) mod download -json $(RT_MODULE)@$(RT_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$$/\1/p')
CONF_RUNTIMES  = $(if $(filter husk-noseccomp,$(RUNTIMES)),-noseccomp husk-noseccomp) \
                 $(foreach r,$(RUNTIMES),$(r)=$(CONF_$(r)))

# CI (make test): husk, with runc beside it when runc is installed, on
# this host, gated: fails when husk fails an assertion runc passes (or,
# with husk alone, any assertion) that known-gaps.txt does not list.
# Bounded: 90 s per program, 8 minutes for the whole run, plus building
# the suite. The programs mostly wait (sleeps, polls), so 6 run at a time
# even on 2 cores: 3.3 minutes there, under a load of 20 (5 with 3).
CONF_CI_RUNTIMES ?= husk $(if $(shell command -v $(CONF_runc)),runc)
CONF_CI_FLAGS    ?= -timeout 90s -jobs 6 -gate -expect tests/conformance/known-gaps.txt
CONF_CI_LIMIT    ?= 8m

.PHONY: conformance conformance-vm conformance-bin conformance-ci

# The validation programs, and runtimetest static (it runs inside the
# containers' busybox rootfs), built from the module at $(RT_VERSION).
$(RT_STAMP):
	rm -rf $(RT_DIR) && mkdir -p $(RT_DIR)
	GOBIN=$(abspath $(RT_DIR)) $(GO) install $(RT_MODULE)/validation/...@$(RT_VERSION)
	CGO_ENABLED=0 GOBIN=$(abspath $(RT_DIR)) $(GO) install -tags "netgo osusergo" $(RT_MODULE)/cmd/runtimetest@$(RT_VERSION)
	cp $(RT_SRC)/rootfs-amd64.tar.gz $(RT_DIR)/rootfs.tar.gz
	touch $@

conformance-bin: $(RT_STAMP)
	$(GO) build -o $(CONF_BIN)/conformance ./tests/conformance

conformance: husk conformance-bin
	$(CONF_BIN)/conformance -bin $(RT_DIR) -rootfs $(RT_DIR)/rootfs.tar.gz -out $(CONF_OUT) \
		$(CONF_FLAGS) $(CONF_RUNTIMES)

# On a pure cgroup v2 host: the VM runs a copy of husk, so rebuilding
# ./husk meanwhile is harmless. Bundles and state live in the VM's /tmp;
# the results come back in $(CONF_OUT)-vm.
conformance-vm: husk conformance-bin
	cp husk $(CONF_BIN)/husk-vm
	$(VMRUN) --timeout 3000 -- $(CONF_BIN)/conformance -bin $(RT_DIR) -rootfs $(RT_DIR)/rootfs.tar.gz \
		-out $(CONF_OUT)-vm $(CONF_VMFLAGS) $(CONF_FLAGS) \
		$(patsubst %=$(CONF_husk),%=$(abspath $(CONF_BIN))/husk-vm,$(CONF_RUNTIMES))

conformance-ci: husk conformance-bin
	timeout -s INT $(CONF_CI_LIMIT) $(CONF_BIN)/conformance -bin $(RT_DIR) -rootfs $(RT_DIR)/rootfs.tar.gz \
		-out $(CONF_OUT)-ci $(CONF_CI_FLAGS) $(foreach r,$(CONF_CI_RUNTIMES),$(r)=$(CONF_$(r)))
