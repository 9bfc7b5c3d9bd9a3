package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/cgroups"
	"github.com/husk-runtime/husk/libcontainer/trace"
)

// Status is the container's life-cycle state as the runtime spec names
// it, plus runc's "paused".
type Status string

const (
	Creating Status = "creating"
	Created  Status = "created"
	Running  Status = "running"
	Paused   Status = "paused"
	Stopped  Status = "stopped"
)

// State is what `husk state` prints: the runtime spec's state plus the
// fields runc adds (rootfs, created, owner). pid is 0 once stopped.
type State struct {
	Version     string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      Status            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Owner       string            `json:"owner"`
}

// Container is one container, loaded and locked by the calling command.
type Container struct {
	dir *stateDir
	rec *record
	// sum is the part of rec.Spec that start and delete need; spec, all
	// of it, is decoded on demand (husk exec).
	sum  specSummary
	spec *specs.Spec
	cg   *cgroups.Manager
	// init is set only in the process that created the container.
	init *initProcess
	// rdt is the linux.intelRdt group create set up (to undo on failure).
	rdt *rdtGroup
	// Warn receives what must not fail an operation: poststart and
	// poststop hook failures. Nil drops them.
	Warn func(msg string)
}

func (c *Container) warn(err error) {
	if err != nil && c.Warn != nil {
		c.Warn(err.Error())
	}
}

// CreateOpts are create's and run's flags.
type CreateOpts struct {
	Bundle       string // absolute
	PidFile      string
	NoPivot      bool
	NoNewKeyring bool
	PreserveFDs  int
	Stdio        [3]*os.File // nil: husk's own
	// Logf receives warnings and debug lines: init's during create
	// (prefixed "init: "), and husk's own.
	Logf func(level, msg string)
	// Warn becomes the container's Warn (poststart, poststop failures).
	Warn func(msg string)
	// ConsoleSocket is where the pty master goes with process.terminal;
	// without one, Attach receives it (husk run in the foreground).
	ConsoleSocket string
	Attach        ConsoleFunc
	// BeforeChanges, if set, is called once the config is loaded and
	// valid, before create makes anything (state dir, cgroup, init).
	BeforeChanges func()
}

func (o *CreateOpts) stdio() [3]*os.File {
	s := o.Stdio
	for i, f := range []*os.File{os.Stdin, os.Stdout, os.Stderr} {
		if s[i] == nil {
			s[i] = f
		}
	}
	return s
}

