package cgroups

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setCPU: shares → cpu.weight, quota/period → cpu.max, burst →
// cpu.max.burst, idle → cpu.idle. Real-time budgets exist only in v1.
func setCPU(s *setter, c *specs.LinuxCPU) error {
	if c == nil {
		return nil
	}
	if c.RealtimeRuntime != nil || c.RealtimePeriod != nil {
		return fieldErr("cpu.realtimeRuntime", "real-time CPU budgets are a cgroup v1 feature; cgroup v2 has none")
	}
	if c.Shares != nil && *c.Shares != 0 {
		if err := s.write("cpu", "cpu.shares", "cpu.weight", fmt.Sprint(SharesToWeight(*c.Shares))); err != nil {
			return err
		}
	}
	if c.Quota != nil || c.Period != nil {
		if err := s.write("cpu", "cpu.quota", "cpu.max", cpuMax(s, c)); err != nil {
			return err
		}
	}
	if c.Burst != nil {
		if err := s.write("cpu", "cpu.burst", "cpu.max.burst", fmt.Sprint(*c.Burst)); err != nil {
			return err
		}
	}
	if c.Idle != nil {
		if err := s.write("cpu", "cpu.idle", "cpu.idle", fmt.Sprint(*c.Idle)); err != nil {
			return err
		}
	}
	return nil
}

// SharesToWeight maps cgroup v1 cpu.shares [2, 262144] linearly onto
// cgroup v2 cpu.weight [1, 10000], the conversion runc, crun and the
// kubelet share.
func SharesToWeight(shares uint64) uint64 {
	switch {
	case shares == 0:
		return 0
	case shares <= 2:
		return 1
	case shares >= 262144:
		return 10000
	}
	return 1 + (shares-2)*9999/262142
}

// cpuMax renders "quota period": a missing or non-positive quota is
// "max"; a missing period keeps the current one (100000 by default).
func cpuMax(s *setter, c *specs.LinuxCPU) string {
	quota, period := "max", "100000"
	if cur, err := readFile(s.dir, "cpu.max"); err == nil {
		if f := strings.Fields(cur); len(f) == 2 {
			quota, period = f[0], f[1]
		}
	}
	if c.Quota != nil {
		quota = maxOr(*c.Quota)
		if *c.Quota == 0 {
			quota = "max"
		}
	}
	if c.Period != nil && *c.Period != 0 {
		period = fmt.Sprint(*c.Period)
	}
	return quota + " " + period
}

// setCpuset: cpus → cpuset.cpus, mems → cpuset.mems.
func setCpuset(s *setter, c *specs.LinuxCPU) error {
	if c == nil {
		return nil
	}
	if c.Cpus != "" {
		if err := s.write("cpuset", "cpu.cpus", "cpuset.cpus", c.Cpus); err != nil {
			return err
		}
	}
	if c.Mems != "" {
		if err := s.write("cpuset", "cpu.mems", "cpuset.mems", c.Mems); err != nil {
			return err
		}
	}
	return nil
}
