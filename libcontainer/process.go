package libcontainer

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/cgroups"
	"github.com/husk-runtime/husk/libcontainer/trace"
)

// nsenterEnv is read by the nsenter constructor (see libcontainer/nsenter).
const nsenterEnv = "_HUSK_NSENTER"

// initProcess is the parent's handle on a starting init.
type initProcess struct {
	cmd  *exec.Cmd
	conn syncConn
	// proc is the container's init: cmd.Process, or the process that
	// one forked into a new pid namespace (see reexecInit).
	proc *os.Process
	// pending is the bootstrap, held back until the intermediate init of
	// the reexec path has handed over to the real one (or init has its
	// user namespace mappings).
	pending *bootstrap
	reexec  bool
	// joinRdt: husk exec's real init goes into linux.intelRdt's group
	// when it is adopted.
	joinRdt bool
	// offsets are timens_offsets the parent writes for the intermediate.
	offsets []byte
	// spec and id are for the hooks' state.
	spec   *specs.Spec
	id     string
	bundle string
}

// fdAboveChildFiles duplicates f to a number the child of os/exec keeps
// as it is until execve: its fds 0..n-1 become stdio and the extra files,
// and before that it moves any of those that would be overwritten to n and
// up. A path /proc/self/fd/N with N below 2n may name another file by the
// time the child execs it (which fd numbers the parent's files got depends
// on what it opened and closed before).
func fdAboveChildFiles(f *os.File, extra int) (*os.File, error) {
	n := 3 + extra
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 2*n+1)
	if err != nil {
		return nil, os.NewSyscallError("fcntl F_DUPFD_CLOEXEC", err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// startInit clones `husk init` into the container's namespaces and cgroup
// and hands it the bootstrap message. New namespaces come from clone
// flags (Go writes the id maps before init runs); namespaces to join are
// entered by the cloning thread (net, ipc, uts, pid, cgroup) or by the
// nsenter constructor in the child (user, mnt, time).
func startInit(b *bootstrap, stdio [3]*os.File, cg *cgroups.Manager, execListener *os.File) (*initProcess, error) {
	spec := b.Spec
	plan := planNamespaces(spec.Linux.Namespaces)
	// CVE-2024-21626: of the fds husk inherited from its caller, only the
	// ones passed on purpose (--preserve-fds, LISTEN_FDS) may reach init.
	// Any other stayed open in init until its execve, and could be a host
	// directory, which a cwd of /proc/self/fd/N would enter.
	if err := closeExtraFDs(b.PassFDs); err != nil {
		return nil, err
	}
	parentSync, childSync, err := newSyncPair()
	if err != nil {
		return nil, err
	}
	defer childSync.Close()
	cgroupDir, err := cg.Open()
	if err != nil {
		parentSync.Close()
		return nil, err
	}
	sys := &syscall.SysProcAttr{}
	if cgroupDir != nil {
		defer cgroupDir.Close()
		sys.UseCgroupFD, sys.CgroupFD = true, int(cgroupDir.Fd())
	}

	passFiles := make([]*os.File, b.PassFDs)
	for i := range passFiles {
		passFiles[i] = os.NewFile(uintptr(3+i), "passed-fd-"+strconv.Itoa(3+i))
	}
	extra := append(passFiles, childSync)
	b.ExecFD = -1
	if execListener != nil {
		b.ExecFD = 3 + len(extra)
		extra = append(extra, execListener)
	}
	var sealed *os.File
	if b.Exec || !plan.isNew(specs.PIDNamespace) {
		if sealed, err = sealedSelf(); err != nil {
			parentSync.Close()
			return nil, err
		}
		defer sealed.Close()
	}
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{"husk", "init"},
		Env:         append(initEnv(strconv.Itoa(3+b.PassFDs)), initGodebug),
		Stdin:       stdio[0],
		Stdout:      stdio[1],
		Stderr:      stdio[2],
		ExtraFiles:  extra,
		SysProcAttr: sys,
	}
	if !b.Exec {
		trees, err := idmappedMounts(spec, b.Bundle)
		if err != nil {
			parentSync.Close()
			return nil, err
		}
		for i, tree := range trees {
			defer tree.Close()
			if b.MountFDs == nil {
				b.MountFDs = map[int]int{}
			}
			cmd.ExtraFiles = append(cmd.ExtraFiles, tree)
			b.MountFDs[i] = 2 + len(cmd.ExtraFiles)
		}
	}
	attr := cmd.SysProcAttr
	cloneFlags := plan.newFlags
	offsets := timeOffsets(spec.Linux.TimeOffsets)
	// Rootless, the namespaces to join belong to the container's user
	// namespace: only init, once in it, may join them. The nsenter
	// constructor joins them all but pid, which a Go process cannot join
	// for itself (the kernel then refuses it threads).
	//
	// A pid namespace to join is never joined here: a process is visible
	// in it from its clone on, and until it execs, it runs its parent's
	// binary, the host's husk, which a process in the container could
	// then reopen through /proc/PID/exe (CVE-2019-5736). So init, running
	// the sealed copy already, joins it on a thread and clones the real
	// init there (the reexec path). Not as root with a new user namespace:
	// the container's processes have no privilege over host root's then,
	// and init, in it, could not join a pid namespace of the host's.
	rootless := os.Geteuid() != 0
	threadJoins := plan.join
	if rootless {
		threadJoins = nil
	}
	lateJoinPID := plan.join[specs.PIDNamespace] != "" && (rootless || !plan.isNew(specs.UserNamespace))
	if path := plan.join[specs.PIDNamespace]; lateJoinPID {
		if !rootless {
			threadJoins = maps.Clone(plan.join)
			delete(threadJoins, specs.PIDNamespace)
		}
		// Opened here: in init, /proc will be the container's.
		ns, err := os.Open(path)
		if err != nil {
			parentSync.Close()
			return nil, fmt.Errorf("joining namespace: %w", err)
		}
		defer ns.Close()
		cmd.ExtraFiles = append(cmd.ExtraFiles, ns)
		cmd.Env = append(cmd.Env, joinPIDEnv+"="+strconv.Itoa(2+len(cmd.ExtraFiles)))
	}
	var joins []string // for the nsenter constructor
	for _, t := range joinOrder {
		if path, ok := plan.join[t]; ok && (!threadJoinable(t) || rootless && t != specs.PIDNamespace) {
			joins = append(joins, fmt.Sprintf("j %x %s", nsKinds[t].flag, path))
		}
	}
	// Rootless, only newuidmap and newgidmap may write mappings other than
	// the caller's own ids: init then makes its user namespace itself
	// (nsenter constructor) and asks the parent to run them.
	helperMaps := plan.isNew(specs.UserNamespace) && rootless && !ownIDsOnly(spec.Linux)
	if helperMaps {
		cmd.Env = append(cmd.Env, usernsEnv+"=1")
		cloneFlags &^= unix.CLONE_NEWUSER
	}
	// New namespaces that must belong to a user namespace husk cannot
	// create them in from here (a joined one, one init makes itself, or a
	// new one whose time namespace needs offsets) are made by init, once
	// inside it, cloning the real init: see reexecInit.
	reexec := plan.newFlags&^unix.CLONE_NEWUSER != 0 && (plan.join[specs.UserNamespace] != "" || helperMaps ||
		plan.isNew(specs.UserNamespace) && plan.isNew(specs.TimeNamespace) && len(offsets) > 0) ||
		lateJoinPID
	switch {
	case reexec:
		cloneFlags &= unix.CLONE_NEWUSER
		cmd.Env = append(cmd.Env, reexecEnv+"="+strconv.FormatUint(uint64(plan.newFlags&^unix.CLONE_NEWUSER), 16))
		if len(offsets) > 0 {
			cmd.Env = append(cmd.Env, timensEnv+"=1")
		}
	case plan.isNew(specs.TimeNamespace) && len(offsets) > 0:
		ns, err := makeTimeNamespace(func() error { return writeTimeOffsets(offsets) })
		if err != nil {
			parentSync.Close()
			return nil, fmt.Errorf("creating time namespace: %w", err)
		}
		defer ns.Close()
		cmd.ExtraFiles = append(cmd.ExtraFiles, ns)
		joins = append(joins, timeJoinLine(2+len(cmd.ExtraFiles)))
		cloneFlags &^= unix.CLONE_NEWTIME
	}
	if reexec && plan.join[specs.MountNamespace] != "" {
		// The real init joins the mount namespace: the intermediate one
		// must still see the host's /proc (for /proc/self/exe) to clone it.
		mnt := fmt.Sprintf("j %x %s", unix.CLONE_NEWNS, plan.join[specs.MountNamespace])
		joins = slices.DeleteFunc(joins, func(l string) bool { return l == mnt })
		cmd.Env = append(cmd.Env, nsenterNextEnv+"="+mnt)
	}
	if len(joins) > 0 {
		cmd.Env = append(cmd.Env, nsenterEnv+"="+strings.Join(joins, "\n"))
	}
	attr.Cloneflags = cloneFlags
	if cloneFlags&unix.CLONE_NEWUSER != 0 {
		attr.UidMappings = idMaps(spec.Linux.UIDMappings)
		attr.GidMappings = idMaps(spec.Linux.GIDMappings)
		// Rootless, the kernel lets the caller map its own gid only with
		// setgroups denied in the namespace.
		attr.GidMappingsEnableSetgroups = !rootless
		// Become the namespace's root before exec, so init runs with the
		// capabilities it needs there (the host uid is not mapped).
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: rootless}
	}
	if reexec {
		cmd.Env = append(cmd.Env, initLastFDEnv+"="+strconv.Itoa(2+len(cmd.ExtraFiles)))
	}
	if sealed != nil {
		high, err := fdAboveChildFiles(sealed, len(cmd.ExtraFiles))
		if err != nil {
			parentSync.Close()
			return nil, err
		}
		defer high.Close()
		cmd.Path = "/proc/self/fd/" + strconv.Itoa(int(high.Fd())) // the child's copy of it, at exec
	}
	err = onNamespaceThread(threadJoins, cloneTraced(cmd, startOn(cmd, b)))
	if err != nil {
		parentSync.Close()
		return nil, fmt.Errorf("starting container init: %w", err)
	}
	p := &initProcess{cmd: cmd, conn: syncConn{f: parentSync}, proc: cmd.Process, spec: spec, id: b.ID, bundle: b.Bundle, joinRdt: b.Exec && reexec}
	if b.Exec {
		if err := joinIntelRdt(b, cmd.Process.Pid); err != nil {
			p.kill()
			return nil, err
		}
	}
	if reexec || helperMaps {
		p.pending, p.offsets, p.reexec = b, offsets, reexec
		return p, nil
	}
	if err := p.conn.send(message{Type: msgBootstrap, Bootstrap: b}); err != nil {
		p.kill()
		return nil, err
	}
	return p, nil
}

