package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/trace"
	"github.com/husk-runtime/husk/seccomp"
)

// initSyncEnv names the environment variable that tells `husk init` (and
// the nsenter constructor) which fd is its end of the sync socket.
const initSyncEnv = "_HUSK_INIT_SYNC"

// initGodebug turns off Go's asynchronous preemption in init: its signal
// would make init's thread run a handler and rt_sigreturn after the
// seccomp filter is on, syscalls the container's profile need not allow.
const initGodebug = "GODEBUG=asyncpreemptoff=1"

// initMaxProcs starts init's Go runtime with the one P it runs on (see
// main's init): setting GOMAXPROCS there instead stops the world to drop
// the others, which costs init up to a millisecond before it does any
// work. The container's process does not inherit init's environment.
const initMaxProcs = "GOMAXPROCS=1"

// stepError records which stage of init failed.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func step(name string, err error) error {
	if err == nil {
		return nil
	}
	return &stepError{step: name, err: err}
}

// Init is `husk init`: the container's first process, already in its
// namespaces and cgroup. It prepares the container, reports ready, waits
// for start and execs the entrypoint. It never returns. The caller must
// have locked the main goroutine to the main thread (from an init func),
// because credentials, capabilities and seccomp are per thread.
func Init() {
	fd, err := strconv.Atoi(os.Getenv(initSyncEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "husk init: not started by husk")
		os.Exit(1)
	}
	conn := syncConn{f: os.NewFile(uintptr(fd), "sync")}
	to := conn // where the failure goes: the parent, or husk start
	if os.Getenv(reexecEnv) != "" {
		startInitTrace("husk init (intermediate)")
		err = reexecInit(fd, conn)
	} else {
		startInitTrace("husk init")
		to, err = runInit(conn)
	}
	sendTrace(to) // the steps up to the failure
	// A parent that went away has its own error to tell; a start that
	// went away took its reader with it.
	if !errors.Is(err, errClosed) && to.send(errorMessage(err)) != nil && to.f == conn.f {
		fmt.Fprintln(os.Stderr, "husk init:", err)
	}
	os.Exit(1)
}

// reexecEnv asks init to clone the real init with the clone flags in it
// (hex). The nsenter constructor has joined a user namespace, or husk
// cloned this init into a new one; new namespaces must belong to it, and
// a Go process cannot unshare pid or time namespaces for itself (the
// kernel then refuses it threads). So this init, already inside the user
// namespace, clones the real one, and exits once the parent knows the
// new pid. With timensEnv set, the time namespace gets offsets: it is
// made on a throwaway thread, the parent writes the offsets (we cannot
// open our own /proc files once our credentials changed), and the real
// init joins it.
const (
	reexecEnv = "_HUSK_REEXEC"
	timensEnv = "_HUSK_TIMENS"
	// usernsEnv asks the nsenter constructor to make a user namespace
	// and wait for its mappings (see libcontainer/nsenter).
	usernsEnv = "_HUSK_USERNS"
	// initLastFDEnv is the last of the fds the intermediate init hands to
	// the real one, at the same numbers.
	initLastFDEnv = "_HUSK_INIT_LAST_FD"
	// nsenterNextEnv holds the nsenter joins of the real init, when the
	// intermediate one must not make them itself.
	nsenterNextEnv = "_HUSK_NSENTER_NEXT"
	// joinPIDEnv is the fd of a pid namespace the intermediate init joins
	// on the thread that clones the real init (rootless husk exec).
	joinPIDEnv = "_HUSK_JOIN_PID"
)

