# Engine tests: containerd (through ctr) and podman (through conmon)
# driving husk, and runc as the reference, scenario by scenario.
#
# Included by the main Makefile (include tests/engines/engines.mk), or on
# its own after `make husk`:
#
#	make -f tests/engines/engines.mk engines      # on this host
#	make -f tests/engines/engines.mk engines-vm   # the cgroup v2 scenarios, in the VM
#
# Needs root, busybox-static and the engines:
#	apt-get install -y --no-install-recommends containerd podman conmon runc netavark
# The binary prints a tally at the end:
#	engines tally: containerd: husk N/M, runc N/M; podman: husk N/M, runc N/M
GO             ?= go
VMRUN          ?= ../shared/vm/run
# Extra flags for the test binary, e.g. -test.v or -test.run TestPodman.
ENGINES_FLAGS  ?=
# What runs in the VM: the scenarios that need a pure cgroup v2 host
# (limits, and containerd's metrics, which its shim reads from v1 on a
# hybrid host). Levels are test/runtime/scenario.
ENGINES_VMTESTS ?= //^(memory-limit|pids-limit|metrics)$$

.PHONY: engines engines-vm engines-bin

# Built on the host, where the CPU is fast; run here or in the VM.
engines-bin:
	$(GO) test -c -o bin/engines.test ./tests/engines/

engines: husk engines-bin
	HUSK_BINARY=$(CURDIR)/husk bin/engines.test -test.timeout 20m $(ENGINES_FLAGS)

engines-vm: husk engines-bin
	cp husk bin/husk-vm
	$(VMRUN) --timeout 1800 -- env HUSK_BINARY=$(CURDIR)/bin/husk-vm bin/engines.test \
		-test.run '$(ENGINES_VMTESTS)' -test.timeout 25m -test.v $(ENGINES_FLAGS)
