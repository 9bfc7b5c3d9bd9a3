package integration

// SCMP_ACT_NOTIFY end to end, with a seccomp agent in the test process:
// it listens on a unix socket, takes the container process state and the
// notify fd that husk sends, and answers mkdir(2) with a faked success,
// creating nothing.

import (
	"encoding/json"
	"fmt"
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

// notifyProfile sends mkdir to the agent.
func notifyProfile(listener, metadata string) string {
	return fmt.Sprintf(`{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":%q,"listenerMetadata":%q,
		"syscalls":[{`+mkdirRule+`,"action":"SCMP_ACT_NOTIFY"}]}`, listener, metadata)
}

// TestSeccompNotify: the agent gets the notify fd with the container
// process state at start, before the container runs, and answers mkdir
// without making anything; a process started by exec gets its own.
func TestSeccompNotify(t *testing.T) {
	t.Parallel()
	e, b, agent := newEnv(t), newBundle(t), startSeccompAgent(t)
	withSeccomp(t, b, notifyProfile(agent.path, "meta-data"))
	b.Spec.Annotations = map[string]string{"test": "notify"}
	b.Spec.Process.Args = []string{"sh", "-c", "mkdir /tmp/faked && echo mkdir-ok > /tmp/out; [ -d /tmp/faked ] || echo absent >> /tmp/out; sleep 1000"}
	b.save()
	id := newID(t)
	lcCreate(e, b, id)
	pid := lcPid(e, id)
	agent.noState(t, 200*time.Millisecond) // the filter goes on at start
	lcMust(e, "start", id)
	st := agent.state(t)
	if st.Version != specs.Version || len(st.Fds) != 1 || st.Fds[0] != "seccompFd" || st.Pid != pid || st.Metadata != "meta-data" {
		t.Errorf("container process state: %+v (init pid %d)", st, pid)
	}
	if s := st.State; s.ID != id || s.Pid != pid || s.Bundle != b.Dir || s.Status != specs.StateCreated || s.Annotations["test"] != "notify" {
		t.Errorf("state: %+v", s)
	}
	out := fileEventually(t, filepath.Join(b.rootfs(), "tmp", "out"), "absent")
	if out != "mkdir-ok\nabsent\n" || agent.faked.Load() == 0 {
		t.Errorf("mkdir in the container: %q, answered by the agent %d times", out, agent.faked.Load())
	}
	// husk exec: a new process, a new filter, a new listener.
	execOut := lcMust(e, "exec", id, "sh", "-c", "mkdir /tmp/e && echo exec-mkdir-ok; [ -d /tmp/e ] || echo absent")
	st2 := agent.state(t)
	if execOut != "exec-mkdir-ok\nabsent\n" || st2.Pid == pid || st2.Pid == 0 || st2.State.Status != specs.StateRunning || st2.State.Pid != pid {
		t.Errorf("exec: %q; state %+v", execOut, st2)
	}
}

// TestSeccompNotifyHandoverExempt: init hands the listener over after
// the filter is on, with sendmsg and recvmsg through its exemption: a
// profile that kills on them still gets its agent.
func TestSeccompNotifyHandoverExempt(t *testing.T) {
	t.Parallel()
	e, b, agent := newEnv(t), newBundle(t), startSeccompAgent(t)
	withSeccomp(t, b, fmt.Sprintf(`{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":%q,"syscalls":[
		{`+mkdirRule+`,"action":"SCMP_ACT_NOTIFY"},{"names":["sendmsg","recvmsg"],"action":"SCMP_ACT_KILL_PROCESS"}]}`, agent.path))
	out := e.runIn(b, "mkdir /tmp/x && echo mkdir-ok; [ -d /tmp/x ] || echo absent")
	if out != "mkdir-ok\nabsent\n" || agent.faked.Load() != 1 {
		t.Errorf("output %q, mkdirs answered by the agent: %d", out, agent.faked.Load())
	}
}

// TestSeccompNotifyNoAgent: when the handover fails, the container's
// program never runs, start fails naming the socket, and husk run
// leaves nothing behind.
func TestSeccompNotifyNoAgent(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"run", "create"} {
		t.Run(cmd, func(t *testing.T) {
			t.Parallel()
			e, b := newEnv(t), newBundle(t)
			missing := filepath.Join(t.TempDir(), "no-agent.sock")
			withSeccomp(t, b, notifyProfile(missing, ""))
			b.Spec.Process.Args = []string{"touch", "/ran"}
			b.save()
			id := newID(t)
			var r result
			if cmd == "run" {
				r = e.husk("run", "--bundle", b.Dir, id)
			} else {
				lcCreate(e, b, id)
				r = e.husk("start", id)
			}
			if r.Code == 0 || !strings.Contains(r.Stderr, missing) || !strings.Contains(r.Stderr, "seccomp") {
				t.Errorf("%s with no agent: exit %d, %q", cmd, r.Code, r.Stderr)
			}
			if _, err := os.Stat(filepath.Join(b.rootfs(), "ran")); err == nil {
				t.Errorf("the container's program ran without its agent")
			}
			if cmd == "create" {
				waitFor(5*time.Second, func() bool { return lcStatus(e, id) == "stopped" })
				e.mustHusk("delete", id)
			}
			e.checkGone(id, b)
		})
	}
}
