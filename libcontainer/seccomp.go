package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/trace"
	"github.com/husk-runtime/husk/seccomp"
)

// linux.seccomp, end to end:
//
//	parent   validate.go: seccomp.Check; compileSeccomp, before anything
//	         is made: libseccomp → BPF, cached in <root>/.seccomp-cache
//	init     prepareProcess: with no_new_privs false, setUser keeps
//	         CAP_SYS_ADMIN (loading a filter needs it)
//	         exec, after start: no_new_privs, umask, then execFiltered:
//	         load the filter; hand the listener over (SCMP_ACT_NOTIFY);
//	         drop CAP_SYS_ADMIN; execve
//	start    (or husk exec's parent) passes the listener to the agent at
//	         listenerPath and only then lets init execve
//
// Once the filter is on, init's own syscalls pass through its exemption
// key (seccomp.Filter.Syscall), so a profile that denies execve, capset
// or sendmsg still starts the container, and denies them to it.

// seccompCache is the cache of compiled programs in the state root. Its
// leading dot keeps it from being taken for a container (ValidateID).
const seccompCache = ".seccomp-cache"

// compileSeccomp compiles linux.seccomp, which Validate accepted, for
// init. Errors name the field.
func compileSeccomp(root string, s *specs.LinuxSeccomp, logf func(level, msg string)) (*seccomp.Program, error) {
	if s == nil {
		return nil, nil
	}
	defer trace.T.Begin("seccomp compile")()
	prog, err := seccomp.CompileCached(s, filepath.Join(root, seccompCache))
	if err != nil {
		return nil, seccompError(err)
	}
	if len(prog.Skipped) > 0 && logf != nil {
		logf("debug", fmt.Sprintf("seccomp: skipping syscalls unknown to libseccomp %s: %s",
			seccomp.Version(), strings.Join(prog.Skipped, ", ")))
	}
	return prog, nil
}

// seccompError turns the seccomp package's errors into a SpecError.
func seccompError(err error) error {
	path := "linux.seccomp"
	var fe *seccomp.FieldError
	if errors.As(err, &fe) {
		if fe.Path != "" {
			path += "." + fe.Path
		}
		err = fe.Err
	}
	return &SpecError{Path: path, Err: err}
}

// execFiltered loads the filter and execs: the filter goes on as late as
// it can, so that it need not allow what init does before.
func (p *execProcess) execFiltered(conn *syncConn, lt *execTrace) error {
	// Everything execve takes is made before the filter is on.
	path, err := unix.BytePtrFromString(p.path)
	if err != nil {
		return step("starting container process", err)
	}
	argv, err := syscall.SlicePtrFromStrings(p.args)
	if err != nil {
		return step("starting container process", err)
	}
	envv, err := syscall.SlicePtrFromStrings(p.env)
	if err != nil {
		return step("starting container process", err)
	}
	// The filter's exemption key will be in this process's memory until
	// execve; make it unreadable by ptrace and /proc/PID/mem to the
	// container's processes (execve makes the new program dumpable).
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return step("loading seccomp filter", os.NewSyscallError("prctl(PR_SET_DUMPABLE)", err))
	}
	sendTrace(*conn) // before the filter: encoding it allocates
	lt.loading()
	filter, err := p.seccomp.Load()
	lt.loaded()
	if err != nil {
		return step("loading seccomp filter", err)
	}
	conn.filter = filter // errors are reported through the exemption too
	if filter.Listener >= 0 {
		if err := handOverFromInit(*conn, filter.Listener); err != nil {
			return step("handing over the seccomp listener", err)
		}
	}
	if p.finalCaps != nil {
		hdr, data := capsetArgs(*p.finalCaps)
		if _, errno := filter.Syscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); errno != 0 {
			return step("dropping CAP_SYS_ADMIN after loading seccomp", os.NewSyscallError("capset", errno))
		}
	}
	lt.send(*conn)
	_, errno := filter.Syscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(path)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])))
	runtime.KeepAlive(argv)
	runtime.KeepAlive(envv)
	return step("starting container process", fmt.Errorf("exec %s: %w", p.path, errno))
}