func reexecInit(syncFD int, conn syncConn) error {
	flags, err := strconv.ParseUint(os.Getenv(reexecEnv), 16, 64)
	if err != nil {
		return step("reading clone flags", err)
	}
	last, err := strconv.Atoi(os.Getenv(initLastFDEnv))
	if err != nil {
		return step("reading the fds to hand over", err)
	}
	var files []*os.File
	for fd := 3; fd <= last; fd++ { // passed fds, sync socket, exec.sock, mounts
		files = append(files, os.NewFile(uintptr(fd), "fd"))
	}
	cmd := exec.Command("/proc/self/exe", "init")
	cmd.Env = initEnv(strconv.Itoa(syncFD))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	var joins []string
	if next := os.Getenv(nsenterNextEnv); next != "" {
		joins = append(joins, next)
	}
	if flags&unix.CLONE_NEWTIME != 0 && os.Getenv(timensEnv) != "" {
		ns, err := makeTimeNamespace(func() error {
			if err := conn.send(message{Type: msgTimens}); err != nil {
				return err
			}
			m, err := conn.recv()
			if err != nil {
				return fmt.Errorf("waiting for the time offsets: %w", err)
			}
			if m.Type != msgTimens {
				return fmt.Errorf("waiting for the time offsets: unexpected %q message", m.Type)
			}
			return nil
		})
		if err != nil {
			return step("creating time namespace", err)
		}
		files = append(files, ns)
		joins = append(joins, timeJoinLine(2+len(files)))
		flags &^= unix.CLONE_NEWTIME
	}
	if len(joins) > 0 {
		cmd.Env = append(cmd.Env, nsenterEnv+"="+strings.Join(joins, "\n"))
	}
	cmd.ExtraFiles = files
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: uintptr(flags)}
	start := cmd.Start
	if fd, err := strconv.Atoi(os.Getenv(joinPIDEnv)); err == nil {
		start = func() error {
			if err := unix.Setns(fd, unix.CLONE_NEWPID); err != nil {
				return fmt.Errorf("joining the pid namespace: %w", err)
			}
			return cmd.Start()
		}
	}
	if err := onNamespaceThread(nil, cloneTraced(cmd, start)); err != nil {
		return step("starting init in new namespaces", err)
	}
	sendTrace(conn)
	if err := conn.send(message{Type: msgPid, Pid: cmd.Process.Pid}); err != nil {
		cmd.Process.Kill()
		return err
	}
	os.Exit(0)
	return nil
}

// errorMessage is init's failure as the protocol reports it.
func errorMessage(err error) message {
	m := message{Type: msgError, Msg: err.Error()}
	var se *stepError
	if errors.As(err, &se) {
		m.Step, m.Msg = se.step, se.err.Error()
	}
	// A step that failed on one field leads with the field's path, as
	// create's own config errors (and husk check) do.
	var spe *SpecError
	if errors.As(err, &spe) && se != nil {
		m.Step, m.Msg = spe.Path, se.step+": "+spe.Err.Error()
	}
	return m
}

// runInit runs the stages in order. It returns only on failure, with the
// connection to report it on: the sync socket, or the start connection
// once start came.
func runInit(conn syncConn) (syncConn, error) {
	b, err := readBootstrap(conn)
	if err != nil {
		return conn, step("reading bootstrap", err)
	}
	spec := b.Spec
	warn := logTo(conn, "warning")

	if err := step("closing inherited fds", closeExtraFDs(b.PassFDs)); err != nil {
		return conn, err
	}
	unix.Umask(0)
	if b.Exec {
		err := execInit(&conn, b, warn)
		return conn, err
	}
	if err := setupNamespaces(b); err != nil {
		return conn, err
	}
	if err := step("preparing rootfs", prepareRootfs(b)); err != nil {
		return conn, err
	}
	state, err := createHooks(conn, b)
	if err != nil {
		return conn, err
	}
	if err := step("entering rootfs", enterRoot(b.Rootfs, b.NoPivot, inHostMountNS(spec))); err != nil {
		return conn, err
	}
	// Before finishRootfs: root.readonly would make a missing cwd
	// impossible to create.
	if err := os.MkdirAll(spec.Process.Cwd, 0o755); err != nil {
		return conn, step("creating cwd "+spec.Process.Cwd, &SpecError{Path: "process.cwd", Err: err})
	}
	if err := finishRootfs(spec); err != nil {
		return conn, err
	}
	if spec.Process.Terminal {
		if err := step("setting up the terminal", setupTerminal(conn, spec.Process, true)); err != nil {
			return conn, err
		}
	}
	proc, err := prepareProcess(b, warn, logTo(conn, "debug"))
	if err != nil {
		return conn, err
	}
	sendTrace(conn)
	if err := conn.send(message{Type: msgReady}); err != nil {
		return conn, err
	}
	fd, err := waitForStart(b.ExecFD)
	if err != nil {
		return conn, step("waiting for start", err)
	}
	start := syncConn{f: os.NewFile(uintptr(fd), "start")}
	// runtime-spec: startContainer hooks MUST be called as part of the
	// start operation before the user-specified program is executed, in
	// the container namespace.
	if hooks := spec.Hooks; hooks != nil && len(hooks.StartContainer) > 0 {
		state.Status = specs.StateCreated
		if err := runHooks("startContainer", hooks.StartContainer, state); err != nil {
			return start, err
		}
	}
	err = proc.exec(&start)
	return start, err
}