// Create runs the pipeline up to a created container: config → validate →
// state dir → cgroup → init in its namespaces, rootfs pivoted, waiting.
// On any failure everything made so far is undone.
func Create(root, id string, opts CreateOpts) (c *Container, err error) {
	defer trace.T.Begin("create")()
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	spec, filter, err := loadConfig(root, opts.Bundle, opts.Logf)
	if err != nil {
		return nil, err
	}
	console, err := consoleFor(spec.Process, opts.ConsoleSocket, opts.Attach)
	if err != nil {
		return nil, err
	}
	if opts.BeforeChanges != nil {
		opts.BeforeChanges()
	}
	dir, err := lockNew(root, id)
	if err != nil {
		return nil, err
	}
	c = &Container{dir: dir, Warn: opts.Warn}
	defer func() {
		if err != nil {
			c.undoCreate()
		}
	}()
	faultPoint("after-lock")
	if c.cg, err = cgroups.New(spec.Linux.CgroupsPath, id); err != nil {
		return c, &SpecError{Path: "linux.cgroupsPath", Err: err}
	}
	// A limit this cgroup cannot take fails now, before init exists (the
	// same check husk check makes).
	if errs := c.cg.CheckControllers(spec.Linux.Resources); len(errs) > 0 && (os.Geteuid() == 0 || c.cg.Writable()) {
		return c, errs[0]
	}
	// A record from the start, before the cgroup exists, so that if husk
	// itself dies mid-create, delete --force finds the cgroup (and init)
	// to remove.
	rawSpec, err := json.Marshal(spec)
	if err != nil {
		return c, err
	}
	c.rec = &record{
		ID: id, Bundle: opts.Bundle, Rootfs: rootfsPath(opts.Bundle, spec),
		Created: time.Now().UTC(), CgroupPath: c.cg.Dir(), CgroupTop: c.cg.TopDir(),
		Annotations: spec.Annotations, Spec: rawSpec,
	}
	c.spec, c.sum = spec, summaryOf(spec)
	if err := c.saveProgress(0); err != nil {
		return c, err
	}
	if err := c.cg.Create(spec.Linux.Resources); err != nil {
		// Rootless, a cgroup is a privilege the host may not delegate:
		// run without one unless limits were asked for.
		if os.Geteuid() == 0 || !errors.Is(err, os.ErrPermission) {
			return c, err
		}
		if cgroups.HasLimits(spec.Linux.Resources) {
			return c, &SpecError{Path: "linux.resources", Err: fmt.Errorf("limits need a cgroup, and rootless husk may not make one: %w", err)}
		}
		c.cg = nil
	}
	faultPoint("after-cgroup")
	c.rec.CgroupPath, c.rec.CgroupTop = c.cg.Dir(), c.cg.TopDir()
	if err := c.saveProgress(0); err != nil {
		return c, err
	}
	if inHostMountNS(spec) {
		if c.rec.RootfsMount, err = bindRootfsOnHost(c.rec.Rootfs); err != nil {
			return c, err
		}
		if err := c.saveProgress(0); err != nil {
			return c, err
		}
	}
	faultPoint("before-clone")
	listener, err := listenExec(dir)
	if err != nil {
		return c, err
	}
	defer listener.Close()
	b := &bootstrap{
		Spec: spec, ID: id, Bundle: opts.Bundle, Rootfs: rootfsPath(opts.Bundle, spec),
		CgroupPath: c.cg.Dir(), NoPivot: opts.NoPivot, NoNewKeyring: opts.NoNewKeyring,
		Seccomp: filter,
	}
	b.PassFDs, b.Env = passedFDs(opts.PreserveFDs)
	if c.init, err = startInit(b, opts.stdio(), c.cg, listener); err != nil {
		return c, err
	}
	if err := c.saveProgress(c.init.proc.Pid); err != nil {
		return c, err
	}
	faultPoint("after-clone")
	if err := c.init.waitReady(opts.Logf, console); err != nil {
		return c, err
	}
	faultPoint("after-ready")
	// Init is ready and waits for start: the parent's share of the
	// container's setup goes in before anything of the user's runs.
	if err := c.setupFromHost(spec, id); err != nil {
		return c, err
	}
	// Limits go on once init is ready and before anything of the user's
	// runs. Not earlier: init is a Go program whose threads count against
	// pids.max, and a tight limit would keep it from starting at all.
	if err := c.cg.Set(spec.Linux.Resources, spec.Linux.Devices); err != nil {
		return c, err
	}
	pid := c.init.proc.Pid
	c.rec.Ready = true
	if err := c.saveProgress(pid); err != nil {
		return c, err
	}
	if opts.PidFile != "" {
		if err := writeFileAtomic(opts.PidFile, []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return c, fmt.Errorf("writing pid file: %w", err)
		}
	}
	return c, nil
}

// saveProgress records init's pid (0: not started yet) in state.json.
func (c *Container) saveProgress(pid int) error {
	defer trace.T.Begin("save state")()
	c.rec.Pid, c.rec.PidStart = pid, 0
	if pid > 0 {
		start, _, err := pidStartTime(pid)
		if err != nil {
			return fmt.Errorf("reading init's start time: %w", err)
		}
		c.rec.PidStart = start
	}
	if err := c.dir.save(c.rec); err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	return nil
}

// faultPoint kills husk at a named point of create when the tests ask for
// it (_HUSK_TEST_FAULT), to prove that delete --force cleans up after a
// runtime that died there.
func faultPoint(name string) {
	if os.Getenv("_HUSK_TEST_FAULT") == name {
		unix.Kill(os.Getpid(), unix.SIGKILL)
	}
}

// passedFDs counts the fds that go to the container: LISTEN_FDS (socket
// activation, as runc honours it) followed by --preserve-fds.
func passedFDs(preserve int) (int, []string) {
	listen, _ := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if listen <= 0 {
		return preserve, nil
	}
	env := []string{"LISTEN_FDS=" + strconv.Itoa(listen), "LISTEN_PID=1"}
	return listen + preserve, env
}

