package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"golang.org/x/sys/unix"
)

// execTarget starts a detached sleeping container for exec tests.
func execTarget(t *testing.T, mutate func(*bundle)) (*env, *bundle, string, int) {
	t.Helper()
	e := newEnv(t)
	b := newBundle(t)
	if mutate != nil {
		mutate(b)
	}
	id := e.startDetached(b, "sleep", "1000")
	return e, b, id, int(e.state(id)["pid"].(float64))
}

// TestExecJoinsTheContainer: an exec'd process is in every namespace of
// the container's init and in its cgroup, and its exit status comes back.
func TestExecJoinsTheContainer(t *testing.T) {
	t.Parallel()
	e, _, id, pid := execTarget(t, nil)
	var script strings.Builder
	types := []string{"mnt", "pid", "net", "ipc", "uts", "cgroup"}
	for _, ns := range types {
		fmt.Fprintf(&script, "echo %s=$(readlink /proc/self/ns/%s);", ns, ns)
	}
	script.WriteString("echo cgroup-self=$(tail -1 /proc/self/cgroup); echo cgroup-init=$(tail -1 /proc/1/cgroup); echo pid=$$; exit 7")
	r := e.husk("exec", id, "sh", "-c", script.String())
	if r.Code != 7 {
		t.Fatalf("exec exit %d, want 7 (stderr %q)", r.Code, r.Stderr)
	}
	for _, ns := range types {
		want, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
		if !strings.Contains(r.Stdout, ns+"="+want+"\n") {
			t.Errorf("%s namespace: init has %s; exec saw:\n%s", ns, want, r.Stdout)
		}
	}
	if !strings.Contains(r.Stdout, "cgroup-self=0::/\ncgroup-init=0::/\n") {
		t.Errorf("exec's cgroup differs from init's:\n%s", r.Stdout)
	}
	if strings.Contains(r.Stdout, "pid=1\n") {
		t.Errorf("exec'd process is pid 1 of the container: %s", r.Stdout)
	}
}

// TestExecProcessSettings: --env, --cwd, --user, --additional-gids,
// --cap and --no-new-privs reach the process, and a --process file too.
func TestExecProcessSettings(t *testing.T) {
	t.Parallel()
	e, b, id, _ := execTarget(t, nil)
	out := e.mustHusk("exec", "--env", "FOO=bar", "--cwd", "/tmp", "--user", "1000:1000", "-g", "5", "-g", "44",
		"--no-new-privs", id, "sh", "-c", "echo $FOO; pwd; id -u; id -g; grep -E '^(Groups|NoNewPrivs)' /proc/self/status")
	for _, want := range []string{"bar\n", "/tmp\n", "1000\n1000\n", "Groups:\t5 44", "NoNewPrivs:\t1"} {
		if !strings.Contains(out, want) {
			t.Errorf("exec flags: want %q in:\n%s", want, out)
		}
	}
	// --cap adds to the container's bounding/effective/permitted sets.
	out = e.mustHusk("exec", "--cap", "CAP_SYS_ADMIN", id, "grep", "CapEff", "/proc/self/status")
	var eff uint64
	fmt.Sscanf(strings.TrimPrefix(strings.TrimSpace(out), "CapEff:"), "%x", &eff)
	if eff&(1<<21) == 0 || eff&(1<<5) == 0 { // CAP_SYS_ADMIN and the container's CAP_KILL
		t.Errorf("--cap CAP_SYS_ADMIN: CapEff %s", out)
	}
	// A process file replaces the container's process entirely.
	p := specs.Process{Args: []string{"sh", "-c", "echo from-file $X; id -u"}, Env: []string{"X=y", "PATH=/bin"}, Cwd: "/", User: specs.User{UID: 65534, GID: 65534}}
	data, _ := json.Marshal(p)
	pf := filepath.Join(t.TempDir(), "process.json")
	os.WriteFile(pf, data, 0o644)
	if out := e.mustHusk("exec", "--process", pf, id); out != "from-file y\n65534\n" {
		t.Errorf("--process: %q", out)
	}
	_ = b
}