// readBootstrap waits for the parent's bootstrap and decodes it.
func readBootstrap(conn syncConn) (*bootstrap, error) {
	defer trace.T.Begin("read bootstrap")()
	m, err := conn.recv()
	if err != nil {
		return nil, err
	}
	if m.Type != msgBootstrap || m.Bootstrap == nil || m.Bootstrap.Spec == nil {
		return nil, fmt.Errorf("unexpected %q message", m.Type)
	}
	return m.Bootstrap, nil
}

// logTo returns a function that sends init's messages at level to the
// parent, which logs them.
func logTo(conn syncConn, level string) func(string) {
	return func(msg string) { conn.send(message{Type: msgLog, Level: level, Msg: msg}) }
}

// createHooks runs the hooks of the create operation, between the mounts
// and pivot_root: the parent runs prestart and createRuntime in the
// runtime namespace and answers with the state (it alone knows init's
// host pid); init then runs createContainer in the container namespace.
func createHooks(conn syncConn, b *bootstrap) (specs.State, error) {
	h := b.Spec.Hooks
	if h == nil || len(h.Prestart)+len(h.CreateRuntime)+len(h.CreateContainer)+len(h.StartContainer) == 0 {
		return specs.State{}, nil
	}
	if err := conn.send(message{Type: msgHooks}); err != nil {
		return specs.State{}, err
	}
	m, err := conn.recv()
	if err != nil {
		return specs.State{}, step("running hooks", fmt.Errorf("waiting for the runtime's hooks: %w", err))
	}
	if m.Type != msgHooks || m.State == nil {
		return specs.State{}, step("running hooks", fmt.Errorf("unexpected %q message", m.Type))
	}
	// runtime-spec: createContainer hooks MUST be called after the
	// createRuntime hooks, before pivot_root, in the container namespace.
	return *m.State, runHooks("createContainer", h.CreateContainer, *m.State)
}

// execInit runs a process in a live container (husk exec): the
// namespaces are joined and the cgroup entered already, so only the
// process is set up. There is no start to wait for: ready, then execve;
// the parent learns of success when the sync socket closes on exec.
func execInit(conn *syncConn, b *bootstrap, warn func(string)) error {
	p := b.Spec.Process
	// A container without a mount namespace is the host's, chrooted
	// (see enterRoot): its rootfs mount is where its "/" is.
	if inHostMountNS(b.Spec) {
		if err := step("entering rootfs", chrootInto(b.Rootfs)); err != nil {
			return err
		}
	}
	if !b.NoNewKeyring {
		if err := step("joining session keyring", joinSessionKeyring(b.ID)); err != nil {
			return err
		}
	}
	if err := step("setting oom_score_adj", setOOMScoreAdj(p.OOMScoreAdj)); err != nil {
		return err
	}
	if p.Terminal {
		if err := step("setting up the terminal", setupTerminal(*conn, p, false)); err != nil {
			return err
		}
	}
	proc, err := prepareProcess(b, warn, logTo(*conn, "debug"))
	if err != nil {
		return err
	}
	sendTrace(*conn)
	if err := conn.send(message{Type: msgReady}); err != nil {
		return err
	}
	return proc.exec(conn)
}

// setOOMScoreAdj writes process.oomScoreAdj for this process.
func setOOMScoreAdj(adj *int) error {
	if adj == nil {
		return nil
	}
	v := strconv.Itoa(*adj)
	// husk exec writes it through the container's /proc, which the
	// container may have replaced or mounted over.
	f, err := openProcfs("self/oom_score_adj", unix.O_WRONLY)
	if err != nil {
		return fmt.Errorf("writing %s: %w", v, err)
	}
	defer f.Close()
	if _, err := f.WriteString(v); err != nil {
		return fmt.Errorf("writing %s: %w", v, err)
	}
	return nil
}

