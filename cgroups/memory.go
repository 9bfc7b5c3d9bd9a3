package cgroups

import (
	"errors"
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setMemory: limit → memory.max, reservation → memory.low, swap (which
// the spec counts as memory+swap, as cgroup v1 did) → memory.swap.max as
// the difference. kernel is obsolete and ignored, as the spec allows;
// kernelTCP, swappiness and disableOOMKiller have no cgroup v2 file and
// are refused. With update, checkBeforeUpdate refuses a limit below the
// current usage.
func setMemory(s *setter, m *specs.LinuxMemory, update bool) error {
	if m == nil {
		return nil
	}
	switch {
	case m.KernelTCP != nil:
		return fieldErr("memory.kernelTCP", "cgroup v2 has no separate TCP memory limit")
	case m.Swappiness != nil:
		return fieldErr("memory.swappiness", "cgroup v2 has no per-cgroup swappiness")
	case m.DisableOOMKiller != nil && *m.DisableOOMKiller:
		return fieldErr("memory.disableOOMKiller", "cgroup v2 cannot disable the OOM killer")
	}
	limit := int64(0)
	if m.Limit != nil {
		limit = *m.Limit
	}
	if m.Swap != nil {
		swap, err := swapToV2(*m.Swap, limit)
		if err != nil {
			return fieldErr("memory.swap", "%v", err)
		}
		if swap != 0 && !(swap < 0 && !s.exists("memory.swap.max")) {
			if err := s.write("memory", "memory.swap", "memory.swap.max", maxOr(swap)); err != nil {
				return err
			}
		}
	}
	if limit != 0 {
		if update && m.CheckBeforeUpdate != nil && *m.CheckBeforeUpdate && limit > 0 {
			if err := checkUsageBelow(s, limit); err != nil {
				return err
			}
		}
		if err := s.write("memory", "memory.limit", "memory.max", maxOr(limit)); err != nil {
			return err
		}
	}
	if m.Reservation != nil && *m.Reservation != 0 {
		if err := s.write("memory", "memory.reservation", "memory.low", maxOr(*m.Reservation)); err != nil {
			return err
		}
	}
	return nil
}

// swapToV2 turns the spec's memory+swap total into memory.swap.max:
// -1 is unlimited, 0 leaves it alone; otherwise swap - limit, which needs
// a memory limit to subtract. An unlimited memory with no swap setting
// makes swap unlimited too, as on cgroup v1.
func swapToV2(swap, limit int64) (int64, error) {
	switch {
	case limit == -1 && swap == 0:
		return -1, nil
	case swap == -1 || swap == 0:
		return swap, nil
	case limit == 0 || limit == -1:
		return 0, errors.New("a swap limit needs a memory limit")
	case swap < limit:
		return 0, fmt.Errorf("memory+swap (%d) must be at least the memory limit (%d)", swap, limit)
	}
	return swap - limit, nil
}

func checkUsageBelow(s *setter, limit int64) error {
	cur, err := readFile(s.dir, "memory.current")
	if err != nil {
		return fieldErr("memory.checkBeforeUpdate", "reading memory.current: %v", err)
	}
	usage, err := strconv.ParseInt(cur, 10, 64)
	if err != nil {
		return fieldErr("memory.checkBeforeUpdate", "parsing memory.current %q", cur)
	}
	if usage >= limit {
		return fieldErr("memory.limit", "%d is below the current usage %d (checkBeforeUpdate)", limit, usage)
	}
	return nil
}
