package libcontainer

import (
	"fmt"
	"os"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/trace"
)

// nsKind describes one namespace type: its clone flag and its name under
// /proc/PID/ns.
type nsKind struct {
	flag     uintptr
	procName string
}

var nsKinds = map[specs.LinuxNamespaceType]nsKind{
	specs.PIDNamespace:     {unix.CLONE_NEWPID, "pid"},
	specs.NetworkNamespace: {unix.CLONE_NEWNET, "net"},
	specs.MountNamespace:   {unix.CLONE_NEWNS, "mnt"},
	specs.IPCNamespace:     {unix.CLONE_NEWIPC, "ipc"},
	specs.UTSNamespace:     {unix.CLONE_NEWUTS, "uts"},
	specs.UserNamespace:    {unix.CLONE_NEWUSER, "user"},
	specs.CgroupNamespace:  {unix.CLONE_NEWCGROUP, "cgroup"},
	specs.TimeNamespace:    {unix.CLONE_NEWTIME, "time"},
}

// joinOrder is the order in which existing namespaces are entered: the user
// namespace first, so that the others are joined with its capabilities.
var joinOrder = []specs.LinuxNamespaceType{
	specs.UserNamespace, specs.MountNamespace, specs.TimeNamespace,
	specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace,
	specs.UTSNamespace, specs.CgroupNamespace,
}

// threadJoinable reports whether a namespace can be joined by one thread of
// a multi-threaded process. user, mnt and time cannot (the kernel refuses
// setns for them unless the caller is single-threaded): those are joined
// before the Go runtime starts, by the nsenter constructor.
func threadJoinable(t specs.LinuxNamespaceType) bool {
	switch t {
	case specs.UserNamespace, specs.MountNamespace, specs.TimeNamespace:
		return false
	}
	return true
}

// nsPlan is what the parent derives from linux.namespaces: namespaces to
// create and namespaces to join, by type.
type nsPlan struct {
	newFlags uintptr
	join     map[specs.LinuxNamespaceType]string
}

func planNamespaces(namespaces []specs.LinuxNamespace) nsPlan {
	p := nsPlan{join: map[specs.LinuxNamespaceType]string{}}
	for _, ns := range namespaces {
		if ns.Path != "" {
			p.join[ns.Type] = ns.Path
		} else {
			p.newFlags |= nsKinds[ns.Type].flag
		}
	}
	return p
}

func (p nsPlan) isNew(t specs.LinuxNamespaceType) bool { return p.newFlags&nsKinds[t].flag != 0 }

// needsNsenter reports whether the init must join namespaces before the Go
// runtime starts.
func (p nsPlan) needsNsenter() bool {
	for t := range p.join {
		if !threadJoinable(t) {
			return true
		}
	}
	return false
}

// nsTypeOf asks the kernel which namespace type an open ns file is.
func nsTypeOf(f *os.File) (specs.LinuxNamespaceType, error) {
	flag, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_NSTYPE)
	if err != nil {
		return "", fmt.Errorf("%s: not a namespace file: %w", f.Name(), err)
	}
	for t, k := range nsKinds {
		if k.flag == uintptr(flag) {
			return t, nil
		}
	}
	return "", fmt.Errorf("%s: unknown namespace type %#x", f.Name(), flag)
}

// onNamespaceThread runs fn on a fresh OS thread that has first joined the
// thread-joinable namespaces in join. The thread is never handed back to
// the Go scheduler: when fn returns, the goroutine exits still locked and
// the runtime ends the thread, so no other goroutine can ever run in
// those namespaces.
func onNamespaceThread(join map[specs.LinuxNamespaceType]string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- func() error {
			for _, t := range joinOrder {
				path, ok := join[t]
				if !ok || !threadJoinable(t) {
					continue
				}
				if err := setnsPath(path, nsKinds[t].flag); err != nil {
					return err
				}
			}
			return fn()
		}()
	}()
	return <-errc
}

// makeTimeNamespace creates a time namespace with offsets and returns it
// as an open ns file, for the container's init to join (setns in the
// nsenter constructor). time_namespaces(7): offsets can be written only
// before any process enters, so the namespace cannot simply come from a
// clone flag; and a process whose time_for_children differs from its own
// may not clone with CLONE_VM (as Go's fork does) on older kernels, so the
// unsharing is done by a throwaway thread that never forks. writeOffsets
// runs on that thread.
func makeTimeNamespace(writeOffsets func() error) (*os.File, error) {
	var ns *os.File
	err := onNamespaceThread(nil, func() error {
		if err := unix.Unshare(unix.CLONE_NEWTIME); err != nil {
			return os.NewSyscallError("unshare time namespace", err)
		}
		if err := writeOffsets(); err != nil {
			return err
		}
		var err error
		ns, err = os.Open("/proc/thread-self/ns/time_for_children")
		return err
	})
	return ns, err
}

// timeJoinLine is the nsenter line that joins the time namespace open as
// fd in the child.
func timeJoinLine(fd int) string {
	return fmt.Sprintf("j %x /proc/self/fd/%d", unix.CLONE_NEWTIME, fd)
}

func setnsPath(path string, flag uintptr) error {
	defer trace.T.BeginOn("setns", path)()
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("joining namespace: %w", err)
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), int(flag)); err != nil {
		return fmt.Errorf("joining namespace %s: %w", path, err)
	}
	return nil
}

// timeClocks maps linux.timeOffsets keys to the clock ids timens_offsets takes.
var timeClocks = map[string]int{"monotonic": unix.CLOCK_MONOTONIC, "boottime": unix.CLOCK_BOOTTIME}

// timeOffsets renders linux.timeOffsets as /proc/PID/timens_offsets takes
// them: one "clock-id secs nanosecs" line per clock.
func timeOffsets(offsets map[string]specs.LinuxTimeOffset) []byte {
	var buf []byte
	for clock, off := range offsets {
		buf = fmt.Appendf(buf, "%d %d %d\n", timeClocks[clock], off.Secs, off.Nanosecs)
	}
	return buf
}

// writeTimeOffsets sets the clocks of the calling thread's new time
// namespace. timens_offsets exists only at the top level of /proc/PID
// (not under task/, so not in /proc/thread-self), and /proc/self is the
// thread group leader, which did not unshare: the thread is named by its
// tid, which /proc resolves to that thread.
func writeTimeOffsets(offsets []byte) error {
	if len(offsets) == 0 {
		return nil
	}
	path := fmt.Sprintf("/proc/%d/timens_offsets", unix.Gettid())
	if err := os.WriteFile(path, offsets, 0); err != nil {
		return fmt.Errorf("writing time offsets %q: %w", offsets, err)
	}
	return nil
}

// NamespaceTypes lists the namespace types husk can create and join.
func NamespaceTypes() []specs.LinuxNamespaceType {
	var out []specs.LinuxNamespaceType
	for t, k := range nsKinds {
		if namespaceSupported(k) {
			out = append(out, t)
		}
	}
	return out
}