// TestExecDetached: -d returns at once, writes the pid file with the
// process's host pid, and the process lives in the container.
func TestExecDetached(t *testing.T) {
	t.Parallel()
	e, _, id, initPid := execTarget(t, nil)
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	e.mustHusk("exec", "-d", "--pid-file", pidFile, id, "sleep", "1000")
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(data))
	if err != nil || !pidAlive(pid) {
		t.Fatalf("pid file %q: not a live pid", data)
	}
	ns1, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	ns2, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", initPid))
	if ns1 != ns2 {
		t.Errorf("detached exec in pid ns %s, init in %s", ns1, ns2)
	}
	var pids []int
	json.Unmarshal([]byte(e.mustHusk("ps", "--format", "json", id)), &pids)
	found := false
	for _, p := range pids {
		found = found || p == pid
	}
	if !found || len(pids) != 2 {
		t.Errorf("ps --format json = %v, want init %d and exec %d", pids, initPid, pid)
	}
}

// TestExecFailures: the words engines map to exit codes, and states in
// which exec is refused.
func TestExecFailures(t *testing.T) {
	t.Parallel()
	e, b, id, _ := execTarget(t, nil)
	checks := []struct {
		args []string
		want string
	}{
		{[]string{"exec", id, "nosuch"}, "executable file not found in $PATH"},
		{[]string{"exec", id, "/bin/nosuch"}, "no such file or directory"},
		{[]string{"exec", id, "/etc/passwd"}, "permission denied"},
		{[]string{"exec", "--cwd", "rel", id, "true"}, "process.cwd"},
		{[]string{"exec", "--cap", "CAP_NOPE", id, "true"}, "unknown capability"},
		{[]string{"exec", id}, "COMMAND or --process"},
	}
	for _, c := range checks {
		r := e.husk(c.args...)
		if r.Code == 0 || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("husk %v: exit %d, stderr %q, want %q", c.args, r.Code, r.Stderr, c.want)
		}
	}
	e.mustHusk("pause", id)
	if r := e.husk("exec", id, "true"); r.Code == 0 || !strings.Contains(r.Stderr, "paused") {
		t.Errorf("exec in a paused container: exit %d, %q", r.Code, r.Stderr)
	}
	e.mustHusk("resume", id)
	e.mustHusk("kill", id, "KILL")
	waitFor(5*time.Second, func() bool { return e.state(id)["status"] == "stopped" })
	if r := e.husk("exec", id, "true"); r.Code == 0 || !strings.Contains(r.Stderr, "container not running") {
		t.Errorf("exec in a stopped container: exit %d, %q", r.Code, r.Stderr)
	}
	_ = b
}

// TestExecUserNamespace: exec into a container with its own user
// namespace runs as that namespace's root, with the same mappings.
func TestExecUserNamespace(t *testing.T) {
	t.Parallel()
	e, _, id, pid := execTarget(t, func(b *bundle) {
		nsTraversable(t, b)
		b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		b.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		b.Spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	})
	out := e.mustHusk("exec", id, "sh", "-c", "cat /proc/self/uid_map; id -u; readlink /proc/self/ns/user")
	want, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", pid))
	if !strings.Contains(out, "100000") || !strings.Contains(out, "\n0\n") || !strings.Contains(out, want) {
		t.Errorf("exec in a user namespace:\n%s (init's user ns %s)", out, want)
	}
}

// consoleSocket listens at a fresh path and returns the pty master the
// runtime sends, with the name that came as payload.
func consoleSocket(t *testing.T) (string, chan *os.File, chan string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	masters, names := make(chan *os.File, 1), make(chan string, 1)
	go func() {
		conn, err := l.AcceptUnix()
		if err != nil {
			return
		}
		defer conn.Close()
		buf, oob := make([]byte, 256), make([]byte, unix.CmsgSpace(4))
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil {
			return
		}
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		if len(msgs) == 0 {
			return
		}
		fds, _ := unix.ParseUnixRights(&msgs[0])
		if len(fds) == 1 {
			names <- string(buf[:n])
			masters <- os.NewFile(uintptr(fds[0]), "master")
		}
	}()
	return path, masters, names
}

