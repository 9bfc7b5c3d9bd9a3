package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Rootless husk: run as an unprivileged uid with no passwd entry of its
// own (none is needed unless newuidmap is), with its own runtime dir.
const rootlessUID = 60123

type rootless struct {
	t       *testing.T
	husk    string // a copy of husk the user may execute
	runDir  string // XDG_RUNTIME_DIR
	bundle  string
	wrapper []string // command prefix: setpriv, maybe inside unshare
}

// newRootless prepares a bundle owned by the user (with a real copy of
// busybox: the shared one must not change owner) and `husk spec
// --rootless` as the user writes it.
func newRootless(t *testing.T) *rootless {
	t.Helper()
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("needs setpriv (util-linux)")
	}
	top := t.TempDir()
	os.Chmod(top, 0o755)
	os.Chmod(filepath.Dir(top), 0o755)
	r := &rootless{t: t, husk: filepath.Join(top, "husk"), runDir: filepath.Join(top, "run"), bundle: filepath.Join(top, "bundle")}
	data, err := os.ReadFile(huskBin)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(r.husk, data, 0o755)
	os.Mkdir(r.runDir, 0o700)
	makeRootfs(t, filepath.Join(r.bundle, "rootfs"))
	bb := filepath.Join(r.bundle, "rootfs", "bin", "busybox")
	bin, _ := os.ReadFile(busyboxPath)
	os.Remove(bb)
	if err := os.WriteFile(bb, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{r.runDir, r.bundle} {
		filepath.Walk(d, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, rootlessUID, rootlessUID) })
	}
	uid := strconv.Itoa(rootlessUID)
	r.wrapper = []string{"setpriv", "--reuid", uid, "--regid", uid, "--clear-groups",
		"env", "XDG_RUNTIME_DIR=" + r.runDir, "HOME=" + r.runDir, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	if res := r.run("spec", "--rootless", "--bundle", r.bundle); res.Code != 0 {
		t.Fatalf("husk spec --rootless as uid %d: %s", rootlessUID, res.Stderr)
	}
	t.Cleanup(func() {
		for _, id := range r.ids() {
			r.run("delete", "--force", id)
		}
	})
	return r
}

// run runs husk as the user, from the bundle directory.
func (r *rootless) run(args ...string) result {
	r.t.Helper()
	cmd := exec.Command(r.wrapper[0], append(append(append([]string{}, r.wrapper[1:]...), r.husk), args...)...)
	cmd.Dir = r.bundle
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := result{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.Code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatalf("running husk as uid %d: %v", rootlessUID, err)
	}
	return res
}

func (r *rootless) ids() []string {
	entries, _ := os.ReadDir(filepath.Join(r.runDir, "husk"))
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.Name())
	}
	return ids
}

func (r *rootless) spec() *specs.Spec {
	r.t.Helper()
	b := &bundle{t: r.t, Dir: r.bundle}
	data, err := os.ReadFile(filepath.Join(r.bundle, "config.json"))
	if err != nil {
		r.t.Fatal(err)
	}
	if err := json.Unmarshal(data, &b.Spec); err != nil {
		r.t.Fatal(err)
	}
	return b.Spec
}

func (r *rootless) save(s *specs.Spec) {
	r.t.Helper()
	b := &bundle{t: r.t, Dir: r.bundle, Spec: s}
	b.save()
	os.Lchown(filepath.Join(r.bundle, "config.json"), rootlessUID, rootlessUID)
}

// TestRootlessRun: `husk spec --rootless` as an unprivileged user gives a
// config that runs as that user: root inside, the user outside, its own
// user namespace, state 0700 in its runtime dir, and nothing left after.
func TestRootlessRun(t *testing.T) {
	t.Parallel()
	r := newRootless(t)
	s := r.spec()
	s.Process.Args = []string{"sh", "-c", "id -u; cat /proc/self/uid_map /proc/self/gid_map; hostname; ls /dev/null; echo x > /tmp/made"}
	s.Root.Readonly = false
	r.save(s)
	res := r.run("run", "rl1")
	if res.Code != 0 {
		t.Fatalf("rootless run: exit %d: %s", res.Code, res.Stderr)
	}
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	want := []string{"0", "0 " + strconv.Itoa(rootlessUID) + " 1", "0 " + strconv.Itoa(rootlessUID) + " 1", "husk", "/dev/null"}
	for i, w := range want {
		if i >= len(lines) || strings.Join(strings.Fields(lines[i]), " ") != w {
			t.Errorf("line %d: got %q, want %q (all: %q)", i, lines, w, res.Stdout)
			break
		}
	}
	fi, err := os.Stat(filepath.Join(r.bundle, "rootfs", "tmp", "made"))
	if err != nil || fi.Sys().(*syscall.Stat_t).Uid != rootlessUID {
		t.Errorf("a file made by the container's root should be the user's on the host: %v", err)
	}
	if ids := r.ids(); len(ids) != 0 {
		t.Errorf("state left: %v", ids)
	}
	if pids := processesRootedIn(filepath.Join(r.bundle, "rootfs")); len(pids) != 0 {
		t.Errorf("processes left: %v", pids)
	}
}

