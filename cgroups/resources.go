package cgroups

import (
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/libcontainer/trace"
)

// Set applies linux.resources to the cgroup, one controller at a time,
// in a fixed order. allowDevices are the container's linux.devices, which
// the device program allows besides the rules and the standard devices.
// Every error names the field it is about.
func (m *Manager) Set(res *specs.LinuxResources, allowDevices []specs.LinuxDevice) error {
	if m == nil {
		if HasLimits(res) {
			return fmt.Errorf("linux.resources: %w: limits cannot be applied", ErrNoCgroup)
		}
		return nil // device rules need a cgroup too; rootless, the kernel's own checks stand
	}
	defer trace.T.Begin("cgroup set")()
	s, err := m.setter()
	if err != nil {
		return err
	}
	if res == nil {
		res = &specs.LinuxResources{}
	}
	for _, step := range limitSteps(s, res, false) {
		if err := step(); err != nil {
			return err
		}
	}
	// net_cls/net_prio exist only in cgroup v1.
	if res.Network != nil {
		return fieldErr("network", "net_cls and net_prio are cgroup v1 controllers; cgroup v2 has none")
	}
	// unified: written verbatim, after everything else, so it can override.
	if err := setUnified(s, res.Unified); err != nil {
		return err
	}
	// The device program last: it replaces any previous one atomically.
	return m.setDevices(res.Devices, allowDevices)
}

// Update changes the limits of a running container: like Set, but the
// device rules stay, and memory.checkBeforeUpdate is honoured.
func (m *Manager) Update(res *specs.LinuxResources) error {
	if m == nil {
		return ErrNoCgroup
	}
	s, err := m.setter()
	if err != nil {
		return err
	}
	for _, step := range limitSteps(s, res, true) {
		if err := step(); err != nil {
			return err
		}
	}
	return setUnified(s, res.Unified)
}

// HasLimits reports whether res asks for any limit (device rules aside).
func HasLimits(res *specs.LinuxResources) bool {
	if res == nil {
		return false
	}
	r := *res
	r.Devices = nil
	return r.Memory != nil || r.CPU != nil || r.Pids != nil || r.BlockIO != nil ||
		len(r.HugepageLimits) > 0 || r.Network != nil || len(r.Rdma) > 0 || len(r.Unified) > 0
}

// setter writes resource files of one cgroup, checking first that the
// file's controller is available there.
type setter struct {
	dir   string
	avail map[string]bool
	dry   bool // check only: write nothing (husk check, and create before it starts init)
}

func (m *Manager) setter() (*setter, error) {
	avail, err := controllers(m.Path)
	if err != nil {
		return nil, fmt.Errorf("reading controllers of %s: %w", m.Path, err)
	}
	return &setter{dir: m.Path, avail: avail}, nil
}

// write sets file to value for field (a path under linux.resources).
// "max" is the kernel's default, so a missing controller honours it.
func (s *setter) write(controller, field, file, value string) error {
	if !s.avail[controller] {
		if value == "max" {
			return nil
		}
		return fieldErr(field, "the %s controller is not available in %s%s", controller, s.dir, hybridNote())
	}
	if s.dry {
		return nil
	}
	if err := writeFile(s.dir, file, value); err != nil {
		return fieldErr(field, "%v", err)
	}
	return nil
}

func (s *setter) exists(file string) bool {
	if s.dry {
		return true
	}
	_, err := os.Stat(filepath.Join(s.dir, file))
	return err == nil
}

// fieldErr names a linux.resources field in an error.
func fieldErr(field, format string, args ...any) error {
	return fmt.Errorf("linux.resources.%s: %s", field, fmt.Sprintf(format, args...))
}

// Hybrid reports whether husk is using the cgroup2 mount of a hybrid host.
func Hybrid() bool {
	root, _ := UnifiedRoot()
	return root == "/sys/fs/cgroup/unified"
}

func hybridNote() string {
	if Hybrid() {
		return " (hybrid cgroup host: cgroup v1 owns this controller, and husk limits only through cgroup v2)"
	}
	return ""
}

// maxOr renders a limit where -1 (or any negative) means unlimited.
func maxOr(v int64) string {
	if v < 0 {
		return "max"
	}
	return fmt.Sprint(v)
}

// limitSteps are the writes of res's limits, in the order they must go
// in (unified, which may override them, comes after). Set, Update and
// CheckControllers share them, so a dry run meets what a real one would.
func limitSteps(s *setter, res *specs.LinuxResources, update bool) []func() error {
	return []func() error{
		// pids first: a tight pids.max must hold before anything forks.
		func() error { return setPids(s, res.Pids) },
		// memory.swap.max before memory.max, as the swap value is derived.
		func() error { return setMemory(s, res.Memory, update) },
		// cpu.weight, cpu.max, cpu.max.burst, cpu.idle.
		func() error { return setCPU(s, res.CPU) },
		// cpuset.cpus and cpuset.mems.
		func() error { return setCpuset(s, res.CPU) },
		// io.weight / io.bfq.weight and io.max.
		func() error { return setIO(s, res.BlockIO) },
		// hugetlb.<size>.max.
		func() error { return setHugetlb(s, res.HugepageLimits) },
		// rdma.max.
		func() error { return setRdma(s, res.Rdma) },
	}
}