// startOn returns what starts cmd on the cloning thread: with husk
// exec's process.execCPUAffinity.initial, that thread (thrown away after)
// first takes the initial CPUs, for the child to inherit.
func startOn(cmd *exec.Cmd, b *bootstrap) func() error {
	return func() error {
		set, err := initialAffinity(b)
		if err != nil {
			return err
		}
		if set != nil {
			if err := setAffinity("initial", b.Spec.Process.ExecCPUAffinity.Initial, set); err != nil {
				return err
			}
		}
		return cmd.Start()
	}
}

func idMaps(maps []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(maps))
	for i, m := range maps {
		out[i] = syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)}
	}
	return out
}

// ConsoleFunc receives the pty master of a process with a terminal. It
// owns the file (and must close it).
type ConsoleFunc func(master *os.File, name string) error

// waitReady reads init's messages until it is ready or has failed.
func (p *initProcess) waitReady(logf func(level, msg string), console ConsoleFunc) error {
	defer trace.T.Begin("wait ready")()
	for {
		m, f, err := p.conn.recvFD()
		if f != nil && m.Type != msgPty {
			f.Close()
		}
		if errors.Is(err, errClosed) {
			return p.exitError()
		}
		if err != nil {
			return err
		}
		switch m.Type {
		case msgLog:
			if logf != nil {
				logf(m.Level, "init: "+m.Msg)
			}
		case msgReady:
			return nil
		case msgTrace:
			// The intermediate init's, before pid, or the real one's.
			trace.T.Adopt(m.Trace, p.proc.Pid)
		case msgTimens:
			if err := p.writeTimeOffsets(); err != nil {
				return err
			}
		case msgUserns:
			if err := p.writeIDMaps(); err != nil {
				return err
			}
			if !p.reexec {
				// This init is the real one: it can have its bootstrap.
				if err := p.sendPending(); err != nil {
					return err
				}
			}
		case msgHooks:
			if err := p.runtimeHooks(); err != nil {
				return err
			}
		case msgPty:
			if f == nil {
				return errors.New("init sent no pty master")
			}
			if console == nil {
				f.Close()
				return errors.New("the process has a terminal but nothing receives it")
			}
			if err := console(f, m.Msg); err != nil {
				return err
			}
		case msgPid:
			// The intermediate init handed over to the real one.
			if err := p.adoptInit(m.Pid); err != nil {
				return err
			}
		case msgError:
			return &InitError{Step: m.Step, Msg: m.Msg}
		default:
			return fmt.Errorf("unexpected %q message from init", m.Type)
		}
	}
}

