package integration

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// nsProcNames maps each runtime-spec namespace type to its /proc/PID/ns name.
var nsProcNames = map[specs.LinuxNamespaceType]string{
	specs.PIDNamespace:     "pid",
	specs.NetworkNamespace: "net",
	specs.MountNamespace:   "mnt",
	specs.IPCNamespace:     "ipc",
	specs.UTSNamespace:     "uts",
	specs.UserNamespace:    "user",
	specs.CgroupNamespace:  "cgroup",
	specs.TimeNamespace:    "time",
}

// nsAllTypes lists every namespace type, in a fixed order.
var nsAllTypes = []specs.LinuxNamespaceType{
	specs.PIDNamespace, specs.NetworkNamespace, specs.MountNamespace, specs.IPCNamespace,
	specs.UTSNamespace, specs.UserNamespace, specs.CgroupNamespace, specs.TimeNamespace,
}

// nsShowScript prints "name link" for every namespace of the shell itself
// ($$, not /proc/self, which would be readlink's own: the same namespaces,
// but the shell is the container's process).
const nsShowScript = `for n in pid net mnt ipc uts user cgroup time; do echo "$n $(readlink /proc/$$/ns/$n)"; done`

// nsParseLinks parses nsShowScript's output into name → "type:[inode]".
func nsParseLinks(t *testing.T, out string) map[string]string {
	t.Helper()
	links := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, link, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(link, name+":[") {
			t.Fatalf("unexpected namespace line %q in:\n%s", line, out)
		}
		links[name] = link
	}
	return links
}

// nsLinkOf is readlink /proc/PID/ns/NAME as the test (on the host) sees it.
func nsLinkOf(t *testing.T, pid int, name string) string {
	t.Helper()
	p := "/proc/self/ns/" + name
	if pid > 0 {
		p = "/proc/" + strconv.Itoa(pid) + "/ns/" + name
	}
	link, err := os.Readlink(p)
	if err != nil {
		t.Fatal(err)
	}
	return link
}

// nsSetNamespaces replaces linux.namespaces with exactly types, all new.
func nsSetNamespaces(s *specs.Spec, types ...specs.LinuxNamespaceType) {
	s.Linux.Namespaces = nil
	for _, typ := range types {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: typ})
	}
}

// nsRemove drops namespace types from linux.namespaces.
func nsRemove(s *specs.Spec, types ...specs.LinuxNamespaceType) {
	var out []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		drop := false
		for _, typ := range types {
			drop = drop || ns.Type == typ
		}
		if !drop {
			out = append(out, ns)
		}
	}
	s.Linux.Namespaces = out
}

// nsSet adds namespace typ (new when path is "", else joined), replacing
// an existing entry of that type in place.
func nsSet(s *specs.Spec, typ specs.LinuxNamespaceType, path string) {
	for i, ns := range s.Linux.Namespaces {
		if ns.Type == typ {
			s.Linux.Namespaces[i].Path = path
			return
		}
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: typ, Path: path})
}

// nsIndex is the index of typ in linux.namespaces (for error paths).
func nsIndex(t *testing.T, s *specs.Spec, typ specs.LinuxNamespaceType) int {
	t.Helper()
	for i, ns := range s.Linux.Namespaces {
		if ns.Type == typ {
			return i
		}
	}
	t.Fatalf("no %s namespace in spec", typ)
	return -1
}

// nsDropMounts removes the mounts with the given destinations.
func nsDropMounts(s *specs.Spec, dests ...string) {
	var out []specs.Mount
	for _, m := range s.Mounts {
		keep := true
		for _, d := range dests {
			keep = keep && m.Destination != d
		}
		if keep {
			out = append(out, m)
		}
	}
	s.Mounts = out
}

// nsUserMaps is the usual mapping of the tests' user namespaces: container
// ids 0-65535 to host ids 100000-165535.
var nsUserMaps = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}

// nsAddUserNS gives b a new user namespace with the usual mappings, and
// makes the bundle's directories (t.TempDir's are 0700) traversable by
// the container's root, an unprivileged host uid.
func nsAddUserNS(b *bundle) {
	nsSet(b.Spec, specs.UserNamespace, "")
	b.Spec.Linux.UIDMappings = nsUserMaps
	b.Spec.Linux.GIDMappings = nsUserMaps
	nsTraversable(b.t, b)
}

