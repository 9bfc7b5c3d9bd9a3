package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/cgroups"
)

// nsenterEnv is read by the nsenter constructor (see libcontainer/nsenter).
const nsenterEnv = "_HUSK_NSENTER"

// initProcess is the parent's handle on a starting init.
type initProcess struct {
	cmd  *exec.Cmd
	conn syncConn
}

// startInit clones `husk init` into the container's namespaces and cgroup
// and hands it the bootstrap message. New namespaces come from clone
// flags (Go writes the id maps before init runs); namespaces to join are
// entered by the cloning thread (net, ipc, uts, pid, cgroup) or by the
// nsenter constructor in the child (user, mnt, time).
func startInit(b *bootstrap, opts *CreateOpts, cg *cgroups.Manager, execListener *os.File) (*initProcess, error) {
	spec := b.Spec
	plan := planNamespaces(spec.Linux.Namespaces)
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
	defer cgroupDir.Close()

	passFiles := make([]*os.File, b.PassFDs)
	for i := range passFiles {
		passFiles[i] = os.NewFile(uintptr(3+i), "passed-fd-"+strconv.Itoa(3+i))
	}
	b.ExecFD = 3 + b.PassFDs + 1
	stdio := opts.stdio()
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{"husk", "init"},
		Env:        []string{initSyncEnv + "=" + strconv.Itoa(3+b.PassFDs)},
		Stdin:      stdio[0],
		Stdout:     stdio[1],
		Stderr:     stdio[2],
		ExtraFiles: append(passFiles, childSync, execListener),
		SysProcAttr: &syscall.SysProcAttr{
			UseCgroupFD: true,
			CgroupFD:    int(cgroupDir.Fd()),
		},
	}
	attr := cmd.SysProcAttr
	cloneFlags := plan.newFlags &^ unix.CLONE_NEWTIME
	if plan.needsNsenter() {
		var lines []string
		for _, t := range joinOrder {
			if path, ok := plan.join[t]; ok && !threadJoinable(t) {
				lines = append(lines, fmt.Sprintf("j %x %s", nsKinds[t].flag, path))
			}
		}
		if plan.join[specs.UserNamespace] != "" {
			// New namespaces must belong to the joined user namespace.
			lines = append(lines, fmt.Sprintf("u %x", cloneFlags))
			cloneFlags = 0
		}
		cmd.Env = append(cmd.Env, nsenterEnv+"="+strings.Join(lines, "\n"))
	}
	attr.Cloneflags = cloneFlags
	if cloneFlags&unix.CLONE_NEWUSER != 0 {
		attr.UidMappings = idMaps(spec.Linux.UIDMappings)
		attr.GidMappings = idMaps(spec.Linux.GIDMappings)
		attr.GidMappingsEnableSetgroups = true
	}
	newTime := plan.isNew(specs.TimeNamespace)
	err = onNamespaceThread(plan.join, newTime, spec.Linux.TimeOffsets, cmd.Start)
	if err != nil {
		parentSync.Close()
		return nil, fmt.Errorf("starting container init: %w", err)
	}
	p := &initProcess{cmd: cmd, conn: syncConn{parentSync}}
	if err := p.conn.send(message{Type: msgBootstrap, Bootstrap: b}); err != nil {
		p.kill()
		return nil, err
	}
	return p, nil
}

func idMaps(maps []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(maps))
	for i, m := range maps {
		out[i] = syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)}
	}
	return out
}

// waitReady reads init's messages until it is ready or has failed.
func (p *initProcess) waitReady(logf func(level, msg string)) error {
	for {
		m, err := p.conn.recv()
		if errors.Is(err, errClosed) {
			return p.exitError()
		}
		if err != nil {
			return err
		}
		switch m.Type {
		case msgLog:
			if logf != nil {
				logf(m.Level, m.Msg)
			}
		case msgReady:
			return nil
		case msgError:
			return &InitError{Step: m.Step, Msg: m.Msg}
		default:
			return fmt.Errorf("unexpected %q message from init", m.Type)
		}
	}
}

// exitError describes an init that went away without reporting why.
func (p *initProcess) exitError() error {
	state, err := p.cmd.Process.Wait()
	if err != nil {
		return fmt.Errorf("container init exited unexpectedly: %w", err)
	}
	return fmt.Errorf("container init exited unexpectedly: %s", state)
}

// kill ends a failed init and reaps it.
func (p *initProcess) kill() {
	p.conn.f.Close()
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
		p.cmd.Process.Wait()
	}
}

// listenExec creates exec.sock in the state dir, where init will wait for
// start. Binding through /proc/self/fd keeps the path short whatever
// --root is (sun_path holds 108 bytes).
func listenExec(dir *stateDir) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
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
