package integration

// A seccomp agent for the SCMP_ACT_NOTIFY tests: it listens on a unix
// socket, takes the container process state and the notify fd that husk
// sends, and answers mkdir(2) with a faked success, creating nothing.

import (
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// seccompAgent is one test's agent.
type seccompAgent struct {
	path   string
	states chan specs.ContainerProcessState
	faked  atomic.Int32 // mkdir calls answered
	done   chan struct{}
}

// struct seccomp_notif and struct seccomp_notif_resp.
type notifReq struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Nr    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

type notifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

func startSeccompAgent(t *testing.T) *seccompAgent {
	t.Helper()
	a := &seccompAgent{
		path:   filepath.Join(t.TempDir(), "agent.sock"),
		states: make(chan specs.ContainerProcessState, 8),
		done:   make(chan struct{}),
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: a.path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(a.done); l.Close() })
	go func() {
		for {
			conn, err := l.AcceptUnix()
			if err != nil {
				return
			}
			go a.take(t, conn)
		}
	}()
	return a
}

// take reads one container process state with its fd, as the spec says
// a runtime sends it, and serves the fd.
func (a *seccompAgent) take(t *testing.T, conn *net.UnixConn) {
	defer conn.Close()
	buf, oob := make([]byte, 64<<10), make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Errorf("agent: %v", err)
		return
	}
	rest, _ := io.ReadAll(conn) // "the runtime MAY use several sendmsg(2) calls"
	var st specs.ContainerProcessState
	if err := json.Unmarshal(append(buf[:n], rest...), &st); err != nil {
		t.Errorf("agent: decoding %q: %v", buf[:n], err)
		return
	}
	msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
	var fds []int
	if len(msgs) == 1 {
		fds, _ = unix.ParseUnixRights(&msgs[0])
	}
	if len(fds) != 1 {
		t.Errorf("agent: %d fds with the state, want 1", len(fds))
		for _, fd := range fds {
			unix.Close(fd)
		}
		return
	}
	a.states <- st
	go a.serve(fds[0])
}

// serve answers notifications until the filter has no process left.
func (a *seccompAgent) serve(fd int) {
	defer unix.Close(fd)
	for {
		select {
		case <-a.done:
			return
		default:
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(pfd, 100); err != nil && err != unix.EINTR || n == 1 && pfd[0].Revents&unix.POLLHUP != 0 {
			return
		} else if n != 1 {
			continue
		}
		var req notifReq
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&req))); errno != 0 {
			continue // the process went away meanwhile
		}
		resp := notifResp{ID: req.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
		if req.Nr == unix.SYS_MKDIR || req.Nr == unix.SYS_MKDIRAT {
			resp.Flags = 0 // success, and nothing made
			a.faked.Add(1)
		}
		unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
	}
}

// state waits for the next container process state.
func (a *seccompAgent) state(t *testing.T) specs.ContainerProcessState {
	t.Helper()
	select {
	case st := <-a.states:
		return st
	case <-time.After(20 * time.Second):
		t.Fatal("the agent got no container process state")
	}
	return specs.ContainerProcessState{}
}

// noState asserts that no state arrived (yet).
func (a *seccompAgent) noState(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case st := <-a.states:
		t.Errorf("agent got a state too early: %+v", st)
	case <-time.After(within):
	}
}

// fileEventually waits for path to hold want, and returns its content.
func fileEventually(t *testing.T, path, want string) string {
	t.Helper()
	var data []byte
	waitFor(20*time.Second, func() bool {
		data, _ = os.ReadFile(path)
		return strings.Contains(string(data), want)
	})
	return string(data)
}