// readAll reads the pty master until the slave side closes (EIO).
func readAll(t *testing.T, master *os.File) string {
	t.Helper()
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		io.Copy(&out, master)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		master.Close()
		<-done
		t.Errorf("pty output did not end")
	}
	return strings.ReplaceAll(out.String(), "\r\n", "\n")
}

// TestTerminalConsoleSocket: with process.terminal, the master of a pty
// from the container's own devpts reaches --console-socket; the slave is
// the process's controlling terminal and stdio, /dev/console, and has
// process.consoleSize.
func TestTerminalConsoleSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Process.Terminal = true
	b.Spec.Process.ConsoleSize = &specs.Box{Height: 30, Width: 101}
	b.Spec.Process.Args = []string{"sh", "-c", "tty; stty size; stat -c '%t:%T' /dev/console $(tty); " +
		"cut -d' ' -f7 /proc/self/stat; readlink /proc/self/fd/0; readlink /proc/self/fd/2; sleep 0.5"}
	b.save()
	sock, masters, names := consoleSocket(t)
	id := newID(t)
	e.mustHusk("run", "-d", "--console-socket", sock, "--bundle", b.Dir, id)
	t.Cleanup(func() { e.husk("delete", "--force", id) })
	var master *os.File
	select {
	case master = <-masters:
	case <-time.After(10 * time.Second):
		t.Fatal("no pty master on the console socket")
	}
	defer master.Close()
	name := <-names
	out := readAll(t, master)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 6 {
		t.Fatalf("terminal output:\n%s", out)
	}
	if lines[0] != name || !strings.HasPrefix(name, "/dev/pts/") {
		t.Errorf("tty = %q, console socket payload %q", lines[0], name)
	}
	if lines[1] != "30 101" {
		t.Errorf("stty size = %q, want 30 101 (consoleSize)", lines[1])
	}
	if lines[2] != lines[3] || !strings.HasPrefix(lines[2], "88:") {
		t.Errorf("/dev/console (%s) is not the pty (%s)", lines[2], lines[3])
	}
	if lines[4] == "0" {
		t.Errorf("no controlling terminal: tty_nr %s", lines[4])
	}
	if len(lines) < 7 || lines[5] != name || lines[6] != name {
		t.Errorf("stdin and stderr are %q, want the pty %s", lines[5:], name)
	}
}

// TestTerminalExec: exec -t with a console socket gives the new process
// its own pty.
func TestTerminalExec(t *testing.T) {
	t.Parallel()
	e, _, id, _ := execTarget(t, nil)
	sock, masters, _ := consoleSocket(t)
	done := make(chan result, 1)
	go func() {
		done <- e.husk("exec", "-t", "--console-socket", sock, id, "sh", "-c", "tty; echo exec-tty-ok; sleep 0.3")
	}()
	var master *os.File
	select {
	case master = <-masters:
	case <-time.After(10 * time.Second):
		t.Fatal("no pty master on the console socket")
	}
	out := readAll(t, master)
	master.Close()
	r := <-done
	if r.Code != 0 || !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "exec-tty-ok") {
		t.Errorf("exec -t: exit %d (%s), pty output %q", r.Code, r.Stderr, out)
	}
}

// TestTerminalNeedsReceiver: a terminal needs a console socket when husk
// does not stay attached, and a console socket needs a terminal.
func TestTerminalNeedsReceiver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Process.Terminal = true
	b.save()
	id := newID(t)
	if r := e.husk("create", "--bundle", b.Dir, id); r.Code == 0 || !strings.Contains(r.Stderr, "process.terminal") {
		t.Errorf("terminal without console socket: exit %d, %q", r.Code, r.Stderr)
	}
	b.Spec.Process.Terminal = false
	b.save()
	if r := e.husk("create", "--console-socket", "/nonexistent.sock", "--bundle", b.Dir, id); r.Code == 0 || !strings.Contains(r.Stderr, "no terminal") {
		t.Errorf("console socket without terminal: exit %d, %q", r.Code, r.Stderr)
	}
	e.checkGone(id, b)
}