// undoCreate removes what a failed create made: init, cgroup, state dir,
// and runs the poststop hooks.
//
// runtime-spec: if a prestart, createRuntime, createContainer or
// startContainer hook fails, the runtime MUST stop the container and
// continue the lifecycle at delete (whose poststop hooks run).
func (c *Container) undoCreate() {
	if c.init != nil && c.init.spec.Hooks != nil {
		state := specs.State{Version: specs.Version, ID: c.init.id, Status: specs.StateStopped, Bundle: c.init.bundle, Annotations: c.init.spec.Annotations}
		defer func() { c.warn(runWarnHooks("poststop", c.init.spec.Hooks.Poststop, state)) }()
	}
	if c.init != nil {
		c.init.kill()
	}
	if c.cg != nil {
		c.cg.Signal(unix.SIGKILL)
		c.waitCgroupEmpty()
		c.cg.Destroy()
	}
	if c.rdt != nil {
		c.rdt.remove()
	}
	if c.rec != nil {
		c.warn(unbindRootfs(c.rec.Rootfs, c.rec.RootfsMount))
	}
	c.dir.remove()
	c.dir.unlock()
}

// Load opens and locks an existing container.
func Load(root, id string) (*Container, error) {
	defer trace.T.Begin("load state")()
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	dir, err := lockExisting(root, id)
	if err != nil {
		return nil, err
	}
	rec, err := dir.load()
	if err != nil {
		dir.unlock()
		return nil, err
	}
	sum, err := rec.summary()
	if err != nil {
		dir.unlock()
		return nil, err
	}
	return &Container{dir: dir, rec: rec, sum: sum, cg: cgroupOf(rec)}, nil
}

// fullSpec is the container's whole config.
func (c *Container) fullSpec() (*specs.Spec, error) {
	if c.spec == nil {
		s, err := c.rec.spec()
		if err != nil {
			return nil, err
		}
		c.spec = s
	}
	return c.spec, nil
}

// RemoveStale removes id's state dir if it holds no state.json: what a
// husk killed at the very start of create, before its first save, left.
// A create holds the lock until it has saved state.json or removed the
// dir, so with the lock taken, nobody is making this container.
func RemoveStale(root, id string) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	d, err := lockExisting(root, id)
	if errors.Is(err, ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.unlock()
	if _, err := d.load(); !errors.Is(err, ErrNotExist) {
		return err
	}
	// Only the directory locked: the path may name a new one by now.
	var locked, now unix.Stat_t
	if unix.Fstat(int(d.dir.Fd()), &locked) != nil || unix.Lstat(d.path, &now) != nil ||
		locked.Dev != now.Dev || locked.Ino != now.Ino {
		return nil
	}
	if err := d.remove(); err != nil {
		return fmt.Errorf("removing state dir: %w", err)
	}
	return nil
}

// cgroupOf is the container's cgroup, nil if it has none.
func cgroupOf(rec *record) *cgroups.Manager {
	if rec.CgroupPath == "" {
		return nil
	}
	return &cgroups.Manager{Path: rec.CgroupPath, Top: rec.CgroupTop}
}

// Close releases the container's lock.
func (c *Container) Close() { c.dir.unlock() }

func (c *Container) ID() string { return c.rec.ID }

// Pid is init's host pid.
func (c *Container) Pid() int { return c.rec.Pid }

// Status derives the state from the system, never from a stored field:
// init gone (or a different process under its pid) → stopped; create not
// finished → creating; cgroup frozen → paused; exec.sock still there →
// created; else running.
func (c *Container) Status() Status {
	if !c.initAlive() {
		return Stopped
	}
	if !c.rec.Ready {
		return Creating
	}
	if c.cg.Frozen() {
		return Paused
	}
	if _, err := os.Lstat(filepath.Join(c.dir.path, execSock)); err == nil {
		return Created
	}
	return Running
}

func (c *Container) initAlive() bool {
	if c.rec.Pid <= 0 {
		return false
	}
	start, zombie, err := pidStartTime(c.rec.Pid)
	return err == nil && !zombie && start == c.rec.PidStart
}

// State reports the container's state.
func (c *Container) State() State {
	return stateOf(c.dir.path, c.rec, c.Status())
}

