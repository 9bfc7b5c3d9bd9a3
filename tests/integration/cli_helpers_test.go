package integration

// Helpers for lifecycle_test.go, cli_test.go and errors_test.go. Names
// start with "lc" so they cannot clash with other files' helpers.

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// lcHusk runs husk like e.husk, but with stdout and stderr going to
// files: a container created by this call inherits them, and with pipes
// (as e.husk uses) the call would not return until the container exits.
// dir, when not empty, is husk's working directory.
func lcHusk(e *env, dir string, args ...string) result {
	e.t.Helper()
	r, err := lcRun(e.root, dir, args...)
	if err != nil {
		e.t.Fatalf("running husk %v: %v", args, err)
	}
	return r
}

// lcRun is lcHusk without a test, safe to call from any goroutine.
func lcRun(root, dir string, args ...string) (result, error) {
	cmd := exec.Command(huskBin, append([]string{"--root", root}, args...)...)
	cmd.Dir = dir
	out, err := os.CreateTemp("", "husk-lc-out")
	if err != nil {
		return result{}, err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	errf, err := os.CreateTemp("", "husk-lc-err")
	if err != nil {
		return result{}, err
	}
	defer os.Remove(errf.Name())
	defer errf.Close()
	cmd.Stdout, cmd.Stderr = out, errf
	err = cmd.Run()
	var r result
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		return r, err
	}
	o, _ := os.ReadFile(out.Name())
	e, _ := os.ReadFile(errf.Name())
	r.Stdout, r.Stderr = string(o), string(e)
	return r, nil
}

