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

	"github.com/husk-runtime/husk/seccomp"
)

// initSyncEnv names the environment variable that tells `husk init` (and
// the nsenter constructor) which fd is its end of the sync socket.
const initSyncEnv = "_HUSK_INIT_SYNC"

// initGodebug turns off Go's asynchronous preemption in init: its signal
// would make init's thread run a handler and rt_sigreturn after the
// seccomp filter is on, syscalls the container's profile need not allow.
const initGodebug = "GODEBUG=asyncpreemptoff=1"

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
		err = reexecInit(fd, conn)
	} else {
		to, err = runInit(conn)
	}
	// If start went away, so did whoever would read this.
	if to.send(errorMessage(err)) != nil && to.f == conn.f {
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
)

func reexecInit(syncFD int, conn syncConn) error {
	flags, err := strconv.ParseUint(os.Getenv(reexecEnv), 16, 64)
	if err != nil {
		return step("reading clone flags", err)
	}
	var files []*os.File
	for fd := 3; fd <= syncFD+1; fd++ { // passed fds, sync socket, exec.sock
		files = append(files, os.NewFile(uintptr(fd), "fd"))
	}
	cmd := exec.Command("/proc/self/exe", "init")
	cmd.Env = []string{initSyncEnv + "=" + strconv.Itoa(syncFD), initGodebug}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if flags&unix.CLONE_NEWTIME != 0 && os.Getenv(timensEnv) != "" {
		ns, err := makeTimeNamespace(func() error {
			if err := conn.send(message{Type: msgTimens}); err != nil {
				return err
			}
			if m, err := conn.recv(); err != nil || m.Type != msgTimens {
				return fmt.Errorf("waiting for the time offsets: %v %v", m.Type, err)
			}
			return nil
		})
		if err != nil {
			return step("creating time namespace", err)
		}
		files = append(files, ns)
		cmd.Env = append(cmd.Env, nsenterEnv+"="+timeJoinLine(2+len(files)))
		flags &^= unix.CLONE_NEWTIME
	}
	cmd.ExtraFiles = files
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: uintptr(flags)}
	if err := cmd.Start(); err != nil {
		return step("starting init in new namespaces", err)
	}
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
	return m
}

// runInit runs the stages in order. It returns only on failure, with the
// connection to report it on: the sync socket, or the start connection
// once start came.
func runInit(conn syncConn) (syncConn, error) {
	m, err := conn.recv()
	if err != nil {
		return conn, step("reading bootstrap", err)
	}
	if m.Type != msgBootstrap || m.Bootstrap == nil || m.Bootstrap.Spec == nil {
		return conn, step("reading bootstrap", fmt.Errorf("unexpected %q message", m.Type))
	}
	b := m.Bootstrap
	spec := b.Spec
	warn := func(msg string) { conn.send(message{Type: msgLog, Level: "warning", Msg: msg}) }

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
	// Before finishRootfs: root.readonly would make a missing cwd
	// impossible to create.
	if err := step("creating cwd "+spec.Process.Cwd, os.MkdirAll(spec.Process.Cwd, 0o755)); err != nil {
		return conn, err
	}
	if err := finishRootfs(spec); err != nil {
		return conn, err
	}
	if spec.Process.Terminal {
		if err := step("setting up the terminal", setupTerminal(conn, spec.Process, true)); err != nil {
			return conn, err
		}
	}
	proc, err := prepareProcess(b, warn)
	if err != nil {
		return conn, err
	}
	if err := conn.send(message{Type: msgReady}); err != nil {
		return conn, err
	}
	fd, err := waitForStart(b.ExecFD)
	if err != nil {
		return conn, step("waiting for start", err)
	}
	start := syncConn{f: os.NewFile(uintptr(fd), "start")}
	err = proc.exec(&start)
	return start, err
}

// execInit runs a process in a live container (husk exec): the
// namespaces are joined and the cgroup entered already, so only the
// process is set up. There is no start to wait for: ready, then execve;
// the parent learns of success when the sync socket closes on exec.
func execInit(conn *syncConn, b *bootstrap, warn func(string)) error {
	p := b.Spec.Process
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
	proc, err := prepareProcess(b, warn)
	if err != nil {
		return err
	}
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
	if err := os.WriteFile("/proc/self/oom_score_adj", []byte(v), 0); err != nil {
		return fmt.Errorf("writing %s: %w", v, err)
	}
	return nil
}

// setupNamespaces does the per-namespace work that must precede the rootfs:
// loopback in a new network namespace, the session keyring, oom_score_adj.
func setupNamespaces(b *bootstrap) error {
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
	// seccomp is the filter to load last; finalCaps, when set, are the
	// capabilities to drop to once it is loaded (see setUser).
	seccomp   *seccomp.Program
	finalCaps *capSets
}

// prepareProcess does everything for process that can fail, before ready,
// so that failures reach the caller of create: rlimits, user and
// capabilities, cwd, and finding the executable as the container's user.
func prepareProcess(b *bootstrap, warn func(string)) (*execProcess, error) {
	p := b.Spec.Process
	env := append(append([]string{}, p.Env...), b.Env...)
	if envValue(env, "HOME") == "" {
		env = append(env, "HOME="+homeDir(p.User.UID))
	}
	if err := step("setting rlimits", setRlimits(p.Rlimits)); err != nil {
		return nil, err
	}
	// Loading a filter without no_new_privs takes CAP_SYS_ADMIN.
	holdAdmin := b.Seccomp != nil && !p.NoNewPrivileges
	finalCaps, err := setUser(p, warn, holdAdmin)
	if err != nil {
		return nil, step("setting user", err)
	}
	if err := unix.Chdir(p.Cwd); err != nil {
		return nil, step("changing to cwd", &os.PathError{Op: "chdir", Path: p.Cwd, Err: err})
	}
	path, err := lookPath(p.Args[0], env)
	if err != nil {
		return nil, step("starting container process", err)
	}
	umask := 0o022
	if p.User.Umask != nil {
		umask = int(*p.User.Umask)
	}
	return &execProcess{
		path: path, args: p.Args, env: env, umask: umask, nnp: p.NoNewPrivileges,
		seccomp: b.Seccomp, finalCaps: finalCaps,
	}, nil
}

// exec is the last step: no_new_privs, umask, the seccomp filter, execve.
// conn is where whoever waits for the execve listens: husk start, or husk
// exec's parent.
func (p *execProcess) exec(conn *syncConn) error {
	if p.nnp {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return step("setting no_new_privs", err)
		}
	}
	unix.Umask(p.umask)
	if p.seccomp != nil {
		return p.execFiltered(conn)
	}
	err := unix.Exec(p.path, p.args, p.env)
	return step("starting container process", fmt.Errorf("exec %s: %w", p.path, err))
}