func stateOf(dir string, rec *record, status Status) State {
	s := State{
		Version: specs.Version, ID: rec.ID, Status: status, Bundle: rec.Bundle,
		Rootfs: rec.Rootfs, Created: rec.Created, Annotations: rec.Annotations,
		Owner: ownerOf(dir),
	}
	if status != Stopped {
		s.Pid = rec.Pid
	}
	return s
}

func ownerOf(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	uid := strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid))
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return "#" + uid
}

// Start releases a created container: it connects to exec.sock, which
// init is waiting on, and returns once the entrypoint is exec'd (init's
// end of the connection closes) or init reports why it could not be. With
// SCMP_ACT_NOTIFY, Start hands the seccomp listener to the agent first.
func (c *Container) Start() error {
	defer trace.T.Begin("start")()
	switch st := c.Status(); st {
	case Created:
	case Stopped:
		return fmt.Errorf("cannot start a container that has stopped: %w", ErrNotRunning)
	default:
		return fmt.Errorf("cannot start an already %s container", st)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	conn := syncConn{f: os.NewFile(uintptr(fd), execSock)}
	defer conn.f.Close()
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: c.dir.sockPath()}); err != nil {
		return fmt.Errorf("connecting to init: %w", err)
	}
	if err := os.Remove(filepath.Join(c.dir.path, execSock)); err != nil {
		return err
	}
	err = awaitExec(conn, c.rec.Pid, func(f *os.File) error {
		spec, err := c.fullSpec()
		if err != nil {
			return err
		}
		return handOverListener(spec.Linux.Seccomp, c.specState(specs.StateCreated), c.rec.Pid, f)
	})
	if err != nil {
		return err
	}
	// runtime-spec: poststart hooks MUST be called after the user process
	// is executed but before start returns; a failure is a warning, and
	// the lifecycle goes on.
	if h := c.sum.Hooks; h != nil {
		c.warn(runWarnHooks("poststart", h.Poststart, c.specState(specs.StateRunning)))
	}
	return nil
}

// specState is the runtime-spec state of the container, as hooks and the
// seccomp agent get it (pid 0 once stopped).
func (c *Container) specState(status specs.ContainerState) specs.State {
	s := specs.State{
		Version: specs.Version, ID: c.rec.ID, Status: status, Pid: c.rec.Pid,
		Bundle: c.rec.Bundle, Annotations: c.rec.Annotations,
	}
	if status == specs.StateStopped {
		s.Pid = 0
	}
	return s
}

// Signal sends sig to init, or with all to every process in the cgroup.
func (c *Container) Signal(sig unix.Signal, all bool) error {
	if all {
		pids, err := c.cg.Procs()
		if errors.Is(err, cgroups.ErrNoCgroup) {
			return err
		}
		if len(pids) == 0 {
			return ErrNotRunning
		}
		return c.cg.Signal(sig)
	}
	// A pidfd pins the process: checking the start time after opening it
	// proves the signal cannot reach a new process that reused the pid.
	pidfd, err := unix.PidfdOpen(c.rec.Pid, 0)
	if err != nil {
		return ErrNotRunning
	}
	defer unix.Close(pidfd)
	if !c.initAlive() {
		return ErrNotRunning
	}
	if err := unix.PidfdSendSignal(pidfd, sig, nil, 0); err != nil {
		if err == unix.ESRCH {
			return ErrNotRunning
		}
		return fmt.Errorf("signalling init: %w", err)
	}
	return nil
}

// Delete removes the container. A running or paused container is refused
// unless force, which kills it first; a created one is killed (its user
// process never ran). Nothing is left: processes, cgroup, state dir.
func (c *Container) Delete(force bool) error {
	defer trace.T.Begin("delete")()
	st := c.Status()
	if (st == Running || st == Paused) && !force {
		return fmt.Errorf("cannot delete container %s that is not stopped: %s", c.rec.ID, st)
	}
	if st != Stopped {
		if err := c.killAndWait(); err != nil {
			return err
		}
	}
	// Processes outside init's pid namespace can outlive it.
	if pids, _ := c.cg.Procs(); len(pids) > 0 {
		c.cg.Signal(unix.SIGKILL)
	}
	c.waitCgroupEmpty()
	if err := c.cg.Destroy(); err != nil {
		return err
	}
	if rdt, err := intelRdtGroup(c.rec.ID, c.sum.rdtSpec()); rdt != nil && err == nil {
		if err := rdt.remove(); err != nil {
			return fmt.Errorf("removing the Intel RDT group: %w", err)
		}
	}
	if err := unbindRootfs(c.rec.Rootfs, c.rec.RootfsMount); err != nil {
		return err
	}
	if err := c.dir.remove(); err != nil {
		return fmt.Errorf("removing state dir: %w", err)
	}
	// runtime-spec: poststop hooks MUST be called after the container is
	// deleted but before delete returns; a failure is a warning.
	if h := c.sum.Hooks; h != nil {
		c.warn(runWarnHooks("poststop", h.Poststop, c.specState(specs.StateStopped)))
	}
	return nil
}

