package engines

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestContainerd drives a private containerd with ctr. Its runc v2 shim
// runs the runtime chosen per container with --runc-binary, with its
// state in --runc-root under the test's directory.
func TestContainerd(t *testing.T) {
	needBinaries(t, "containerd", "containerd", "ctr", "containerd-shim-runc-v2")
	d := startContainerd(t)
	image := filepath.Join(d.dir, "busybox-oci.tar")
	makeImage(t, image)
	mustSucceed(t, d.ctr(t, "image", "import", image))
	runScenarios(t, "containerd", containerdScenarios, func(t *testing.T, rt ociRuntime) *ctrEnv {
		return &ctrEnv{containerd: d, rt: rt, id: containerName(t)}
	})
}

var containerdScenarios = []scenario[*ctrEnv]{
	{"run-output", func(t *testing.T, e *ctrEnv) {
		wantOutput(t, e.run(t, nil, "echo", "hello from "+e.rt.Name), 0, "hello from "+e.rt.Name)
	}},
	{"run-exit-status", func(t *testing.T, e *ctrEnv) {
		wantOutput(t, e.run(t, nil, "sh", "-c", "echo bye; exit 3"), 3, "bye")
	}},
	{"run-stdin", func(t *testing.T, e *ctrEnv) {
		// ctr does not always close the container's stdin at EOF
		// (containerd#2659): read two lines, not to the end.
		r := e.runWith(t, cmdOpts{stdin: strings.NewReader("line one\nline two\n")}, nil,
			"sh", "-c", `read a; read b; echo "$b/$a"`)
		wantOutput(t, r, 0, "line two/line one")
	}},
	{"run-env-cwd", func(t *testing.T, e *ctrEnv) {
		r := e.run(t, []string{"--env", "FOO=bar baz", "--cwd", "/tmp"}, "sh", "-c", `echo "$FOO" "$(pwd)"`)
		wantOutput(t, r, 0, "bar baz /tmp")
	}},
	{"read-only", func(t *testing.T, e *ctrEnv) {
		r := e.run(t, []string{"--read-only"}, "sh", "-c", "touch /x 2>&1; echo status $?")
		if r.Code != 0 || !strings.Contains(r.Stdout, "Read-only file system") || !strings.Contains(r.Stdout, "status 1") {
			t.Fatalf("want touch / to fail on a read-only rootfs, got %v", r)
		}
	}},
	{"bind-mount", func(t *testing.T, e *ctrEnv) {
		src := hostDir(t, e.dir)
		r := e.run(t, []string{"--mount", "type=bind,src=" + src + ",dst=/host,options=rbind:ro"},
			"sh", "-c", "cat /host/greeting; touch /host/x 2>/dev/null || echo read-only")
		wantOutput(t, r, 0, "hello from the host\nread-only")
	}},
	{"privileged", func(t *testing.T, e *ctrEnv) {
		checkPrivileged(t, e.run(t, []string{"--privileged"}, "sh", "-c", privilegedScript))
	}},
	{"run-tty", func(t *testing.T, e *ctrEnv) {
		args := e.args(append(append([]string{"run", "--rm", "-t"}, e.prepare(t)...), imageName, e.id, "sh")...)
		terminalScenario(t, startOnPty(t, cmdOpts{dir: e.dir}, "ctr", args...))
	}},
	{"exec", func(t *testing.T, e *ctrEnv) {
		e.start(t, "sh", "-c", counterScript)
		r := e.ctr(t, "task", "exec", "--fifo-dir", e.fifoDir(), "--exec-id", "probe", e.id,
			"sh", "-c", "echo exec sees $(cat /proc/1/comm); exit 5")
		wantOutput(t, r, 5, "exec sees sh")
	}},
	{"exec-tty", func(t *testing.T, e *ctrEnv) {
		e.start(t, "sh", "-c", counterScript)
		terminalScenario(t, startOnPty(t, cmdOpts{dir: e.dir}, "ctr",
			e.args("task", "exec", "-t", "--fifo-dir", e.fifoDir(), "--exec-id", "shell", e.id, "sh")...))
	}},
	{"ps", func(t *testing.T, e *ctrEnv) {
		e.start(t, "sh", "-c", counterScript)
		pid, _ := e.task(t)
		out := mustSucceed(t, e.ctr(t, "task", "ps", e.id))
		if !slices.Contains(strings.Fields(out), strconv.Itoa(pid)) {
			t.Fatalf("ctr task ps does not list the task's pid %d:\n%s", pid, out)
		}
	}},
	{"pause-resume", func(t *testing.T, e *ctrEnv) {
		e.start(t, "sh", "-c", counterScript)
		pid, _ := e.task(t)
		mustSucceed(t, e.ctr(t, "task", "pause", e.id))
		e.waitStatus(t, "PAUSED")
		checkFrozen(t, pid, true)
		mustSucceed(t, e.ctr(t, "task", "resume", e.id))
		e.waitStatus(t, "RUNNING")
		checkFrozen(t, pid, false)
	}},
	{"kill", func(t *testing.T, e *ctrEnv) {
		e.start(t, "sh", "-c", counterScript)
		mustSucceed(t, e.ctr(t, "task", "kill", e.id)) // SIGTERM: the script exits 42
		e.waitStatus(t, "STOPPED")
		e.deleteTask(t, 42)
	}},
	{"kill-all", func(t *testing.T, e *ctrEnv) {
		// A second process (the background sleep) so that --all has more
		// than init to signal; engines pass --all to the runtime.
		e.start(t, "sh", "-c", "sleep 1000 & "+counterScript)
		mustSucceed(t, e.ctr(t, "task", "kill", "--all", "--signal", "SIGKILL", e.id))
		e.waitStatus(t, "STOPPED")
		e.deleteTask(t, 128+int(syscall.SIGKILL))
	}},
	{"metrics", func(t *testing.T, e *ctrEnv) {
		// On a hybrid host containerd's runc v2 shim reads a container's
		// metrics from the cgroup v1 groups of its init; husk places
		// containers in cgroup v2 only, so this is a v2 host scenario.
		needPureV2(t)
		// One process, so the container's cgroup counts exactly one pid;
		// more means the numbers come from some other cgroup.
		e.start(t, "sleep", "1000")
		out := mustSucceed(t, e.ctr(t, "task", "metrics", e.id))
		var pids string
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "pids.current" {
				pids = f[1]
			}
		}
		if pids != "1" {
			hint := ""
			if !pureV2() {
				hint = " (on a hybrid host the runc v2 shim reads the cgroup v1 groups of the container's init)"
			}
			t.Fatalf("want pids.current 1 (the container's one process) from ctr task metrics, got %q%s:\n%s", pids, hint, out)
		}
	}},
	{"delete-cleanup", func(t *testing.T, e *ctrEnv) {
		e.start(t, "sh", "-c", counterScript)
		pid, _ := e.task(t)
		cgroups := e.cg.Of(t, pid, e.id)
		mustSucceed(t, e.ctr(t, "task", "kill", "-s", "SIGKILL", e.id))
		e.waitStatus(t, "STOPPED")
		e.deleteTask(t, 128+int(syscall.SIGKILL))
		mustSucceed(t, e.ctr(t, "container", "delete", e.id))
		e.checkGone(t, pid, cgroups)
	}},
}

