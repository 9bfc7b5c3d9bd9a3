package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/trace"
)

// Each container owns one directory under the state root:
//
//	<root>/<id>/            0700, flock'd by every command on this container
//	<root>/<id>/state.json  the record below, replaced atomically
//	<root>/<id>/exec.sock   exists from create until start: init waits on it
const (
	stateFile = "state.json"
	execSock  = "exec.sock"
)

// record is what later commands need to find and drive the container.
// Status is not stored: it is derived from the live system each time.
type record struct {
	ID          string            `json:"id"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Pid         int               `json:"pid"`
	PidStart    uint64            `json:"pidStart"` // starttime from /proc/PID/stat
	Created     time.Time         `json:"created"`
	CgroupPath  string            `json:"cgroupPath"`
	CgroupTop   string            `json:"cgroupTop,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Spec is the config create ran with, kept as the JSON it was saved
	// as. Most commands need a few of its fields or none (specSummary),
	// and decoding all of it costs a fresh husk process milliseconds:
	// encoding/json builds its codecs for every type a spec can hold.
	Spec json.RawMessage `json:"spec"`
	// RootfsMount is the id of the mount bindRootfsOnHost made, for a
	// container without a mount namespace: delete detaches it.
	RootfsMount uint64 `json:"rootfsMount,omitempty"`
	// Ready is set once create completed; before, the container is
	// "creating" (or was left by a husk that died: delete cleans up).
	Ready bool `json:"ready"`
}

