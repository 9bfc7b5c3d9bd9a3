package integration

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// result is one husk invocation's outcome.
type result struct {
	Stdout, Stderr string
	Code           int
}

// env is one test's husk: its own --root, removed (and checked) at the end.
type env struct {
	t    *testing.T
	root string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return &env{t: t, root: t.TempDir()}
}

// husk runs the binary with --root and args, with stdin from /dev/null.
func (e *env) husk(args ...string) result {
	e.t.Helper()
	return e.huskIn(nil, args...)
}

// huskIn runs husk with stdin from the given reader (nil: /dev/null).
func (e *env) huskIn(stdin *os.File, args ...string) result {
	e.t.Helper()
	cmd := exec.Command(huskBin, append([]string{"--root", e.root}, args...)...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	return e.runCmd(cmd, args)
}

// runCmd runs a husk command line and collects its result. Its stdout
// and stderr are files, not pipes: a container started by create or run
// -d keeps husk's stdio, and a pipe would hold Run until it exits.
func (e *env) runCmd(cmd *exec.Cmd, args []string) result {
	e.t.Helper()
	dir := e.t.TempDir()
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer out.Close()
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer errf.Close()
	cmd.Stdout, cmd.Stderr = out, errf
	err = cmd.Run()
	stdout, _ := os.ReadFile(out.Name())
	stderr, _ := os.ReadFile(errf.Name())
	r := result{Stdout: string(stdout), Stderr: string(stderr)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		e.t.Fatalf("running husk %v: %v", args, err)
	}
	return r
}

// mustHusk runs husk and fails the test unless it exits 0.
func (e *env) mustHusk(args ...string) string {
	e.t.Helper()
	r := e.husk(args...)
	if r.Code != 0 {
		e.t.Fatalf("husk %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// state returns `husk state ID` decoded.
func (e *env) state(id string) map[string]any {
	e.t.Helper()
	var st map[string]any
	out := e.mustHusk("state", id)
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		e.t.Fatalf("decoding state %q: %v", out, err)
	}
	return st
}

// bundle is a test's bundle directory with a busybox rootfs.
type bundle struct {
	t    *testing.T
	Dir  string
	Spec *specs.Spec
}

// newBundle makes a bundle whose config is `husk spec`'s default with
// process.args = ["true"].
func newBundle(t *testing.T) *bundle {
	t.Helper()
	dir := t.TempDir()
	makeRootfs(t, filepath.Join(dir, "rootfs"))
	cmd := exec.Command(huskBin, "spec", "--bundle", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("husk spec: %v: %s", err, out)
	}
	b := &bundle{t: t, Dir: dir}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &b.Spec); err != nil {
		t.Fatal(err)
	}
	b.Spec.Process.Args = []string{"true"}
	return b
}

// save writes the (modified) config.json.
func (b *bundle) save() {
	b.t.Helper()
	data, err := json.MarshalIndent(b.Spec, "", "  ")
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), data, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// rootfs is the path of the bundle's root filesystem.
func (b *bundle) rootfs() string { return filepath.Join(b.Dir, "rootfs") }

// makeRootfs builds a minimal busybox root filesystem at dir: busybox
// (hard-linked when possible, so it is cheap) and its applets as symlinks,
// /etc/passwd and /etc/group, and the usual empty directories.
func makeRootfs(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{"bin", "proc", "sys", "dev", "etc", "tmp", "root", "home/user"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(dir, "tmp"), 0o1777)
	bb := filepath.Join(dir, "bin", "busybox")
	if err := os.Link(busyboxPath, bb); err != nil {
		data, err := os.ReadFile(busyboxPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bb, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, applet := range busyboxApplets(t) {
		if applet == "busybox" {
			continue
		}
		os.Symlink("busybox", filepath.Join(dir, "bin", applet))
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":  "root:x:0:\ntty:x:5:\nuser:x:1000:\nnogroup:x:65534:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var applets []string

func busyboxApplets(t *testing.T) []string {
	if applets == nil {
		out, err := exec.Command(busyboxPath, "--list").Output()
		if err != nil {
			t.Fatalf("busybox --list: %v", err)
		}
		applets = strings.Fields(string(out))
	}
	return applets
}

// newID returns a container id unique to this test run.
func newID(t *testing.T) string {
	var b [4]byte
	rand.Read(b[:])
	name := regexp.MustCompile(`[^a-zA-Z0-9]+`).ReplaceAllString(t.Name(), "-")
	if len(name) > 40 {
		name = name[:40]
	}
	return strings.ToLower(strings.Trim(name, "-")) + "-" + hex.EncodeToString(b[:])
}

// runIn runs script with sh -c inside a fresh container made from b, in
// the foreground, and returns its output. The test fails unless the
// container exits 0; the container's traces are checked to be gone.
func (e *env) runIn(b *bundle, script string) string {
	e.t.Helper()
	b.Spec.Process.Args = []string{"sh", "-c", script}
	b.save()
	id := newID(e.t)
	r := e.husk("run", "--bundle", b.Dir, id)
	if r.Code != 0 {
		e.t.Fatalf("container exited %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	e.checkGone(id, b)
	return r.Stdout
}

// checkGone asserts that nothing of container id is left: no state dir,
// no cgroup, no mount under the bundle, no process rooted in it.
func (e *env) checkGone(id string, b *bundle) {
	e.t.Helper()
	if _, err := os.Lstat(filepath.Join(e.root, id)); err == nil {
		e.t.Errorf("state dir of %s left behind", id)
	}
	for _, cg := range cgroupCandidates(id) {
		if _, err := os.Stat(cg); err == nil {
			e.t.Errorf("cgroup %s left behind", cg)
		}
	}
	if b != nil {
		if m := mountsUnder(e.t, b.Dir); len(m) > 0 {
			e.t.Errorf("mounts left under %s: %v", b.Dir, m)
		}
		if pids := processesRootedIn(b.rootfs()); len(pids) > 0 {
			e.t.Errorf("processes left in %s: %v", b.rootfs(), pids)
		}
	}
}

// unifiedRoot is where the cgroup v2 hierarchy is mounted on this host.
func unifiedRoot() string {
	var st syscall.Statfs_t
	if syscall.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == 0x63677270 {
		return "/sys/fs/cgroup"
	}
	return "/sys/fs/cgroup/unified"
}

func cgroupCandidates(id string) []string {
	return []string{filepath.Join(unifiedRoot(), "husk", id)}
}

// mountsUnder lists mount points at or below dir in husk's (the test's)
// mount namespace.
func mountsUnder(t *testing.T, dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			out = append(out, fields[4])
		}
	}
	return out
}

// processesRootedIn lists live processes whose root directory is dir,
// compared by device and inode: /proc/PID/root of a process that pivoted
// into dir in its own mount namespace reads "/" from here.
func processesRootedIn(dir string) []int { return processesWhose("root", dir) }

// processesWhose lists the live processes whose /proc/PID/<link> (root,
// exe, cwd) is the file path, compared by device and inode.
func processesWhose(link, path string) []int {
	want, err := os.Stat(path)
	if err != nil {
		return nil
	}
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		if fi, err := os.Stat("/proc/" + ent.Name() + "/" + link); err == nil && os.SameFile(fi, want) && pidAlive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// pidAlive reports whether pid exists and is not a zombie.
func pidAlive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')')
	return i > 0 && len(data) > i+2 && data[i+2] != 'Z'
}

// waitFor polls cond for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}
