package cgroups

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/trace"
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

// ErrNoCgroup is what a container without a cgroup (husk rootless, where
// no cgroup was writable) answers to what only a cgroup can do.
var ErrNoCgroup = errors.New("the container has no cgroup (husk ran rootless and could not create one)")

// Manager is one container's cgroup. A nil *Manager is a container
// without one: it holds no processes, is never frozen, and refuses
// limits.
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

// Create makes the cgroup directory and any missing parents, and enables
// controllers on the way down so the container's cgroup has them. A
// cgroup that already exists is joined (engines pre-create pod cgroups)
// but must not hold processes.
func (m *Manager) Create(res *specs.LinuxResources) error {
	defer trace.T.Begin("cgroup create")()
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
	enableControllers(root, rel, wantedControllers(res))
	return nil
}

// enableControllers writes "+name" to each cgroup.subtree_control from the
// root down to the container's parent (each parent of a component of rel), for the controllers wanted (nil:
// all the root has). It is best effort: a parent holding processes cannot
// delegate, and a limit that then lacks its controller fails in Set with
// a message naming it.
func enableControllers(root, rel string, wanted map[string]bool) {
	avail, err := controllers(root)
	if err != nil {
		return
	}
	dir := root
	for _, part := range strings.Split(rel, "/") {
		enabled, _ := readFile(dir, "cgroup.subtree_control")
		on := map[string]bool{}
		for _, c := range strings.Fields(enabled) {
			on[c] = true
		}
		for c := range avail {
			if !on[c] && (wanted == nil || wanted[c]) {
				writeFile(dir, "cgroup.subtree_control", "+"+c)
			}
		}
		dir = filepath.Join(dir, part)
	}
}

// wantedControllers says which controllers to enable: on a pure v2 host
// all of them (nil), as runc and crun do, so stats are complete; on a
// hybrid host only those the limits need, so the host's cgroup2 root is
// left as it is unless a limit asks otherwise.
func wantedControllers(res *specs.LinuxResources) map[string]bool {
	if !Hybrid() {
		return nil
	}
	want := map[string]bool{}
	if res == nil {
		return want
	}
	if res.Pids != nil {
		want["pids"] = true
	}
	if res.Memory != nil {
		want["memory"] = true
	}
	if c := res.CPU; c != nil {
		want["cpu"] = true
		want["cpuset"] = c.Cpus != "" || c.Mems != ""
	}
	if res.BlockIO != nil {
		want["io"] = true
	}
	if len(res.HugepageLimits) > 0 {
		want["hugetlb"] = true
	}
	if len(res.Rdma) > 0 {
		want["rdma"] = true
	}
	for key := range res.Unified {
		c, _, _ := strings.Cut(key, ".")
		want[c] = true
	}
	return want
}

// Dir is the cgroup's directory, "" without a cgroup.
func (m *Manager) Dir() string {
	if m == nil {
		return ""
	}
	return m.Path
}

// TopDir is the highest directory create made, "" without a cgroup.
func (m *Manager) TopDir() string {
	if m == nil {
		return ""
	}
	return m.Top
}

// Open returns the cgroup directory for clone3(CLONE_INTO_CGROUP), or nil
// without a cgroup.
func (m *Manager) Open() (*os.File, error) {
	if m == nil {
		return nil, nil
	}
	f, err := os.OpenFile(m.Path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening cgroup: %w", err)
	}
	return f, nil
}

// Procs lists the pids in the cgroup.
func (m *Manager) Procs() ([]int, error) {
	if m == nil {
		return nil, ErrNoCgroup
	}
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
	if m == nil {
		return false
	}
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
	if m == nil {
		return ErrNoCgroup
	}
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

// Freeze stops every process in the cgroup and returns once the kernel
// reports the cgroup frozen.
func (m *Manager) Freeze() error { return m.setFrozen(true) }

// Thaw resumes a frozen cgroup.
func (m *Manager) Thaw() error { return m.setFrozen(false) }

func (m *Manager) setFrozen(frozen bool) error {
	if m == nil {
		return ErrNoCgroup
	}
	v := "0"
	if frozen {
		v = "1"
	}
	if err := writeFile(m.Path, "cgroup.freeze", v); err != nil {
		return err
	}
	return m.waitFrozen(frozen, 30*time.Second)
}

// waitFrozen waits until cgroup.events says "frozen" is as wanted. The
// kernel signals changes of cgroup.events to poll(2) as POLLPRI.
func (m *Manager) waitFrozen(frozen bool, timeout time.Duration) error {
	f, err := os.Open(filepath.Join(m.Path, "cgroup.events"))
	if err != nil {
		return err
	}
	defer f.Close()
	want := "frozen 0"
	if frozen {
		want = "frozen 1"
	}
	buf := make([]byte, 256)
	deadline := time.Now().Add(timeout)
	for {
		n, err := f.ReadAt(buf, 0)
		if err != nil && n == 0 {
			return err
		}
		if bytes.Contains(buf[:n], []byte(want)) {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("cgroup %s: not %q after %s", m.Path, want, timeout)
		}
		fds := []unix.PollFd{{Fd: int32(f.Fd()), Events: unix.POLLPRI}}
		if _, err := unix.Poll(fds, int(min(left, 100*time.Millisecond)/time.Millisecond)); err != nil && err != unix.EINTR {
			return os.NewSyscallError("poll", err)
		}
	}
}

// Destroy removes the cgroup and the empty parents this container's
// create made. Removing a cgroup whose last process has just exited can
// briefly fail with EBUSY, so it retries for a short while.
func (m *Manager) Destroy() error {
	if m == nil {
		return nil
	}
	defer trace.T.Begin("cgroup destroy")()
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