// containerd is a private containerd daemon: its root, state, sockets
// and config under the test's directory, itself in the test's cgroup.
type containerd struct {
	dir  string // everything of this daemon lives here
	sock string // its gRPC socket
	ns   string // the ctr namespace the tests use
	cg   *cgroupSandbox
	cmd  *exec.Cmd
	done chan struct{} // closed once the daemon has exited
	ids  []string      // containers created, for the shim sockets at cleanup
}

// startContainerd starts the daemon and waits until it answers; at
// cleanup it deletes what is left, stops the daemon by pid, and removes
// the shims' sockets.
func startContainerd(t *testing.T) *containerd {
	t.Helper()
	dir := tempDir(t)
	d := &containerd{dir: dir, sock: filepath.Join(dir, "containerd.sock"), ns: "husk-engines", cg: newCgroupSandbox(t)}
	// The runc v2 shim of containerd 1.6 puts its socket in
	// /run/containerd/s/<sha256(address/namespace/id)>, whatever the
	// daemon's state dir says.
	removeIfCreated(t, "/run/containerd", "/run/containerd/s")
	if pureV2() {
		// containerd 1.6 joins an existing cgroup v2 group; on v1 it creates it.
		if err := os.MkdirAll(filepath.Join("/sys/fs/cgroup", d.cg.Path, "containerd"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	config := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(config, []byte(d.config()), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	d.cmd = exec.Command("containerd", "--config", config)
	d.cmd.Stdout, d.cmd.Stderr = log, log
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("starting containerd: %v", err)
	}
	d.done = make(chan struct{})
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() { d.stop(t) })
	waitFor(t, 20*time.Second, "containerd to answer", func() (bool, string) {
		select {
		case <-d.done:
			out, _ := os.ReadFile(log.Name())
			t.Fatalf("containerd exited (%v):\n%s", d.cmd.ProcessState, out)
		default:
		}
		r := d.ctr(t, "version")
		return r.Code == 0, r.String()
	})
	return d
}

// config is containerd's config.toml: every path under d.dir, no CRI,
// and the daemon (hence its shims) placed in the test's cgroup.
func (d *containerd) config() string {
	return fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[debug]
  address = %[5]q
  level = "info"

[cgroup]
  path = %[6]q

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = %[7]q
`, filepath.Join(d.dir, "root"), filepath.Join(d.dir, "state"), d.sock, d.sock+".ttrpc",
		filepath.Join(d.dir, "debug.sock"), d.cg.Path+"/containerd", filepath.Join(d.dir, "opt"))
}

// ctr runs ctr against this daemon.
func (d *containerd) ctr(t *testing.T, args ...string) result {
	t.Helper()
	return d.ctrWith(t, cmdOpts{}, args...)
}

func (d *containerd) ctrWith(t *testing.T, o cmdOpts, args ...string) result {
	t.Helper()
	o.dir = d.dir
	return command(t, o, "ctr", d.args(args...)...)
}

// args prefixes ctr's arguments with the daemon's address and namespace.
func (d *containerd) args(args ...string) []string {
	return append([]string{"--address", d.sock, "--namespace", d.ns}, args...)
}

// stop removes every task and container left, stops the daemon (TERM,
// then KILL after 10 s) and removes the sockets of shims that did not
// remove their own.
func (d *containerd) stop(t *testing.T) {
	for _, id := range strings.Fields(d.ctr(t, "task", "ls", "-q").Stdout) {
		t.Logf("cleanup: deleting task %s", id)
		d.ctr(t, "task", "delete", "--force", id)
	}
	for _, id := range strings.Fields(d.ctr(t, "container", "ls", "-q").Stdout) {
		d.ctr(t, "container", "delete", id)
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		t.Logf("cleanup: containerd (pid %d) ignored SIGTERM; killing it", d.cmd.Process.Pid)
		d.cmd.Process.Kill()
		<-d.done
	}
	// A shim removes its socket when it exits cleanly.
	for _, id := range d.ids {
		sum := sha256.Sum256([]byte(filepath.Join(d.sock, d.ns, id)))
		os.Remove(fmt.Sprintf("/run/containerd/s/%x", sum))
	}
}

// ctrEnv is one scenario's view: the daemon, the runtime under test,
// and the container's ID.
type ctrEnv struct {
	*containerd
	rt ociRuntime
	id string
}

// runtimeRoot is the runtime's --root, as the shim passes it.
func (e *ctrEnv) runtimeRoot() string { return filepath.Join(e.dir, "runtime-root", e.rt.Name) }

// cgroupPath is the container's cgroupsPath, inside the test's cgroup.
func (e *ctrEnv) cgroupPath() string { return e.cg.Path + "/" + e.id }

// fifoDir is where ctr makes the stdio fifos (default /run/containerd/fifo).
func (e *ctrEnv) fifoDir() string { return filepath.Join(e.dir, "fifo") }

// prepare returns the ctr run flags that choose the runtime, its root,
// the container's cgroup and where the stdio fifos go, and arranges for
// the container to be removed at the end of the scenario, whatever
// state the scenario leaves it in.
func (e *ctrEnv) prepare(t *testing.T) []string {
	e.ids = append(e.ids, e.id)
	t.Cleanup(func() {
		if _, status := e.taskStatus(t); status != "" {
			if r := e.ctr(t, "task", "delete", "--force", e.id); r.Code != 0 {
				t.Logf("cleanup: %v", r)
			}
		}
		e.ctr(t, "container", "delete", e.id)
	})
	args := []string{"--runc-binary", e.rt.Path, "--runc-root", e.runtimeRoot(),
		"--cgroup", e.cgroupPath(), "--fifo-dir", e.fifoDir()}
	if !pureV2() {
		// ctr's default --cpu-shares 1024 is a limit, and on a hybrid
		// host cgroup v1 owns the cpu controller: husk refuses it there.
		args = append(args, "--cpu-shares", "0")
	}
	return args
}

// run is `ctr run --rm [flags] IMAGE ID args...` in the foreground.
func (e *ctrEnv) run(t *testing.T, flags []string, args ...string) result {
	t.Helper()
	return e.runWith(t, cmdOpts{}, flags, args...)
}

func (e *ctrEnv) runWith(t *testing.T, o cmdOpts, flags []string, args ...string) result {
	t.Helper()
	a := append([]string{"run", "--rm"}, e.prepare(t)...)
	a = append(append(a, flags...), imageName, e.id)
	return e.ctrWith(t, o, append(a, args...)...)
}

// start runs the container detached (ctr run -d) and waits until its
// task is running.
func (e *ctrEnv) start(t *testing.T, args ...string) {
	t.Helper()
	a := append(append([]string{"run", "-d"}, e.prepare(t)...), imageName, e.id)
	mustSucceed(t, e.ctr(t, append(a, args...)...))
	e.waitStatus(t, "RUNNING")
}

// taskStatus is the task's pid and status from `ctr task ls` ("" if
// there is no task).
func (e *ctrEnv) taskStatus(t *testing.T) (int, string) {
	t.Helper()
	out := e.ctr(t, "task", "ls").Stdout
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == e.id {
			pid, _ := strconv.Atoi(f[1])
			return pid, f[2]
		}
	}
	return 0, ""
}

// task is taskStatus, failing the test if there is no task.
func (e *ctrEnv) task(t *testing.T) (int, string) {
	t.Helper()
	pid, status := e.taskStatus(t)
	if status == "" {
		t.Fatalf("ctr task ls does not list %s", e.id)
	}
	return pid, status
}

// waitStatus waits until ctr task ls shows the task in status.
func (e *ctrEnv) waitStatus(t *testing.T, status string) {
	t.Helper()
	waitFor(t, 10*time.Second, "task status "+status, func() (bool, string) {
		_, s := e.taskStatus(t)
		return s == status, "status " + s
	})
}

// deleteTask deletes the stopped task and checks its exit status, which
// ctr task delete reports only in a warning.
func (e *ctrEnv) deleteTask(t *testing.T, status int) {
	t.Helper()
	r := e.ctr(t, "task", "delete", e.id)
	if want := fmt.Sprintf("exit with non-zero exit code %d", status); r.Code != 0 || !strings.Contains(r.Stderr, want) {
		t.Fatalf("want ctr task delete to report the task's status %d, got %v", status, r)
	}
}

// checkGone checks that nothing of the deleted container is left: its
// process, its state in the runtime's root, its cgroup, its mounts.
func (e *ctrEnv) checkGone(t *testing.T, pid int, cgroups []string) {
	t.Helper()
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("the container's init (pid %d) is still alive", pid)
	}
	if _, err := os.Stat(filepath.Join(e.runtimeRoot(), e.id)); err == nil {
		t.Errorf("the runtime's state %s is left", filepath.Join(e.runtimeRoot(), e.id))
	}
	if r := command(t, cmdOpts{}, e.rt.Path, "--root", e.runtimeRoot(), "list", "-q"); strings.Contains(r.Stdout, e.id) {
		t.Errorf("%s list still shows the container:\n%s", e.rt.Name, r.Stdout)
	}
	if left := e.cg.Left(cgroups); len(left) > 0 {
		t.Errorf("the container's cgroups are left: %v", left)
	}
	for _, m := range mountsUnder(t, e.dir) {
		if strings.Contains(m, e.id) {
			t.Errorf("mount left: %s", m)
		}
	}
}