// killAndWait SIGKILLs everything in the container and waits for init to die.
func (c *Container) killAndWait() error {
	defer trace.T.Begin("kill")()
	pidfd, err := unix.PidfdOpen(c.rec.Pid, 0)
	if err != nil {
		return nil // already gone
	}
	defer unix.Close(pidfd)
	if !c.initAlive() {
		return nil
	}
	if err := c.cg.Signal(unix.SIGKILL); err != nil {
		unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
	}
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		n, err := unix.Poll(fds, 100)
		if n > 0 {
			return nil
		}
		if err != nil && err != unix.EINTR {
			return os.NewSyscallError("poll", err)
		}
	}
	return errors.New("container init did not exit after SIGKILL")
}

// waitCgroupEmpty waits briefly for killed processes to leave the cgroup.
func (c *Container) waitCgroupEmpty() {
	for i := 0; i < 500; i++ {
		if pids, err := c.cg.Procs(); err != nil || len(pids) == 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// List reports every container under root, without taking their locks
// (state.json is replaced atomically, so a read is always whole).
func List(root string) ([]State, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []State
	for _, e := range entries {
		if !e.IsDir() || ValidateID(e.Name()) != nil {
			continue
		}
		if s, err := ReadState(root, e.Name()); err == nil {
			out = append(out, s)
		}
	}
	return out, nil
}

// ReadState reports one container's state without waiting for its lock.
// A container whose create is still running reports "creating".
func ReadState(root, id string) (State, error) {
	if err := ValidateID(id); err != nil {
		return State{}, err
	}
	d := &stateDir{path: filepath.Join(root, id)}
	rec, err := readRecord(d.path)
	if errors.Is(err, os.ErrNotExist) {
		if fi, e := os.Stat(d.path); e == nil && fi.IsDir() {
			return State{Version: specs.Version, ID: id, Status: Creating, Owner: ownerOf(d.path)}, nil
		}
		return State{}, fmt.Errorf("container %q: %w", id, ErrNotExist)
	}
	if err != nil {
		return State{}, err
	}
	c := &Container{dir: d, rec: rec, cg: cgroupOf(rec)}
	return c.State(), nil
}

// Pause freezes every process of a running container.
func (c *Container) Pause() error {
	switch st := c.Status(); st {
	case Running, Created:
		return c.cg.Freeze()
	case Paused:
		return fmt.Errorf("container %s is already paused", c.rec.ID)
	default:
		return fmt.Errorf("cannot pause a %s container: %w", st, ErrNotRunning)
	}
}

// Resume thaws a paused container.
func (c *Container) Resume() error {
	if st := c.Status(); st != Paused {
		return fmt.Errorf("cannot resume a %s container: it is not paused", st)
	}
	return c.cg.Thaw()
}

// Update changes the resource limits of a live container.
func (c *Container) Update(res *specs.LinuxResources) error {
	if c.Status() == Stopped {
		return ErrNotRunning
	}
	return c.cg.Update(res)
}

// Stats reads the container's cgroup accounting.
func (c *Container) Stats() (*cgroups.Stats, error) {
	if c.Status() == Stopped {
		return nil, ErrNotRunning
	}
	return c.cg.Stats()
}

// MemoryEvents returns the cgroup's memory.events counters.
func (c *Container) MemoryEvents() map[string]uint64 { return c.cg.Events() }

// Processes lists the host pids in the container's cgroup.
func (c *Container) Processes() ([]int, error) {
	pids, err := c.cg.Procs()
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return pids, err
}