// setupNamespaces does the per-namespace work that must precede the rootfs:
// loopback in a new network namespace, the session keyring, oom_score_adj.
func setupNamespaces(b *bootstrap) error {
	defer trace.T.Begin("namespaces")()
	spec := b.Spec
	plan := planNamespaces(spec.Linux.Namespaces)
	if plan.isNew(specs.NetworkNamespace) {
		if err := step("setting up loopback", loopbackUp()); err != nil {
			return err
		}
	}
	if !b.NoNewKeyring {
		if err := step("joining session keyring", joinSessionKeyring(b.ID)); err != nil {
			return err
		}
	}
	return step("setting oom_score_adj", setOOMScoreAdj(spec.Process.OOMScoreAdj))
}

// joinSessionKeyring gives the container its own session keyring, so it
// cannot see the host's keys, and makes it searchable by its user.
func joinSessionKeyring(id string) error {
	defer trace.T.Begin("keyring")()
	key, err := unix.KeyctlJoinSessionKeyring("_ses." + id)
	if err == unix.ENOSYS {
		return nil
	}
	if err != nil {
		return err
	}
	desc, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, key)
	if err != nil {
		return err
	}
	fields := strings.Split(desc, ";")
	if len(fields) < 4 {
		return fmt.Errorf("unexpected keyring description %q", desc)
	}
	perm, err := strconv.ParseUint(fields[3], 16, 32)
	if err != nil {
		return err
	}
	return unix.KeyctlSetperm(key, uint32(perm)|0x080000) // KEY_USR_SEARCH
}

// finishRootfs applies what is done on the container's own "/": hostname,
// sysctls, read-only and masked paths, root.readonly, rootfsPropagation.
func finishRootfs(spec *specs.Spec) error {
	defer trace.T.Begin("finish rootfs")()
	if err := step("setting hostname", setHostnames(spec)); err != nil {
		return err
	}
	if err := step("setting sysctls", writeSysctls(spec.Linux.Sysctl)); err != nil {
		return err
	}
	if err := step("read-only paths", readonlyPaths(spec.Linux.ReadonlyPaths)); err != nil {
		return err
	}
	if err := step("masking paths", maskPaths(spec.Linux.MaskedPaths)); err != nil {
		return err
	}
	if spec.Root.Readonly {
		if err := step("read-only root", remountRootReadonly()); err != nil {
			return err
		}
	}
	return step("setting rootfs propagation", setFinalPropagation(spec.Linux.RootfsPropagation))
}

// execProcess is the resolved entrypoint, ready to execve.
type execProcess struct {
	path  string
	args  []string
	env   []string
	umask int
	nnp   bool
	// sched is set again right before execve (see setScheduler).
	sched *unix.SchedAttr
	// cpus is process.execCPUAffinity.final, for husk exec's processes.
	cpus     *unix.CPUSet
	cpusList string
	// seccomp is the filter to load last; finalCaps, when set, are the
	// capabilities to drop to once it is loaded (see setUser).
	seccomp   *seccomp.Program
	finalCaps *capSets
}

