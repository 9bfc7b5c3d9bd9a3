package libcontainer

import (
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/trace"
)

// setupTerminal implements process.terminal: it makes a pty in the
// container's own devpts (through its /dev/ptmx), hands the master to the
// parent, binds the slave at /dev/console when asked, and makes the slave
// the process's controlling terminal and stdio.
func setupTerminal(conn syncConn, p *specs.Process, bindConsole bool) error {
	defer trace.T.Begin("terminal")()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening the container's /dev/ptmx (is devpts mounted at /dev/pts?): %w", err)
	}
	defer master.Close()
	mfd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		return os.NewSyscallError("unlockpt", err)
	}
	n, err := unix.IoctlGetUint32(mfd, unix.TIOCGPTN)
	if err != nil {
		return os.NewSyscallError("ptsname", err)
	}
	name := fmt.Sprintf("/dev/pts/%d", n)
	// TIOCGPTPEER opens the slave through the master, never by a path a
	// container could have replaced.
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		return os.NewSyscallError("opening pty slave", errno)
	}
	sfd := int(r)
	slave := os.NewFile(uintptr(sfd), name)
	defer slave.Close()
	if sz := p.ConsoleSize; sz != nil {
		ws := &unix.Winsize{Row: uint16(sz.Height), Col: uint16(sz.Width)}
		if err := unix.IoctlSetWinsize(sfd, unix.TIOCSWINSZ, ws); err != nil {
			return os.NewSyscallError("setting console size", err)
		}
	}
	if bindConsole {
		if err := bindDevConsole(slave); err != nil {
			return err
		}
	}
	if err := conn.sendFD(message{Type: msgPty, Msg: name}, mfd); err != nil {
		return err
	}
	if _, err := unix.Setsid(); err != nil {
		return os.NewSyscallError("setsid", err)
	}
	if err := unix.IoctlSetInt(sfd, unix.TIOCSCTTY, 0); err != nil {
		return os.NewSyscallError("setting controlling terminal", err)
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(sfd, fd, 0); err != nil {
			return os.NewSyscallError("dup3", err)
		}
	}
	return nil
}

// bindDevConsole binds the pty slave over /dev/console (created as an
// empty file in the container's /dev if missing).
func bindDevConsole(slave *os.File) error {
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer root.Close()
	target, err := consoleTarget(root)
	if err != nil {
		return fmt.Errorf("creating /dev/console: %w", err)
	}
	defer target.Close()
	return bindMount(int(slave.Fd()), "", target, false, nil, nil)
}

// consoleTarget opens /dev/console itself (O_PATH), creating it if
// missing. A symlink there is refused, never followed: the pty would be
// bound wherever it points, a procfs file included (CVE-2025-52565).
// The bind goes onto the fd checked here.
func consoleTarget(root *os.File) (*os.File, error) {
	dfd, base, err := parentDirInRoot(root, "/dev/console")
	if err != nil {
		return nil, err
	}
	defer unix.Close(dfd)
	fd, err := unix.Openat(dfd, base, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err == nil {
		unix.Close(fd)
	} else if err != unix.EEXIST {
		return nil, &os.PathError{Op: "create", Path: "/dev/console", Err: err}
	}
	fd, err = unix.Openat(dfd, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: "/dev/console", Err: err}
	}
	f := os.NewFile(uintptr(fd), "/dev/console")
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		f.Close()
		buf := make([]byte, unix.PathMax)
		n, _ := unix.Readlinkat(dfd, base, buf)
		return nil, fmt.Errorf("/dev/console is a symlink (to %s): the terminal is bound on /dev/console itself only", buf[:max(n, 0)])
	}
	return f, nil
}

// consoleFor decides who receives the pty master of p: the engine's
// --console-socket, or attach (husk run or exec in the foreground).
func consoleFor(p *specs.Process, socket string, attach ConsoleFunc) (ConsoleFunc, error) {
	switch {
	case !p.Terminal && socket != "":
		return nil, errors.New("--console-socket given, but the process has no terminal (process.terminal is false)")
	case !p.Terminal:
		return nil, nil
	case socket != "":
		return func(master *os.File, name string) error { return sendConsole(socket, master, name) }, nil
	case attach != nil:
		return attach, nil
	}
	return nil, &SpecError{Path: "process.terminal", Err: errors.New("a terminal needs --console-socket, or husk run/exec in the foreground")}
}

// sendConsole hands the pty master to the engine: one SCM_RIGHTS message
// on a connection to its console socket, with the pty's name as payload.
func sendConsole(socket string, master *os.File, name string) error {
	defer master.Close()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: socket}); err != nil {
		return fmt.Errorf("connecting to console socket %s: %w", socket, err)
	}
	if err := unix.Sendmsg(fd, []byte(name), unix.UnixRights(int(master.Fd())), nil, 0); err != nil {
		return fmt.Errorf("sending the pty to console socket %s: %w", socket, err)
	}
	return nil
}
