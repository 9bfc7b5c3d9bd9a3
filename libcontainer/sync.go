package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/trace"
	"github.com/husk-runtime/husk/seccomp"
)

// The parent (husk create/run) and the container's init talk over one
// SOCK_SEQPACKET socketpair, one JSON message per packet:
//
//	step  direction       message   meaning
//	1     init → parent   (error)   the nsenter constructor failed to join
//	1     init ↔ parent   userns    rootless with subordinate ids: init
//	                                (constructor) made its user namespace;
//	                                the parent writes the mappings with
//	                                newuidmap/newgidmap and answers userns
//	1a    init ↔ parent   timens    only on the reexec path (a joined user
//	                                namespace plus new ones) with a new time
//	                                namespace: init asks, the parent writes
//	                                its timens_offsets and answers timens
//	1b    init → parent   pid       only on the reexec path: init cloned the
//	                                real init into the new namespaces and
//	                                exits; this is its pid, and the parent
//	                                sends bootstrap only now, to the real one
//	2     parent → init   bootstrap everything init needs: spec, rootfs, fds
//	3     init → parent   log       zero or more warnings/debug lines
//	2a    init ↔ parent   hooks     with hooks, after the mounts and before
//	                                pivot_root: init asks, the parent runs
//	                                prestart and createRuntime and answers
//	                                with the state; init runs createContainer
//	3a    init → parent   pty       with process.terminal: the pty master
//	                                (SCM_RIGHTS); msg is the slave's name
//	3b    init → parent   trace     with tracing on (_HUSK_TRACE): init's
//	                                spans so far; the intermediate init sends
//	                                its own before pid
//	4     init → parent   ready     rootfs pivoted, user set, entrypoint found;
//	                                init now blocks in accept() on exec.sock
//	-     init → parent   error     any step failed; init exits after sending
//
// Order matters: the parent sends bootstrap only after clone returned (Go
// has written the id maps by then), and it treats the container as created
// only on ready, so a failure anywhere before that is reported to the
// caller of create, with the step that failed, and cleaned up.
//
// After ready, `husk start` connects to exec.sock (SOCK_SEQPACKET too).
// init accepts, and the accepted connection is close-on-exec: a
// successful execve closes it (start reads EOF), a failure writes an
// error message on it first. husk exec has no start: its init goes on
// from ready on the sync socket, and the same steps follow there.
//
//	5     init → start    seccomp   only with SCMP_ACT_NOTIFY: init loaded
//	                                the filter and sends the listener fd
//	                                (SCM_RIGHTS)
//	5a    start → init    seccompDone the agent at listenerPath has it;
//	                                without this, init exits before execve
//	6     init → start    trace     with tracing on: the spans of start's
//	                                share (before the filter is loaded), then
//	                                "seccomp load" and "exec", the last one
//	                                ending right before execve
//
// The filter is loaded after start, as close to execve as it can be; so
// the handover is start's (or husk exec's) to do, and the container's
// program never runs unless the agent got its listener.
const (
	msgBootstrap = "bootstrap"
	msgLog       = "log"
	msgReady     = "ready"
	msgError     = "error"
	msgPid       = "pid"
	msgTimens    = "timens"
	msgPty       = "pty"
	msgHooks     = "hooks"
	msgUserns    = "userns"
	// msgSeccomp and msgSeccompDone hand over the seccomp listener.
	msgSeccomp     = "seccomp"
	msgSeccompDone = "seccompDone"
	// msgTrace carries init's spans to the parent or to start.
	msgTrace = "trace"
)

// message is the one envelope every packet uses.
type message struct {
	Type      string     `json:"type"`
	Bootstrap *bootstrap `json:"bootstrap,omitempty"`
	Level     string     `json:"level,omitempty"`
	Step      string     `json:"step,omitempty"`
	Msg       string     `json:"msg,omitempty"`
	Pid       int        `json:"pid,omitempty"`
	// State is the container's state, for hooks.
	State *specs.State `json:"state,omitempty"`
	// Trace is init's spans (msgTrace), its pid to be set by the parent.
	Trace []trace.Event `json:"trace,omitempty"`
}