// lcMust is lcHusk failing the test unless husk exits 0.
func lcMust(e *env, args ...string) string {
	e.t.Helper()
	r := lcHusk(e, "", args...)
	if r.Code != 0 {
		e.t.Fatalf("husk %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

func lcTempFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func lcReadFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// lcCreate creates container id from b (with extra create flags) and
// registers its forced deletion at the end of the test.
func lcCreate(e *env, b *bundle, id string, extra ...string) {
	e.t.Helper()
	lcCleanup(e, id)
	lcMust(e, append(append([]string{"create", "--bundle", b.Dir}, extra...), id)...)
}

// lcRunDetached is `run -d`, with the same cleanup.
func lcRunDetached(e *env, b *bundle, id string) {
	e.t.Helper()
	lcCleanup(e, id)
	lcMust(e, "run", "-d", "--bundle", b.Dir, id)
}

// lcCleanup deletes id (forced) when the test ends, and kills whatever
// pid it had if husk could not.
func lcCleanup(e *env, id string) {
	e.t.Cleanup(func() {
		var pid int
		if data, err := os.ReadFile(filepath.Join(e.root, id, "state.json")); err == nil {
			var rec struct{ Pid int }
			json.Unmarshal(data, &rec)
			pid = rec.Pid
		}
		cmd := exec.Command(huskBin, "--root", e.root, "delete", "--force", id)
		cmd.Stdout, cmd.Stderr = nil, nil
		cmd.Run()
		if pid > 0 && pidAlive(pid) && lcInCgroupOf(pid, id) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// lcInCgroupOf reports whether pid is in husk's cgroup for id.
func lcInCgroupOf(pid int, id string) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	return err == nil && strings.Contains(string(data), "/husk/"+id+"\n")
}

// lcState is e.state via lcHusk.
func lcState(e *env, id string) map[string]any {
	e.t.Helper()
	var st map[string]any
	out := lcMust(e, "state", id)
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		e.t.Fatalf("decoding state %q: %v", out, err)
	}
	return st
}

// lcStatus is the container's status, or "" when state fails.
func lcStatus(e *env, id string) string {
	r := lcHusk(e, "", "state", id)
	var st struct{ Status string }
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &st) != nil {
		return ""
	}
	return st.Status
}

// lcPid is state's pid as an int.
func lcPid(e *env, id string) int {
	e.t.Helper()
	pid, _ := lcState(e, id)["pid"].(float64)
	return int(pid)
}

// lcWaitStatus waits until id's status is want, failing otherwise.
func lcWaitStatus(e *env, id, want string) {
	e.t.Helper()
	if !waitFor(5*time.Second, func() bool { return lcStatus(e, id) == want }) {
		e.t.Fatalf("container %s: status %q, want %q", id, lcStatus(e, id), want)
	}
}

// lcBindDir binds a fresh host directory at dest in the container,
// writable, and returns the host side.
func lcBindDir(b *bundle, dest string) string {
	b.t.Helper()
	host := b.t.TempDir()
	os.Chmod(host, 0o777)
	b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{
		Destination: dest, Type: "bind", Source: host, Options: []string{"rbind", "rw"},
	})
	return host
}

// lcScript sets process.args to sh -c script and saves the config.
func lcScript(b *bundle, script string) {
	b.Spec.Process.Args = []string{"sh", "-c", script}
	b.save()
}

// lcWaitFile waits for path to exist, failing the test otherwise.
func lcWaitFile(t *testing.T, path string) {
	t.Helper()
	// Generous: the VM's CPU is emulated, and the machine is shared.
	if !waitFor(30*time.Second, func() bool { _, err := os.Stat(path); return err == nil }) {
		t.Fatalf("%s did not appear", path)
	}
}

// lcGone is e.checkGone, plus checks that hold when the container
// pivoted into its rootfs: a pivoted process's /proc/PID/root reads "/"
// from the host, so processesRootedIn cannot see it; its root directory
// is compared by device and inode instead. pids (e.g. init's) must be dead.
func lcGone(e *env, id string, b *bundle, pids ...int) {
	e.t.Helper()
	e.checkGone(id, b)
	for _, pid := range pids {
		if pidAlive(pid) {
			e.t.Errorf("process %d of container %s still alive", pid, id)
		}
	}
}

// lcOneLine asserts stderr is exactly one non-empty line and returns it.
func lcOneLine(t *testing.T, what, stderr string) string {
	t.Helper()
	if !strings.HasSuffix(stderr, "\n") || strings.Count(stderr, "\n") != 1 || strings.TrimSpace(stderr) == "" {
		t.Errorf("%s: stderr should be exactly one line, got %q", what, stderr)
	}
	return strings.TrimSuffix(stderr, "\n")
}

// lcFails asserts r failed with exit 1 and a one-line stderr containing
// every one of wants.
func lcFails(t *testing.T, what string, r result, wants ...string) {
	t.Helper()
	if r.Code == 0 {
		t.Errorf("%s: succeeded, want a failure\nstdout: %s", what, r.Stdout)
		return
	}
	if r.Code != 1 {
		t.Errorf("%s: exit %d, want 1", what, r.Code)
	}
	line := lcOneLine(t, what, r.Stderr)
	for _, w := range wants {
		if !strings.Contains(line, w) {
			t.Errorf("%s: error %q should contain %q", what, line, w)
		}
	}
}

// lcCgroupProcs lists the pids in container id's cgroup.
func lcCgroupProcs(t *testing.T, id string) []int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(cgroupCandidates(id)[0], "cgroup.procs"))
	if err != nil {
		t.Fatalf("reading cgroup.procs of %s: %v", id, err)
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// lcCmdline is /proc/PID/cmdline with spaces between arguments.
func lcCmdline(pid int) string {
	data, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return string(bytes.TrimRight(bytes.ReplaceAll(data, []byte{0}, []byte{' '}), " "))
}

// lcForeground starts `husk run` in the foreground (not waiting), its
// output to files; the process is killed by pid at the end of the test.
type lcFg struct {
	cmd         *exec.Cmd
	out, errOut *os.File
	done        chan struct{}
	code        int
}

func lcStartForeground(e *env, args ...string) *lcFg {
	e.t.Helper()
	fg := &lcFg{out: lcTempFile(e.t), errOut: lcTempFile(e.t), done: make(chan struct{})}
	fg.cmd = exec.Command(huskBin, append([]string{"--root", e.root}, args...)...)
	fg.cmd.Stdout, fg.cmd.Stderr = fg.out, fg.errOut
	if err := fg.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		fg.cmd.Wait()
		fg.code = fg.cmd.ProcessState.ExitCode()
		close(fg.done)
	}()
	e.t.Cleanup(func() {
		select {
		case <-fg.done:
		default:
			fg.cmd.Process.Kill()
			<-fg.done
		}
	})
	return fg
}

// wait waits for husk run to exit and returns its status and output.
func (fg *lcFg) wait(t *testing.T) result {
	t.Helper()
	select {
	case <-fg.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("husk %v did not exit", fg.cmd.Args[1:])
	}
	return result{Stdout: lcReadFile(t, fg.out.Name()), Stderr: lcReadFile(t, fg.errOut.Name()), Code: fg.code}
}

// lcCreateAtOnce runs n creates of one id from b, released together.
func lcCreateAtOnce(t *testing.T, e *env, b *bundle, id string, n int) []result {
	t.Helper()
	results := make([]result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			results[i], errs[i] = lcRun(e.root, "", "create", "--bundle", b.Dir, id)
		}()
	}
	close(gate)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return results
}