// waitExec waits, after ready, for husk exec's process to execve: the
// sync socket closes (it is close-on-exec), or init reports why not. On
// the way, handOver passes the seccomp listener to the agent.
func (p *initProcess) waitExec(handOver func(*os.File) error) error {
	return awaitExec(p.conn, p.proc.Pid, handOver)
}

// runtimeHooks runs prestart and createRuntime for init, in the runtime
// namespace, and hands init the state for the container's own hooks.
//
// runtime-spec: createRuntime hooks MUST be called as part of the create
// operation after the runtime environment has been created but before
// the pivot_root; prestart hooks (deprecated) likewise, before them.
func (p *initProcess) runtimeHooks() error {
	state := specs.State{
		Version: specs.Version, ID: p.id, Status: specs.StateCreating,
		Pid: p.proc.Pid, Bundle: p.bundle, Annotations: p.spec.Annotations,
	}
	h := p.spec.Hooks
	if err := runHooks("prestart", h.Prestart, state); err != nil {
		return err
	}
	if err := runHooks("createRuntime", h.CreateRuntime, state); err != nil {
		return err
	}
	return p.conn.send(message{Type: msgHooks, State: &state})
}

// adoptInit makes pid, the real init forked by the intermediate one, the
// process this handle tracks. The intermediate exits right after.
func (p *initProcess) adoptInit(pid int) error {
	p.cmd.Process.Wait()
	proc, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	p.proc = proc
	if p.joinRdt {
		// The intermediate was in the group, but may have cloned the real
		// init before it was put there: this one runs nothing of the
		// user's before its bootstrap.
		if err := joinIntelRdt(p.pending, pid); err != nil {
			return err
		}
	}
	return p.sendPending()
}