// bootstrap is what the parent hands to init.
type bootstrap struct {
	Spec   *specs.Spec `json:"spec"`
	ID     string      `json:"id"`
	Bundle string      `json:"bundle"`
	Rootfs string      `json:"rootfs"`
	// CgroupPath is the container's cgroup directory on the host, bound
	// at cgroup mounts when there is no cgroup namespace.
	CgroupPath   string `json:"cgroupPath"`
	NoPivot      bool   `json:"noPivot,omitempty"`
	NoNewKeyring bool   `json:"noNewKeyring,omitempty"`
	// PassFDs is how many fds from 3 up belong to the container process
	// (--preserve-fds plus LISTEN_FDS). Init's own fds come after them.
	PassFDs int `json:"passFds"`
	// ExecFD is the listening exec.sock init waits on for start (-1 for
	// husk exec, which does not wait).
	ExecFD int `json:"execFd"`
	// Env is added to process.env (LISTEN_FDS, LISTEN_PID).
	Env []string `json:"env,omitempty"`
	// Exec is set for husk exec: a process joining a live container.
	Exec bool `json:"exec,omitempty"`
	// MountFDs maps the index of each mount the parent prepared (idmapped
	// binds) to the fd of its detached mount, for init to attach.
	MountFDs map[int]int `json:"mountFds,omitempty"`
	// Seccomp is linux.seccomp compiled by the parent, loaded by init
	// right before execve.
	Seccomp *seccomp.Program `json:"seccomp,omitempty"`
}

// maxMessage bounds one packet; bootstrap carries the whole spec.
const maxMessage = 4 << 20

// syncConn is one end of the socketpair (or of a start connection).
type syncConn struct {
	f *os.File
	// filter is set in init once the seccomp filter is loaded: sendmsg
	// and recvmsg then go through its exemption (see execFiltered).
	filter *seccomp.Filter
}

func newSyncPair() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, os.NewSyscallError("socketpair", err)
	}
	for _, fd := range fds {
		// Room for a large spec; root may exceed wmem_max.
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, maxMessage) != nil {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, maxMessage)
		}
	}
	return os.NewFile(uintptr(fds[0]), "sync-parent"), os.NewFile(uintptr(fds[1]), "sync-init"), nil
}

func (c syncConn) send(m message) error { return c.sendFD(m, -1) }

// sendFD sends m, and with it fd (SCM_RIGHTS) unless fd is -1.
func (c syncConn) sendFD(m message, fd int) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	if err := c.sendRaw(data, oob); err != nil {
		return fmt.Errorf("sending %s message: %w", m.Type, err)
	}
	return nil
}

// sendRaw sends one packet, already encoded, through the seccomp
// filter's exemption once it is loaded.
func (c syncConn) sendRaw(data, oob []byte) error {
	if c.filter != nil {
		return sendmsgExempt(c.filter, int(c.f.Fd()), data, oob)
	}
	return unix.Sendmsg(int(c.f.Fd()), data, oob, nil, 0)
}

// errClosed means the other end went away without a word.
var errClosed = errors.New("connection closed")

func (c syncConn) recv() (message, error) {
	m, f, err := c.recvFD()
	if f != nil {
		f.Close()
	}
	return m, err
}

// recvFD receives one message and the fd sent with it, if any.
func (c syncConn) recvFD() (message, *os.File, error) {
	fd := int(c.f.Fd())
	if c.filter != nil {
		return recvExempt(c.filter, fd)
	}
	for {
		// Peek with MSG_TRUNC for the packet's real size, then read it whole.
		size, _, err := unix.Recvfrom(fd, nil, unix.MSG_PEEK|unix.MSG_TRUNC)
		if err == unix.EINTR {
			continue
		}
		// A peer that exits with a packet of ours unread (init failing in
		// the nsenter constructor, before reading bootstrap) resets the
		// connection. The error is reported once, ahead of the packets it
		// sent before exiting: read on to get its reason.
		if err == unix.ECONNRESET {
			continue
		}
		if err != nil {
			return message{}, nil, os.NewSyscallError("recvmsg", err)
		}
		if size == 0 {
			return message{}, nil, errClosed
		}
		buf := make([]byte, size)
		oob := make([]byte, unix.CmsgSpace(4))
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != nil {
			return message{}, nil, os.NewSyscallError("recvmsg", err)
		}
		return decodeMessage(buf[:n], oob[:oobn])
	}
}

// decodeMessage decodes one packet and the fd that came with it.
func decodeMessage(data, oob []byte) (message, *os.File, error) {
	var f *os.File
	if len(oob) > 0 {
		f = fileFromRights(oob)
	}
	var m message
	if err := json.Unmarshal(data, &m); err != nil {
		return message{}, f, fmt.Errorf("decoding message: %w", err)
	}
	return m, f, nil
}

func fileFromRights(oob []byte) *os.File {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil || len(msgs) == 0 {
		return nil
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) == 0 {
		return nil
	}
	for _, extra := range fds[1:] {
		unix.Close(extra)
	}
	return os.NewFile(uintptr(fds[0]), "received")
}
