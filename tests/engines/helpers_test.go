package engines

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// result is one engine command's outcome.
type result struct {
	Args           []string
	Stdout, Stderr string
	Code           int // exit status; -1 if killed at the timeout
}

func (r result) String() string {
	return fmt.Sprintf("%s: exit %d\nstdout: %s\nstderr: %s",
		strings.Join(r.Args, " "), r.Code, strings.TrimSpace(r.Stdout), strings.TrimSpace(r.Stderr))
}

// cmdOpts are the optional parts of a command.
type cmdOpts struct {
	dir     string        // working directory (conmon writes its "oom" file there)
	env     []string      // added to the test's environment
	stdin   io.Reader     // default /dev/null
	timeout time.Duration // default 60 s (scaled in the VM)
}

// command runs a program to completion and returns what it printed and
// its exit status. A command still running at its timeout is killed by
// pid and reported with status -1.
func command(t *testing.T, o cmdOpts, name string, args ...string) result {
	t.Helper()
	if o.timeout == 0 {
		o.timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), scaled(o.timeout))
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = o.dir
	cmd.Env = append(os.Environ(), o.env...)
	cmd.Stdin = o.stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	// A grandchild holding the pipes must not keep us waiting.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	r := result{Args: append([]string{name}, args...), Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.Code = -1
		r.Stderr += fmt.Sprintf("\n(killed after %v)", scaled(o.timeout))
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running %s: %v", name, err)
	}
	return r
}

// scaled stretches a timeout inside the VM, where the CPU is emulated
// and every fork+exec costs about 0.1 s.
func scaled(d time.Duration) time.Duration {
	if os.Getenv("VMRUN") == "1" {
		return 10 * d
	}
	return d
}

// mustSucceed fails the test unless r exited 0, and returns its stdout.
func mustSucceed(t *testing.T, r result) string {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("%v", r)
	}
	return r.Stdout
}

// wantOutput fails the test unless r exited with code and its stdout,
// trimmed, is want.
func wantOutput(t *testing.T, r result, code int, want string) {
	t.Helper()
	if r.Code != code || strings.TrimSpace(r.Stdout) != want {
		t.Fatalf("want exit %d and stdout %q, got %v", code, want, r)
	}
}

// waitFor polls cond every 100 ms until it holds, or fails the test with
// what cond last reported.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(scaled(timeout))
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last: %s", scaled(timeout), what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// containerName is a name for t's container, unique within its engine's
// run: "<runtime>-<scenario>".
func containerName(t *testing.T) string {
	parts := strings.Split(t.Name(), "/")
	return strings.Join(parts[len(parts)-2:], "-")
}

// counterScript runs forever, writing an increasing counter to
// /tmp/counter ten times a second and exiting 42 on SIGTERM: a container
// whose progress the host can watch (through /proc/PID/root) and that
// stops cleanly.
const counterScript = `trap 'exit 42' TERM; i=0; while :; do i=$((i+1)); echo $i > /tmp/counter; sleep 0.1; done`

// privilegedScript prints what a privileged container must have: every
// capability, and a host device it can open (/dev/kmsg, which no default
// device rule allows).
const privilegedScript = `grep CapEff /proc/self/status; : < /dev/kmsg && echo kmsg opened`

// checkPrivileged checks privilegedScript's output: the effective
// capabilities are the test's bounding set, and /dev/kmsg opened.
func checkPrivileged(t *testing.T, r result) {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var bnd string
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "CapBnd:" {
			bnd = f[1]
		}
	}
	want := "CapEff: " + bnd + " kmsg opened"
	if r.Code != 0 || strings.Join(strings.Fields(r.Stdout), " ") != want {
		t.Fatalf("want %q from a privileged container, got %v", want, r)
	}
}

// hostDir makes a directory with a file "greeting" in it, to bind-mount
// into containers.
func hostDir(t *testing.T, parent string) string {
	t.Helper()
	dir, err := os.MkdirTemp(parent, "bind-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "greeting"), []byte("hello from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkFrozen watches a counterScript container whose init is pid:
// while frozen the counter must not move for half a second; while
// running it must.
func checkFrozen(t *testing.T, pid int, frozen bool) {
	t.Helper()
	path := fmt.Sprintf("/proc/%d/root/tmp/counter", pid)
	read := func() string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("reading the container's counter: %v", err)
		}
		return strings.TrimSpace(string(b))
	}
	before := read()
	time.Sleep(scaled(500 * time.Millisecond))
	after := read()
	switch {
	case frozen && before != after:
		t.Fatalf("container is paused but its counter moved from %s to %s", before, after)
	case !frozen && before == after:
		t.Fatalf("container is running but its counter stayed at %s for 0.5 s", before)
	}
}

// cgroupSandbox is a cgroup of the test's own, in every hierarchy the
// host mounts, under which the engine daemon and all the containers run.
// At cleanup, whatever is still in it is killed by pid and every cgroup
// below it removed.
type cgroupSandbox struct {
	Path   string   // "/husk-engines-<random>", as a cgroupsPath
	mounts []string // every cgroup (v1 and v2) mount point
}