// TestFeatures: the features document parses as the runtime-spec type
// and claims only what husk does.
func TestFeatures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var f features.Features
	if err := json.Unmarshal([]byte(e.mustHusk("features")), &f); err != nil {
		t.Fatal(err)
	}
	if f.OCIVersionMax != specs.Version || f.Linux == nil || f.Linux.Cgroup == nil || f.Linux.Cgroup.V2 == nil || !*f.Linux.Cgroup.V2 {
		t.Fatalf("features: %+v", f)
	}
	opts := strings.Join(f.MountOptions, " ")
	for _, o := range []string{"rbind", "rro", "nosymfollow", "rslave"} {
		if !strings.Contains(" "+opts+" ", " "+o+" ") {
			t.Errorf("mountOptions lacks %q", o)
		}
	}
	if ns := strings.Join(f.Linux.Namespaces, " "); !strings.Contains(ns, "user") || !strings.Contains(ns, "cgroup") {
		t.Errorf("namespaces: %s", ns)
	}
	if m := f.Linux.MountExtensions; m == nil || m.IDMap == nil || !*m.IDMap.Enabled {
		t.Errorf("idmapped mounts not claimed: %+v", m)
	}
	if len(f.Linux.Capabilities) < 38 || f.Linux.Capabilities[0] != "CAP_CHOWN" {
		t.Errorf("capabilities: %v", f.Linux.Capabilities)
	}
	sc := f.Linux.Seccomp
	if sc == nil || sc.Enabled == nil || !*sc.Enabled || len(sc.Actions) != 9 || len(sc.Operators) != 7 ||
		!slices.Contains(sc.Actions, "SCMP_ACT_NOTIFY") || len(sc.Archs) == 0 ||
		len(sc.KnownFlags) != 4 || !slices.Contains(sc.SupportedFlags, "SECCOMP_FILTER_FLAG_LOG") {
		t.Errorf("seccomp: %+v", sc)
	}
}

// openPty makes a pty pair on the host for husk's own stdio.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 77})
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// TestTerminalAttach: husk run in the foreground with a terminal and no
// console socket attaches the caller's terminal: input reaches the
// process, its output comes back, the size is the caller's, and the
// caller's terminal settings are restored.
func TestTerminalAttach(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Process.Terminal = true
	b.Spec.Process.Args = []string{"sh", "-c", "read line; echo got:$line; stty size; exit 3"}
	b.save()
	master, slave := openPty(t)
	before, _ := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	id := newID(t)
	cmd := exec.Command(huskBin, "--root", e.root, "run", "--bundle", b.Dir, id)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := make(chan string)
	go func() {
		var buf bytes.Buffer
		tmp := make([]byte, 256)
		for !strings.Contains(buf.String(), "77") {
			n, err := master.Read(tmp)
			if err != nil {
				break
			}
			buf.Write(tmp[:n])
		}
		out <- buf.String()
	}()
	time.Sleep(500 * time.Millisecond)
	master.Write([]byte("hello\r"))
	var got string
	select {
	case got = <-out:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no output through the attached terminal")
	}
	err := cmd.Wait()
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if !strings.Contains(got, "got:hello") || !strings.Contains(got, "24 77") || code != 3 {
		t.Errorf("attached run: exit %d, output %q", code, got)
	}
	after, _ := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if before.Lflag != after.Lflag || before.Iflag != after.Iflag {
		t.Errorf("terminal settings not restored: lflag %#x -> %#x", before.Lflag, after.Lflag)
	}
	e.checkGone(id, b)
}
