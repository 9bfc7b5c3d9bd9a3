package cgroups

import (
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// CheckControllers tells, without writing anything, which limits of res
// this cgroup could not apply: the same steps and messages as Set, run
// dry against the controllers the nearest existing cgroup on the way
// offers (husk enables them downwards when it creates the rest).
func (m *Manager) CheckControllers(res *specs.LinuxResources) []error {
	if m == nil || res == nil {
		return nil
	}
	avail, err := controllers(m.nearestExisting())
	if err != nil {
		return nil
	}
	s := &setter{dir: m.Path, avail: avail, dry: true}
	steps := append(limitSteps(s, res, false), func() error { return setUnified(s, res.Unified) })
	var errs []error
	for _, step := range steps {
		if err := step(); err != nil {
			errs = append(errs, err)
		}
	}
	if res.Network != nil {
		errs = append(errs, fieldErr("network", "net_cls and net_prio are cgroup v1 controllers; cgroup v2 has none"))
	}
	return errs
}

// nearestExisting is the cgroup itself if it exists, else its closest
// existing ancestor.
func (m *Manager) nearestExisting() string {
	root, _ := UnifiedRoot()
	dir := m.Path
	for dir != root && dir != "/" {
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
		dir = filepath.Dir(dir)
	}
	return dir
}

// Writable reports whether this process may create the cgroup (a
// rootless caller usually may not).
func (m *Manager) Writable() bool {
	if m == nil {
		return false
	}
	return unix.Access(m.nearestExisting(), unix.W_OK) == nil
}

// CheckDeviceFilter compiles the device rules and loads the program
// without attaching it, to tell whether create could.
func CheckDeviceFilter(res *specs.LinuxResources, devices []specs.LinuxDevice) error {
	var rules []specs.LinuxDeviceCgroup
	if res != nil {
		rules = res.Devices
	}
	insns, err := compileDeviceRules(DeviceRules(rules, devices))
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return nil // rootless: no device filter is loaded
	}
	fd, err := loadDeviceProgram(insns)
	if err != nil {
		return fieldErr("devices", "loading the device filter: %v", err)
	}
	unix.Close(fd)
	return nil
}