// TestRootlessLifecycle: create/start/exec/kill/delete as the user; what
// needs a cgroup (none is writable for the user here) says so clearly.
func TestRootlessLifecycle(t *testing.T) {
	t.Parallel()
	r := newRootless(t)
	s := r.spec()
	s.Process.Args = []string{"sleep", "1000"}
	r.save(s)
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(r.wrapper[0], append(append(append([]string{}, r.wrapper[1:]...), r.husk), "run", "-d", "rl2")...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = r.bundle, f, f
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(f.Name())
		t.Fatalf("run -d: %v: %s", err, out)
	}
	st, err := os.Stat(filepath.Join(r.runDir, "husk", "rl2"))
	if err != nil || st.Mode().Perm() != 0o700 || st.Sys().(*syscall.Stat_t).Uid != rootlessUID {
		t.Errorf("state dir: %v %v", st, err)
	}
	res := r.run("exec", "rl2", "sh", "-c", "id -u; echo pid=$$; exit 3")
	if res.Code != 3 || !strings.HasPrefix(res.Stdout, "0\npid=") || strings.Contains(res.Stdout, "pid=1\n") {
		t.Errorf("rootless exec: exit %d, %q, %q", res.Code, res.Stdout, res.Stderr)
	}
	for _, cmd := range [][]string{{"pause", "rl2"}, {"kill", "--all", "rl2", "KILL"}} {
		if res := r.run(cmd...); res.Code == 0 || !strings.Contains(res.Stderr, "no cgroup") {
			t.Errorf("%v: exit %d, %q", cmd, res.Code, res.Stderr)
		}
	}
	if res := r.run("kill", "rl2", "KILL"); res.Code != 0 {
		t.Errorf("kill: %s", res.Stderr)
	}
	if res := r.run("delete", "--force", "rl2"); res.Code != 0 {
		t.Errorf("delete: %s", res.Stderr)
	}
	if ids := r.ids(); len(ids) != 0 {
		t.Errorf("state left: %v", ids)
	}
	// Limits need a cgroup: refused, and nothing stays.
	s.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(10)}}
	r.save(s)
	if res := r.run("run", "rl3"); res.Code == 0 || !strings.Contains(res.Stderr, "linux.resources") {
		t.Errorf("rootless limits: exit %d, %q", res.Code, res.Stderr)
	}
	if ids := r.ids(); len(ids) != 0 {
		t.Errorf("state left after a failed create: %v", ids)
	}
}

// TestRootlessSubordinateIDs: with /etc/subuid and /etc/subgid ranges for
// the user (bound over the host's in a private mount namespace, with a
// passwd entry newuidmap needs), husk maps the ranges through newuidmap
// and newgidmap: container uid 1 is host uid 300000.
func TestRootlessSubordinateIDs(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("newuidmap"); err != nil {
		t.Skip("needs newuidmap and newgidmap (apt-get install uidmap)")
	}
	r := newRootless(t)
	etc := t.TempDir()
	uid := strconv.Itoa(rootlessUID)
	os.WriteFile(filepath.Join(etc, "subuid"), []byte(uid+":300000:65536\n"), 0o644)
	os.WriteFile(filepath.Join(etc, "subgid"), []byte(uid+":300000:65536\n"), 0o644)
	passwd, _ := os.ReadFile("/etc/passwd")
	os.WriteFile(filepath.Join(etc, "passwd"), append(passwd, []byte("husktest:x:"+uid+":"+uid+"::/:/bin/sh\n")...), 0o644)
	r.wrapper = append([]string{"unshare", "-m", "--propagation", "private", "sh", "-c",
		`for f in subuid subgid passwd; do mount --bind "$0/$f" /etc/$f || exit 1; done; exec "$@"`, etc}, r.wrapper...)
	s := r.spec()
	ranges := []specs.LinuxIDMapping{{ContainerID: 0, HostID: rootlessUID, Size: 1}, {ContainerID: 1, HostID: 300000, Size: 65536}}
	s.Linux.UIDMappings, s.Linux.GIDMappings = ranges, ranges
	s.Root.Readonly = false
	s.Process.Capabilities = nil // all of them, in the user namespace: chown needs CAP_CHOWN
	s.Process.Args = []string{"sh", "-c", "cat /proc/self/uid_map; echo pid=$$; touch /tmp/sub; chown 1:1 /tmp/sub"}
	r.save(s)
	res := r.run("run", "rl4")
	if res.Code != 0 {
		t.Fatalf("rootless run with subordinate ids: exit %d: %s", res.Code, res.Stderr)
	}
	if !strings.Contains(res.Stdout, "300000") || !strings.Contains(res.Stdout, "pid=1\n") {
		t.Errorf("uid_map and pid: %q", res.Stdout)
	}
	fi, err := os.Stat(filepath.Join(r.bundle, "rootfs", "tmp", "sub"))
	if err != nil || fi.Sys().(*syscall.Stat_t).Uid != 300000 {
		t.Errorf("container uid 1 should be host uid 300000: %+v %v", fi, err)
	}
}
