package libcontainer

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// maxListID bounds the ids of a CPU or node list: both are parsed into a
// unix.CPUSet, a 1024-bit mask (the kernel's CPU_SETSIZE, and more nodes
// than MAX_NUMNODES allows).
const maxListID = 1023

// parseList reads the kernel's list format, "0-3,7" (ids and inclusive
// ranges, comma-separated; the spec's schema also allows spaces), into a
// mask. An empty or blank list is an empty mask.
func parseList(list string) (*unix.CPUSet, error) {
	var set unix.CPUSet
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			if strings.TrimSpace(list) == "" {
				break
			}
			return nil, fmt.Errorf("%q: empty element", list)
		}
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := parseListID(lo)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", list, err)
		}
		last := first
		if isRange {
			if last, err = parseListID(hi); err != nil {
				return nil, fmt.Errorf("%q: %w", list, err)
			}
			if last < first {
				return nil, fmt.Errorf("%q: range %s is backwards", list, part)
			}
		}
		for id := first; id <= last; id++ {
			set.Set(id)
		}
	}
	return &set, nil
}

func parseListID(s string) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n > maxListID {
		return 0, fmt.Errorf("%d is above %d", n, maxListID)
	}
	return n, nil
}

// process.execCPUAffinity applies to processes husk exec starts, never to
// the container's init (the spec: "not applicable to the container's init
// process"). Its two halves, in the spec's words:
//
//	initial: "a list of CPUs a runtime parent process to be run on
//	         initially, before the transition to container's cgroup"
//	final:   "a list of CPUs the process will be run on after the
//	         transition to container's cgroup"
//
// husk's exec init is cloned straight into the container's cgroup, so
// initial is set on the (throwaway) thread that clones it, and inherited;
// the kernel may then adjust it to the cgroup's cpuset. final is set by
// that init right before execve. With no final, the affinity is left as
// the kernel made it ("runtime SHOULD NOT change process' CPU affinity").

// initialAffinity is the mask husk exec's cloning thread takes, or nil.
func initialAffinity(b *bootstrap) (*unix.CPUSet, error) {
	a := b.Spec.Process.ExecCPUAffinity
	if !b.Exec || a == nil || strings.TrimSpace(a.Initial) == "" {
		return nil, nil
	}
	set, err := parseList(a.Initial)
	if err != nil {
		return nil, fmt.Errorf("process.execCPUAffinity.initial: %w", err)
	}
	return set, nil
}

// finalAffinity is the mask set right before execve, or nil.
func finalAffinity(exec bool, a *specs.CPUAffinity) (*unix.CPUSet, error) {
	if !exec || a == nil || strings.TrimSpace(a.Final) == "" {
		return nil, nil
	}
	set, err := parseList(a.Final)
	if err != nil {
		return nil, fmt.Errorf("process.execCPUAffinity.final: %w", err)
	}
	return set, nil
}

// setAffinity sets the calling thread's CPU affinity.
func setAffinity(field, list string, set *unix.CPUSet) error {
	if err := unix.SchedSetaffinity(0, set); err != nil {
		return fmt.Errorf("process.execCPUAffinity.%s: sched_setaffinity(%s): %w", field, list, err)
	}
	return nil
}
