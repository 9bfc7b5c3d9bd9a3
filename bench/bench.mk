# Benchmark: husk beside runc and crun (Debian's packages), interleaved in
# one run on the same busybox bundle; prints medians and ratios to husk.
# A program (bench/), not a `go test`: benchmarks are not timed tests.
#
# Included by the main Makefile (include bench/bench.mk), or on its own
# after `make husk`:
#
#	make -f bench/bench.mk bench      # on this host (crun in a private mount namespace: see bench/README.md)
#	make -f bench/bench.mk bench-vm   # in the pure cgroup v2 VM, all three the same way
#
# Needs root and: apt-get install -y --no-install-recommends busybox-static runc crun
GO            ?= go
VMRUN         ?= ../shared/vm/run
# Extra flags for bin/bench (bin/bench -h lists them), e.g. -n 50 -raw samples.json.
BENCH_FLAGS   ?=
# The VM's CPU is ~25x slower (TCG): fewer iterations, fewer rounds.
BENCH_VMFLAGS ?= -n 8 -rounds 1 -loaded 3 -wait 120s

.PHONY: bench bench-vm bench-bin

bench-bin:
	$(GO) build -o bin/bench ./bench

bench: husk bench-bin
	bin/bench -husk $(CURDIR)/husk -seccomp $(CURDIR)/bench/testdata/docker-default-seccomp.json $(BENCH_FLAGS)

# The VM runs a copy of husk, so rebuilding ./husk meanwhile is harmless.
bench-vm: husk bench-bin
	cp husk bin/husk-bench-vm
	$(VMRUN) --timeout 3600 -- bin/bench -label "vm (../shared/vm/run)" -husk $(CURDIR)/bin/husk-bench-vm \
		-seccomp $(CURDIR)/bench/testdata/docker-default-seccomp.json $(BENCH_VMFLAGS) $(BENCH_FLAGS)