// handOverFromInit sends the listener to whoever waits for the execve
// and waits until it reached the agent. The listener fd is close-on-exec:
// the container never holds it.
func handOverFromInit(conn syncConn, listener int) error {
	if err := conn.sendFD(message{Type: msgSeccomp}, listener); err != nil {
		return err
	}
	m, err := conn.recv()
	switch {
	case errors.Is(err, errClosed):
		return errors.New("husk went away before the agent had the listener")
	case err != nil:
		return err
	case m.Type != msgSeccompDone:
		return fmt.Errorf("unexpected %q message", m.Type)
	}
	return nil
}

// awaitExec reads init's messages, after ready, until its execve closes
// conn: it hands the seccomp listener over with handOver and answers
// seccompDone, and returns init's error if it reports one. Spans init
// sends are adopted under pid, init's host pid.
func awaitExec(conn syncConn, pid int, handOver func(*os.File) error) error {
	defer trace.T.Begin("wait exec")()
	for {
		m, f, err := conn.recvFD()
		switch {
		case errors.Is(err, errClosed):
			return nil
		case err == nil && m.Type == msgTrace:
			closeFile(f)
			trace.T.Adopt(m.Trace, pid) // init's, whatever the pid it sees
			continue
		case err != nil:
			closeFile(f)
			return fmt.Errorf("reading init's reply: %w", err)
		case m.Type == msgError:
			closeFile(f)
			return &InitError{Step: m.Step, Msg: m.Msg}
		case m.Type != msgSeccomp:
			closeFile(f)
			return fmt.Errorf("unexpected %q message from init", m.Type)
		case f == nil:
			return errors.New("init sent no seccomp listener")
		}
		err = handOver(f)
		f.Close()
		if err != nil {
			return err
		}
		if err := conn.send(message{Type: msgSeccompDone}); err != nil {
			return err
		}
	}
}

func closeFile(f *os.File) {
	if f != nil {
		f.Close()
	}
}

// handOverListener sends a container process's notify fd to the agent at
// linux.seccomp.listenerPath with the container process state; pid is
// the process's, st the container's. "If sending to this socket fails,
// the runtime MUST generate an error."
func handOverListener(s *specs.LinuxSeccomp, st specs.State, pid int, f *os.File) error {
	if s == nil {
		return errors.New("init sent a seccomp listener, but the container has no seccomp profile")
	}
	state := specs.ContainerProcessState{
		Version:  specs.Version,
		Fds:      []string{specs.SeccompFdName},
		Pid:      pid,
		Metadata: s.ListenerMetadata,
		State:    st,
	}
	if err := seccomp.SendListener(s.ListenerPath, &state, int(f.Fd())); err != nil {
		return fmt.Errorf("handing the seccomp listener to the agent: %w", err)
	}
	return nil
}

// sendmsgExempt is sendmsg(2) through the filter's exemption.
func sendmsgExempt(filter *seccomp.Filter, fd int, data, oob []byte) error {
	iov := unix.Iovec{Base: &data[0]}
	iov.SetLen(len(data))
	msg := unix.Msghdr{Iov: &iov}
	msg.SetIovlen(1)
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
	for {
		_, errno := filter.Syscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return os.NewSyscallError("sendmsg", errno)
		}
		return nil
	}
}

// recvExempt is recvFD through the filter's exemption. Only seccompDone
// and errors come this way: one small packet, no peek needed.
func recvExempt(filter *seccomp.Filter, fd int) (message, *os.File, error) {
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4))
	iov := unix.Iovec{Base: &buf[0]}
	iov.SetLen(len(buf))
	msg := unix.Msghdr{Iov: &iov, Control: &oob[0]}
	msg.SetIovlen(1)
	msg.SetControllen(len(oob))
	for {
		n, errno := filter.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_CMSG_CLOEXEC)
		switch {
		case errno == unix.EINTR:
			continue
		case errno != 0:
			return message{}, nil, os.NewSyscallError("recvmsg", errno)
		case n == 0:
			return message{}, nil, errClosed
		}
		return decodeMessage(buf[:n], oob[:msg.Controllen])
	}
}