// sendPending sends the bootstrap held back for the real init.
func (p *initProcess) sendPending() error {
	if b := p.pending; b != nil {
		p.pending = nil
		return p.conn.send(message{Type: msgBootstrap, Bootstrap: b})
	}
	return nil
}

// writeIDMaps writes init's user namespace mappings with newuidmap and
// newgidmap (rootless, subordinate ids: the setuid helpers check them
// against /etc/subuid and /etc/subgid), then lets init go on.
func (p *initProcess) writeIDMaps() error {
	pid := strconv.Itoa(p.cmd.Process.Pid)
	for _, tool := range []struct {
		name string
		maps []specs.LinuxIDMapping
	}{{"newuidmap", p.spec.Linux.UIDMappings}, {"newgidmap", p.spec.Linux.GIDMappings}} {
		args := []string{pid}
		for _, m := range tool.maps {
			args = append(args, strconv.Itoa(int(m.ContainerID)), strconv.Itoa(int(m.HostID)), strconv.Itoa(int(m.Size)))
		}
		out, err := exec.Command(tool.name, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("writing the id mappings with %s: %w: %s", tool.name, err, oneLine(string(out)))
		}
	}
	return p.conn.send(message{Type: msgUserns})
}

// ownIDsOnly reports whether the mappings map only the caller's own uid
// and gid, which an unprivileged caller may write itself.
func ownIDsOnly(l *specs.Linux) bool {
	return len(l.UIDMappings) == 1 && len(l.GIDMappings) == 1 &&
		l.UIDMappings[0].HostID == uint32(os.Geteuid()) && l.UIDMappings[0].Size == 1 &&
		l.GIDMappings[0].HostID == uint32(os.Getegid()) && l.GIDMappings[0].Size == 1
}