func newCgroupSandbox(t *testing.T) *cgroupSandbox {
	t.Helper()
	s := &cgroupSandbox{Path: "/husk-engines-" + randomHex(4), mounts: cgroupMounts(t)}
	t.Cleanup(func() { s.remove(t) })
	return s
}

// pureV2 reports whether the host mounts only cgroup v2, at
// /sys/fs/cgroup: the only setup where husk can apply limits.
func pureV2() bool {
	var st unix.Statfs_t
	return unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// cgroupMounts lists the mount points of the cgroup hierarchies.
func cgroupMounts(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, m := range mountInfo(t) {
		if m.fstype == "cgroup" || m.fstype == "cgroup2" {
			out = append(out, m.point)
		}
	}
	return out
}

// dirs lists the sandbox's cgroup directories in every hierarchy, the
// deepest first.
func (s *cgroupSandbox) dirs() []string {
	var dirs []string
	for _, m := range s.mounts {
		filepath.WalkDir(filepath.Join(m, s.Path), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
	}
	slices.SortFunc(dirs, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return dirs
}

// Of returns the cgroups, as paths below the hierarchies' roots, that
// pid is in and that are its own: under the sandbox and named with the
// container's id (not the engine's, which the runtime may leave a
// container in on a hybrid host).
func (s *cgroupSandbox) Of(t *testing.T, pid int, id string) []string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatalf("reading the container's cgroups: %v", err)
	}
	var paths []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		// hierarchy-id:controllers:path
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && strings.HasPrefix(f[2], s.Path+"/") && strings.Contains(f[2], id) && !slices.Contains(paths, f[2]) {
			paths = append(paths, f[2])
		}
	}
	if len(paths) == 0 {
		t.Fatalf("the container (pid %d) is in no cgroup of its own under %s:\n%s", pid, s.Path, data)
	}
	return paths
}

// Left lists which of the cgroups paths (from Of) still exist, in any
// hierarchy.
func (s *cgroupSandbox) Left(paths []string) []string {
	var left []string
	for _, p := range paths {
		for _, m := range s.mounts {
			if _, err := os.Stat(filepath.Join(m, p)); err == nil {
				left = append(left, filepath.Join(m, p))
			}
		}
	}
	return left
}

// remove kills every process left in the sandbox, by pid, and removes
// its cgroups.
func (s *cgroupSandbox) remove(t *testing.T) {
	for _, dir := range s.dirs() {
		for _, pid := range cgroupPids(dir) {
			t.Logf("cleanup: killing pid %d left in %s", pid, dir)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	for _, dir := range s.dirs() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := os.Remove(dir)
			if err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("cleanup: removing cgroup %s: %v (pids %v)", dir, err, cgroupPids(dir))
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// cgroupPids reads a cgroup's cgroup.procs.
func cgroupPids(dir string) []int {
	data, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// mount is one line of /proc/self/mountinfo.
type mount struct{ point, fstype string }

func mountInfo(t *testing.T) []mount {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []mount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root point options [optional...] - fstype source super
		fields := strings.Fields(sc.Text())
		sep := slices.Index(fields, "-")
		if len(fields) < 5 || sep < 0 || sep+1 >= len(fields) {
			continue
		}
		out = append(out, mount{point: unescapeMount(fields[4]), fstype: fields[sep+1]})
	}
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountsUnder lists the mount points below dir, the deepest first.
func mountsUnder(t *testing.T, dir string) []string {
	var out []string
	for _, m := range mountInfo(t) {
		if strings.HasPrefix(m.point, dir+"/") {
			out = append(out, m.point)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return out
}

// unmountAllUnder registers a cleanup that detaches every mount left
// below dir, so that the temporary directory can be removed.
func unmountAllUnder(t *testing.T, dir string) {
	t.Cleanup(func() {
		for _, p := range mountsUnder(t, dir) {
			t.Logf("cleanup: unmounting %s", p)
			if err := unix.Unmount(p, unix.MNT_DETACH); err != nil {
				t.Errorf("cleanup: unmounting %s: %v", p, err)
			}
		}
	})
}

// tempDir is t.TempDir, with every mount below it detached at cleanup.
func tempDir(t *testing.T) string {
	dir := t.TempDir()
	unmountAllUnder(t, dir)
	return dir
}

// removeIfCreated registers a cleanup that removes those of dirs (host
// paths an engine creates whatever its configuration) that do not exist
// now, if they are empty by then; the deepest should come last.
func removeIfCreated(t *testing.T, dirs ...string) {
	var absent []string
	for _, d := range dirs {
		if _, err := os.Lstat(d); errors.Is(err, os.ErrNotExist) {
			absent = append(absent, d)
		}
	}
	t.Cleanup(func() {
		for _, d := range slices.Backward(absent) {
			if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Logf("cleanup: %v", err)
			}
		}
	})
}