// nsTraversable makes the bundle directory and its parent (the test's
// temp dir) searchable by every uid.
func nsTraversable(t *testing.T, b *bundle) {
	t.Helper()
	for _, d := range []string{b.Dir, filepath.Dir(b.Dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// nsPrivateRootfs replaces the bundle's hard link to the host's busybox
// with a copy of its own, so the rootfs can be chown'ed without touching
// the host's /bin/busybox, then chowns the whole rootfs to uid:gid.
func nsPrivateRootfs(t *testing.T, b *bundle, uid, gid int) {
	t.Helper()
	bb := filepath.Join(b.rootfs(), "bin", "busybox")
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(bb); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bb, data, 0o755); err != nil {
		t.Fatal(err)
	}
	var host, copied syscall.Stat_t
	syscall.Stat(busyboxPath, &host)
	syscall.Stat(bb, &copied)
	if host.Ino == copied.Ino && host.Dev == copied.Dev {
		t.Fatalf("%s is still the host's busybox", bb)
	}
	err = filepath.Walk(b.rootfs(), func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// nsHuskHolder starts b's container detached running `sleep 1000` and
// returns its init's host pid; the container is force-deleted at cleanup.
func nsHuskHolder(t *testing.T, e *env, b *bundle) (id string, pid int) {
	t.Helper()
	b.Spec.Process.Args = []string{"sleep", "1000"}
	b.save()
	id = newID(t)
	t.Cleanup(func() {
		e.husk("delete", "--force", id)
		e.checkGone(id, b)
	})
	// The detached container inherits husk's stdio: give it files, not
	// the pipes e.husk would wait on until the container exits.
	logf, err := os.Create(filepath.Join(t.TempDir(), "holder.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(huskBin, "--root", e.root, "run", "-d", "--bundle", b.Dir, id)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(logf.Name())
		t.Fatalf("husk run -d %s: %v: %s", id, err, out)
	}
	pid = int(e.state(id)["pid"].(float64))
	if pid <= 0 || !pidAlive(pid) {
		t.Fatalf("holder %s: init pid %d not alive", id, pid)
	}
	return id, pid
}

// nsUnshareHolder runs `unshare ARGS... sleep 1000` (or the given command
// after --) and returns the pid of the process that unshare became once it
// has exec'd; it is killed and reaped at cleanup.
func nsUnshareHolder(t *testing.T, args ...string) int {
	t.Helper()
	if len(args) == 0 || args[len(args)-1] == "--" {
		args = append(args, "sleep", "1000")
	}
	cmd := exec.Command("unshare", args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	comm := "/proc/" + strconv.Itoa(pid) + "/comm"
	ok := waitFor(5*time.Second, func() bool {
		data, _ := os.ReadFile(comm)
		return strings.TrimSpace(string(data)) == "sleep"
	})
	if !ok {
		t.Fatalf("unshare %v did not exec sleep: %s", args, errb.String())
	}
	return pid
}

// nsHusk runs husk with --root, extra files as fds 3..., extra environment
// variables on top of the test's, and stdin from /dev/null.
func nsHusk(e *env, extra []*os.File, envv []string, args ...string) result {
	e.t.Helper()
	cmd := exec.Command(huskBin, append([]string{"--root", e.root}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.ExtraFiles = extra
	cmd.Env = append(os.Environ(), envv...)
	err := cmd.Run()
	r := result{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		e.t.Fatalf("running husk %v: %v", args, err)
	}
	return r
}

// nsRunScript runs script in a fresh container of b through `husk run`
// without failing on a non-zero status; the container must leave nothing.
func nsRunScript(e *env, b *bundle, script string) (result, string) {
	e.t.Helper()
	return nsRunArgs(e, b, "sh", "-c", script)
}

// nsRunArgs is nsRunScript for any process.args.
func nsRunArgs(e *env, b *bundle, args ...string) (result, string) {
	e.t.Helper()
	b.Spec.Process.Args = args
	b.save()
	id := newID(e.t)
	r := e.husk("run", "--bundle", b.Dir, id)
	e.checkGone(id, b)
	return r, id
}

// nsExpectFailure runs b (as saved) with `husk run`, expects it to fail
// with want in stderr, and checks that nothing was left behind.
func nsExpectFailure(t *testing.T, e *env, b *bundle, want string) {
	t.Helper()
	nsExpectFailureOf(t, e, b, "run", want)
}

// nsExpectFailureOf is nsExpectFailure for `husk create` or `husk run`.
func nsExpectFailureOf(t *testing.T, e *env, b *bundle, command, want string) {
	t.Helper()
	b.save()
	id := newID(t)
	r := e.husk(command, "--bundle", b.Dir, id)
	if r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("husk %s: exit %d, want failure with %q\nstdout: %s\nstderr: %s", command, r.Code, want, r.Stdout, r.Stderr)
	}
	e.checkGone(id, b)
}

// nsStatusField returns the value of a "Key:\tvalue" line of a
// /proc/PID/status dump, with the whitespace between fields normalised
// to one space.
func nsStatusField(t *testing.T, status, key string) string {
	t.Helper()
	for _, line := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	t.Fatalf("no %s: line in status:\n%s", key, status)
	return ""
}