// writeTimeOffsets writes the offsets of the time namespace the
// intermediate init created, on its behalf: inside the joined user
// namespace it cannot open its own /proc files (they belong to host root
// once it changed credentials). The thread that unshared is the one
// whose time_for_children differs from its time namespace.
func (p *initProcess) writeTimeOffsets() error {
	pid := p.cmd.Process.Pid
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return err
	}
	for _, t := range tasks {
		dir := fmt.Sprintf("/proc/%d/task/%s/ns/", pid, t.Name())
		cur, err1 := os.Readlink(dir + "time")
		next, err2 := os.Readlink(dir + "time_for_children")
		if err1 != nil || err2 != nil || cur == next {
			continue
		}
		if len(p.offsets) > 0 {
			name := "/proc/" + t.Name() + "/timens_offsets"
			if err := os.WriteFile(name, p.offsets, 0); err != nil {
				return fmt.Errorf("writing time offsets %q to %s: %w", p.offsets, name, err)
			}
		}
		return p.conn.send(message{Type: msgTimens})
	}
	return errors.New("writing time offsets: no thread of init has a new time namespace")
}

// exitError describes an init that went away without reporting why.
func (p *initProcess) exitError() error {
	if p.proc != p.cmd.Process {
		return errors.New("container init exited unexpectedly")
	}
	state, err := p.proc.Wait()
	if err != nil {
		return fmt.Errorf("container init exited unexpectedly: %w", err)
	}
	return fmt.Errorf("container init exited unexpectedly: %s", state)
}

// kill ends a failed init and reaps what is ours to reap.
func (p *initProcess) kill() {
	p.conn.f.Close()
	p.proc.Kill()
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
		p.cmd.Process.Wait()
	}
}

// listenExec creates exec.sock in the state dir, where init will wait for
// start. Binding through /proc/self/fd keeps the path short whatever
// --root is (sun_path holds 108 bytes).
func listenExec(dir *stateDir) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: dir.sockPath()}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("binding %s: %w", filepath.Join(dir.path, execSock), err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("listen", err)
	}
	return os.NewFile(uintptr(fd), execSock), nil
}

func (d *stateDir) sockPath() string {
	if p := filepath.Join(d.path, execSock); len(p) < 100 {
		return p
	}
	return fmt.Sprintf("/proc/self/fd/%d/%s", d.dir.Fd(), execSock)
}

// setupFromHost does what the parent does for a created container once
// init is ready: linux.netDevices and linux.intelRdt.
func (c *Container) setupFromHost(spec *specs.Spec, id string) error {
	defer trace.T.Begin("host setup")()
	pid := c.init.proc.Pid
	if err := moveNetDevices(spec.Linux.NetDevices, fmt.Sprintf("/proc/%d/ns/net", pid)); err != nil {
		return fmt.Errorf("moving network devices: %w", err)
	}
	rdt, err := intelRdtGroup(id, spec)
	if rdt == nil || err != nil {
		return err
	}
	c.rdt = rdt
	return rdt.setup(spec.Linux.IntelRdt, pid)
}
