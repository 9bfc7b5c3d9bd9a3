package cgroups

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// DefaultParent is where containers go when cgroupsPath is empty or
// relative: <unified root>/husk/<id>.
const DefaultParent = "husk"

// UnifiedRoot returns the mount point of the cgroup v2 hierarchy.
var UnifiedRoot = sync.OnceValues(func() (string, error) {
	for _, dir := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st unix.Statfs_t
		if unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return dir, nil
		}
	}
	return "", errors.New("no cgroup v2 hierarchy is mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified")
})

// Manager is one container's cgroup.
type Manager struct {
	// Path is the cgroup's directory, e.g. /sys/fs/cgroup/husk/web.
	Path string
	// Top is the highest directory this container's create made (Path or
	// one of its parents); Destroy removes up to it while empty.
	Top string
}

// New resolves cgroupsPath for container id. An absolute cgroupsPath is
// taken from the root of the unified hierarchy; an empty or relative one
// goes under DefaultParent.
func New(cgroupsPath, id string) (*Manager, error) {
	root, err := UnifiedRoot()
	if err != nil {
		return nil, err
	}
	if strings.Contains(cgroupsPath, ":") {
		return nil, fmt.Errorf("%q: systemd cgroup paths (slice:prefix:name) are not supported; use a cgroupfs path", cgroupsPath)
	}
	rel := cgroupsPath
	switch {
	case rel == "":
		rel = filepath.Join(DefaultParent, id)
	case !filepath.IsAbs(rel):
		rel = filepath.Join(DefaultParent, rel)
	}
	// Clean as if rooted, so ".." can never climb out of the hierarchy.
	rel = filepath.Clean("/" + rel)
	if rel == "/" {
		return nil, fmt.Errorf("%q: the root cgroup cannot hold a container", cgroupsPath)
	}
	return &Manager{Path: filepath.Join(root, rel)}, nil
}

// Create makes the cgroup directory and any missing parents. A cgroup
// that already exists is joined (engines pre-create pod cgroups) but must
// not hold processes.
func (m *Manager) Create() error {
	root, _ := UnifiedRoot()
	rel, _ := filepath.Rel(root, m.Path)
	dir := root
	for _, part := range strings.Split(rel, "/") {
		dir = filepath.Join(dir, part)
		err := os.Mkdir(dir, 0o755)
		switch {
		case err == nil:
			if m.Top == "" {
				m.Top = dir
			}
		case errors.Is(err, os.ErrExist):
		default:
			m.Destroy()
			return fmt.Errorf("creating cgroup: %w", err)
		}
	}
	if m.Top == "" {
		pids, err := m.Procs()
		if err != nil {
			return err
		}
		if len(pids) > 0 {
			return fmt.Errorf("cgroup %s already holds processes %v", m.Path, pids)
		}
	}
	return nil
}

// Open returns the cgroup directory for clone3(CLONE_INTO_CGROUP).
func (m *Manager) Open() (*os.File, error) {
	f, err := os.OpenFile(m.Path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening cgroup: %w", err)
	}
	return f, nil
}

// Procs lists the pids in the cgroup.
func (m *Manager) Procs() ([]int, error) {
	data, err := os.ReadFile(filepath.Join(m.Path, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		pid, err := strconv.Atoi(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", filepath.Join(m.Path, "cgroup.procs"), err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// Frozen reports whether the cgroup is frozen (cgroup.events "frozen 1").
func (m *Manager) Frozen() bool {
	data, err := os.ReadFile(filepath.Join(m.Path, "cgroup.events"))
	if err != nil {
		return false
	}
	return bytes.Contains(data, []byte("frozen 1"))
}

// Signal sends sig to every process in the cgroup. SIGKILL uses
// cgroup.kill when the kernel has it; other signals are sent to each pid
// with the cgroup frozen, so no process can fork past the signal.
func (m *Manager) Signal(sig unix.Signal) error {
	if sig == unix.SIGKILL {
		err := writeFile(m.Path, "cgroup.kill", "1")
		if err == nil || !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := m.setFrozen(true); err != nil {
		return err
	}
	pids, err := m.Procs()
	for _, pid := range pids {
		if e := unix.Kill(pid, sig); e != nil && e != unix.ESRCH {
			err = errors.Join(err, fmt.Errorf("signalling pid %d: %w", pid, e))
		}
	}
	return errors.Join(err, m.setFrozen(false))
}

func (m *Manager) setFrozen(frozen bool) error {
	v := "0"
	if frozen {
		v = "1"
	}
	if err := writeFile(m.Path, "cgroup.freeze", v); err != nil {
		return err
	}
	for i := 0; i < 1000; i++ {
		if m.Frozen() == frozen {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("cgroup %s: freezer did not reach frozen=%s", m.Path, v)
}

// Destroy removes the cgroup and the empty parents this container's
// create made. Removing a cgroup whose last process has just exited can
// briefly fail with EBUSY, so it retries for a short while.
func (m *Manager) Destroy() error {
	var err error
	for i := 0; i < 100; i++ {
		err = unix.Rmdir(m.Path)
		if err != unix.EBUSY {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err != nil && err != unix.ENOENT {
		return fmt.Errorf("removing cgroup %s: %w", m.Path, err)
	}
	if m.Top == "" || m.Top == m.Path {
		return nil
	}
	for dir := filepath.Dir(m.Path); strings.HasPrefix(dir, m.Top); dir = filepath.Dir(dir) {
		if unix.Rmdir(dir) != nil {
			break // shared with another container, or not ours
		}
	}
	return nil
}

// writeFile writes one value to a cgroup control file. The value is part
// of any error, since "invalid argument" alone says nothing.
func writeFile(dir, name, value string) error {
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteString(value); err != nil {
		return fmt.Errorf("writing %q to %s: %w", value, path, err)
	}
	return nil
}

// Apply writes linux.resources to the cgroup.
// TODO(cgroups issue): limits; for now only an empty request is accepted.
func (m *Manager) Apply(res *specs.LinuxResources) error {
	if res == nil {
		return nil
	}
	r := *res
	r.Devices = nil
	if !reflect.DeepEqual(r, specs.LinuxResources{}) {
		return errors.New("linux.resources: resource limits are not supported yet")
	}
	return nil
}