// prepareProcess does everything for process that can fail, before ready,
// so that failures reach the caller of create: rlimits, scheduling, memory
// policy and personality, user and capabilities, cwd, and finding the
// executable as the container's user.
func prepareProcess(b *bootstrap, warn, debug func(string)) (*execProcess, error) {
	defer trace.T.Begin("prepare process")()
	p := b.Spec.Process
	env := append(append([]string{}, p.Env...), b.Env...)
	if envValue(env, "HOME") == "" {
		env = append(env, "HOME="+homeDir(p.User.UID))
	}
	if err := step("setting rlimits", setRlimits(p.Rlimits)); err != nil {
		return nil, err
	}
	sched, err := setExecution(b.Spec)
	if err != nil {
		return nil, err
	}
	if err := step("setting LSM labels", setExecLabels(p, debug)); err != nil {
		return nil, err
	}
	// Loading a filter without no_new_privs takes CAP_SYS_ADMIN.
	holdAdmin := b.Seccomp != nil && !p.NoNewPrivileges
	finalCaps, err := setUser(p, warn, holdAdmin)
	if err != nil {
		return nil, step("setting user", err)
	}
	// With the container's credentials, a process of the container could
	// ptrace init (and take its fds) until it execs: not dumpable, it
	// cannot. execve makes the new program dumpable again.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return nil, step("setting user", os.NewSyscallError("prctl(PR_SET_DUMPABLE)", err))
	}
	if err := step("setting scheduler", checkFinalScheduler(sched)); err != nil {
		return nil, err
	}
	cpus, err := finalAffinity(b.Exec, p.ExecCPUAffinity)
	if err != nil {
		return nil, step("setting CPU affinity", err)
	}
	if err := unix.Chdir(p.Cwd); err != nil {
		return nil, step("changing to cwd", &SpecError{Path: "process.cwd", Err: &os.PathError{Op: "chdir", Path: p.Cwd, Err: err}})
	}
	// CVE-2024-21626: through /proc/self/fd/N, a cwd reaches whatever
	// directory init has open as N, even one outside the container's
	// root. getcwd cannot name such a directory from the root.
	if _, err := unix.Getwd(); errors.Is(err, unix.ENOENT) {
		return nil, step("changing to cwd", specErrorf("process.cwd", "%s: the directory is outside the container's root", p.Cwd))
	}
	path, err := lookPath(p.Args[0], env)
	if err != nil {
		return nil, step("starting container process", &SpecError{Path: "process.args[0]", Err: err})
	}
	umask := 0o022
	if p.User.Umask != nil {
		umask = int(*p.User.Umask)
	}
	ep := &execProcess{
		path: path, args: p.Args, env: env, umask: umask, nnp: p.NoNewPrivileges, sched: sched, cpus: cpus,
		seccomp: b.Seccomp, finalCaps: finalCaps,
	}
	if cpus != nil {
		ep.cpusList = p.ExecCPUAffinity.Final
	}
	return ep, nil
}

// setExecution applies what the process inherits across execve from the
// thread that execs: I/O priority, scheduler, memory policy, personality.
// It runs while init still has its capabilities (the realtime I/O class
// and real-time or deadline policies need CAP_SYS_NICE), and returns the
// scheduler to set again right before execve, if any.
func setExecution(spec *specs.Spec) (*unix.SchedAttr, error) {
	defer trace.T.Begin("scheduling")()
	if err := step("setting I/O priority", setIOPriority(spec.Process.IOPriority)); err != nil {
		return nil, err
	}
	sched, err := setScheduler(spec.Process.Scheduler)
	if err != nil {
		return nil, step("setting scheduler", err)
	}
	if err := step("setting memory policy", setMemoryPolicy(spec.Linux.MemoryPolicy)); err != nil {
		return nil, err
	}
	return sched, step("setting personality", setPersonality(spec.Linux.Personality))
}

// exec is the last step: no_new_privs, umask, the final scheduler and
// CPU affinity, the seccomp filter, execve. conn is where whoever waits
// for the execve listens: husk start, or husk exec's parent.
func (p *execProcess) exec(conn *syncConn) error {
	lt := beginExecTrace()
	if p.nnp {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return step("setting no_new_privs", err)
		}
	}
	unix.Umask(p.umask)
	if p.sched != nil {
		if err := unix.SchedSetAttr(0, p.sched, 0); err != nil {
			return step("setting scheduler", fmt.Errorf("process.scheduler: sched_setattr: %w", err))
		}
	}
	if p.cpus != nil {
		// "a list of CPUs the process will be run on after the
		// transition to container's cgroup"
		if err := setAffinity("final", p.cpusList, p.cpus); err != nil {
			return step("setting CPU affinity", err)
		}
	}
	if p.seccomp != nil {
		return p.execFiltered(conn, lt)
	}
	sendTrace(*conn)
	lt.send(*conn)
	err := unix.Exec(p.path, p.args, p.env)
	return step("starting container process", fmt.Errorf("exec %s: %w", p.path, err))
}