var validID = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$`)

// ValidateID refuses IDs that could escape the state root or confuse
// tools: empty, longer than a file name may be (255 bytes), "/" or "..",
// control characters.
func ValidateID(id string) error {
	switch {
	case id == "":
		return errors.New("container id must not be empty")
	case len(id) > 255:
		return fmt.Errorf("container id %.20q...: longer than 255 bytes", id)
	case id == "." || id == ".." || strings.Contains(id, ".."):
		return fmt.Errorf("container id %q: must not contain \"..\"", id)
	case !validID.MatchString(id):
		return fmt.Errorf("container id %q: only letters, digits and _ . + - are allowed", id)
	}
	return nil
}

// stateDir is a locked container directory. Every command holds the lock
// from Load/create until it returns, so commands on one id are serialised.
type stateDir struct {
	path string
	dir  *os.File // the directory itself, flock'd
}

// lockNew creates and locks the directory for a new container. The mkdir
// is the existence check, so two creates of one id cannot both succeed.
func lockNew(root, id string) (*stateDir, error) {
	defer trace.T.Begin("lock")()
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("creating state root: %w", err)
	}
	if err := checkStateRoot(root); err != nil {
		return nil, err
	}
	path := filepath.Join(root, id)
	if err := os.Mkdir(path, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("container %q: %w", id, ErrExist)
		}
		return nil, fmt.Errorf("creating state dir: %w", err)
	}
	d, err := lockDir(path)
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	return d, nil
}

// lockExisting locks the directory of an existing container.
func lockExisting(root, id string) (*stateDir, error) {
	if err := checkStateRoot(root); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	d, err := lockDir(filepath.Join(root, id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("container %q: %w", id, ErrNotExist)
	}
	return d, err
}

func lockDir(path string) (*stateDir, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "flock", Path: path, Err: err}
	}
	// husk made it 0700, owned by the caller: anything else was put there
	// by someone else, and its state is not to be believed.
	if err := checkOwned(fd, path, 0o077); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &stateDir{path: path, dir: os.NewFile(uintptr(fd), path)}, nil
}

// checkStateRoot refuses a state root (not a symlink) that the caller
// does not own, or that others may write to: they could plant or swap
// container dirs. One that husk made is 0700; an existing one that is
// merely readable by others (an admin's 0755) is accepted.
func checkStateRoot(root string) error {
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening state root: %w", &os.PathError{Op: "open", Path: root, Err: err})
	}
	defer unix.Close(fd)
	return checkOwned(fd, root, 0o022)
}

// checkOwned refuses the directory fd (named path) unless the caller owns
// it and none of the mode bits in deny are set.
func checkOwned(fd int, path string, deny uint32) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if uid := uint32(os.Geteuid()); st.Uid != uid {
		return fmt.Errorf("checking %s: owned by uid %d, not by the caller (uid %d)", path, st.Uid, uid)
	}
	if mode := st.Mode & 0o7777; mode&deny != 0 {
		return fmt.Errorf("checking %s: mode %04o gives others access (want 0700)", path, mode)
	}
	return nil
}

// unlock releases the lock; a second call does nothing.
func (d *stateDir) unlock() {
	if d.dir != nil {
		d.dir.Close()
		d.dir = nil
	}
}

// load reads state.json. A directory without one belongs to a container
// whose create failed or is being deleted: it does not exist.
func (d *stateDir) load() (*record, error) {
	r, err := readRecordAt(int(d.dir.Fd()), d.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("container %q: %w", filepath.Base(d.path), ErrNotExist)
	}
	return r, err
}

// readRecord reads dir/state.json without the lock.
func readRecord(dir string) (*record, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	return readRecordAt(fd, dir)
}

// readRecordAt reads state.json from an open state dir, never through a
// symlink.
func readRecordAt(dirfd int, dir string) (*record, error) {
	name := filepath.Join(dir, stateFile)
	fd, err := unix.Openat(dirfd, stateFile, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	var r record
	if err := json.NewDecoder(f).Decode(&r); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return &r, nil
}

// spec decodes the whole config.
func (r *record) spec() (*specs.Spec, error) {
	var s specs.Spec
	if err := json.Unmarshal(r.Spec, &s); err != nil {
		return nil, fmt.Errorf("decoding the config in state.json: %w", err)
	}
	return &s, nil
}

// specSummary is what start and delete need of the config.
type specSummary struct {
	Hooks *specs.Hooks `json:"hooks,omitempty"`
	Linux *struct {
		IntelRdt *specs.LinuxIntelRdt `json:"intelRdt,omitempty"`
	} `json:"linux,omitempty"`
}

func (r *record) summary() (specSummary, error) {
	var s specSummary
	if err := json.Unmarshal(r.Spec, &s); err != nil {
		return s, fmt.Errorf("decoding the config in state.json: %w", err)
	}
	return s, nil
}

// summaryOf is the summary of a spec at hand.
func summaryOf(s *specs.Spec) specSummary {
	sum := specSummary{Hooks: s.Hooks}
	if s.Linux != nil && s.Linux.IntelRdt != nil {
		sum.Linux = &struct {
			IntelRdt *specs.LinuxIntelRdt `json:"intelRdt,omitempty"`
		}{s.Linux.IntelRdt}
	}
	return sum
}

// rdtSpec is a spec holding only linux.intelRdt, for intelRdtGroup.
func (s specSummary) rdtSpec() *specs.Spec {
	if s.Linux == nil || s.Linux.IntelRdt == nil {
		return &specs.Spec{}
	}
	return &specs.Spec{Linux: &specs.Linux{IntelRdt: s.Linux.IntelRdt}}
}

// save replaces state.json atomically: write a temp file, then rename.
func (d *stateDir) save(r *record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(d.path, stateFile), data, 0o600)
}

func (d *stateDir) remove() error {
	defer trace.T.Begin("remove state")()
	return os.RemoveAll(d.path)
}

// writeFileAtomic writes data to a temp file beside name and renames it
// over name, so readers see the old or the new content, never a part.
func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// pidStartTime returns field 22 of /proc/PID/stat (start time in clock
// ticks) and whether the process is a zombie. Together with the pid it
// identifies a process across pid reuse.
func pidStartTime(pid int) (start uint64, zombie bool, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false, err
	}
	// The command name may contain spaces and parentheses: skip past the last ')'.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, false, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 20 {
		return 0, false, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	start, err = strconv.ParseUint(fields[19], 10, 64)
	return start, fields[0] == "Z" || fields[0] == "X", err
}
