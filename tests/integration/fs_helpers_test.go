package integration

// Helpers for the filesystem tests (rootfs, mounts, devices): reading the
// container's mountinfo, running probes inside a container, and making
// host mounts that live under a test's temp dir and are undone.

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// fsMount is one line of /proc/PID/mountinfo.
type fsMount struct {
	ID, Parent int
	MajMin     string
	Root       string   // path of the mount's root inside its filesystem
	Point      string   // mount point, relative to the reader's root
	Opts       []string // per-mount options: ro, nosuid, relatime, ...
	Optional   []string // shared:N, master:N, propagate_from:N, unbindable
	FSType     string
	Source     string
	Super      []string // the filesystem's options: size=, mode=, ...
}

func (m fsMount) String() string {
	return fmt.Sprintf("%d %d %s %s %s %s [%s] - %s %s %s", m.ID, m.Parent, m.MajMin, m.Root, m.Point,
		strings.Join(m.Opts, ","), strings.Join(m.Optional, " "), m.FSType, m.Source, strings.Join(m.Super, ","))
}

// opt reports whether the per-mount options include o.
func (m fsMount) opt(o string) bool { return fsContains(m.Opts, o) }

// super reports whether the filesystem options include o.
func (m fsMount) super(o string) bool { return fsContains(m.Super, o) }

// optional returns the value of an optional field (shared, master) and
// whether it is there; "unbindable" has no value.
func (m fsMount) optional(tag string) (string, bool) {
	for _, f := range m.Optional {
		k, v, _ := strings.Cut(f, ":")
		if k == tag {
			return v, true
		}
	}
	return "", false
}

func fsContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fsUnescape undoes mountinfo's octal escapes (\040 for a space...).
func fsUnescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
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

// fsParseMountinfo parses mountinfo text; the test fails on a bad line.
func fsParseMountinfo(t *testing.T, text string) []fsMount {
	t.Helper()
	var out []fsMount
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 10 || sep < 0 || len(f) < sep+4 {
			t.Fatalf("bad mountinfo line %q", line)
		}
		var m fsMount
		m.ID, _ = strconv.Atoi(f[0])
		m.Parent, _ = strconv.Atoi(f[1])
		m.MajMin = f[2]
		m.Root = fsUnescape(f[3])
		m.Point = fsUnescape(f[4])
		m.Opts = strings.Split(f[5], ",")
		m.Optional = f[6:sep]
		m.FSType = f[sep+1]
		m.Source = fsUnescape(f[sep+2])
		m.Super = strings.Split(f[sep+3], ",")
		out = append(out, m)
	}
	return out
}

// fsHostMounts is the test process's (the host's) mount table.
func fsHostMounts(t *testing.T) []fsMount {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return fsParseMountinfo(t, string(data))
}

// fsView is what a probe run saw inside a container: its mount table and
// the label=value lines the probes printed.
type fsView struct {
	Mounts []fsMount
	Vals   map[string]string
	Out    string // everything after the mount table
}

// top returns the topmost mount at point (the one a path lookup sees).
// fsMountHolding returns the host's mount that holds path (the last one
// mounted at the deepest mount point above it).
func fsMountHolding(t *testing.T, path string) (fsMount, bool) {
	var best fsMount
	found := false
	for _, m := range fsHostMounts(t) {
		p := m.Point
		if p == path || p == "/" || strings.HasPrefix(path, p+"/") {
			if !found || len(p) >= len(best.Point) {
				best, found = m, true
			}
		}
	}
	return best, found
}

func (v fsView) top(point string) (fsMount, bool) {
	for i := len(v.Mounts) - 1; i >= 0; i-- {
		if v.Mounts[i].Point == point {
			return v.Mounts[i], true
		}
	}
	return fsMount{}, false
}

// mustTop is top, failing the test when nothing is mounted at point.
func (v fsView) mustTop(t *testing.T, point string) fsMount {
	t.Helper()
	m, ok := v.top(point)
	if !ok {
		t.Fatalf("no mount at %s inside the container; mountinfo:\n%s", point, v.table())
	}
	return m
}

// at lists every mount at point, bottom first.
func (v fsView) at(point string) []fsMount {
	var out []fsMount
	for _, m := range v.Mounts {
		if m.Point == point {
			out = append(out, m)
		}
	}
	return out
}

func (v fsView) table() string {
	var b strings.Builder
	for _, m := range v.Mounts {
		b.WriteString("  " + m.String() + "\n")
	}
	return b.String()
}

// val returns the value a probe printed for label; the test fails if the
// probe printed nothing.
func (v fsView) val(t *testing.T, label string) string {
	t.Helper()
	s, ok := v.Vals[label]
	if !ok {
		t.Fatalf("probe %q printed nothing; output:\n%s", label, v.Out)
	}
	return s
}

// wantOK fails the test unless the probe label's command succeeded.
func (v fsView) wantOK(t *testing.T, label string) {
	t.Helper()
	if s := v.val(t, label); s != "ok" {
		t.Errorf("%s: want success, got %q", label, s)
	}
}

// wantErr fails the test unless the probe label's command failed with a
// message containing want.
func (v fsView) wantErr(t *testing.T, label, want string) {
	t.Helper()
	s := v.val(t, label)
	if !strings.HasPrefix(s, "err:") || !strings.Contains(s, want) {
		t.Errorf("%s: want failure with %q, got %q", label, want, s)
	}
}

// wantVal fails the test unless the probe label printed want.
func (v fsView) wantVal(t *testing.T, label, want string) {
	t.Helper()
	if s := v.val(t, label); s != want {
		t.Errorf("%s = %q, want %q", label, s, want)
	}
}

// fsTry is a probe: it runs the shell command cmd and prints "label=ok",
// or "label=err:<its output on one line>" if it failed.
func fsTry(label, cmd string) string {
	return fmt.Sprintf(`if o=$( { %s; } 2>&1 ); then echo '%s=ok'; else echo "%s=err:$(echo $o)"; fi`, cmd, label, label)
}

// fsEcho is a probe printing "label=<output of cmd on one line>".
func fsEcho(label, cmd string) string {
	return fmt.Sprintf(`echo "%s=$(echo $( { %s; } 2>&1 ))"`, label, cmd)
}

const fsMarker = "@@@mountinfo-end@@@"

// fsInspect runs the probes in a fresh container made from b (which must
// exit 0, and leave nothing behind), after printing its mountinfo.
func fsInspect(e *env, b *bundle, probes ...string) fsView {
	e.t.Helper()
	return fsInspectID(e, b, newID(e.t), probes...)
}

// fsInspectID is fsInspect with a chosen container id.
func fsInspectID(e *env, b *bundle, id string, probes ...string) fsView {
	e.t.Helper()
	return fsInspectFlags(e, b, id, nil, probes...)
}

// fsInspectFlags is fsInspectID with extra flags for `husk run`.
func fsInspectFlags(e *env, b *bundle, id string, flags []string, probes ...string) fsView {
	e.t.Helper()
	b.Spec.Process.Args = fsScript(probes...)
	b.save()
	args := append(append([]string{"run", "--bundle", b.Dir}, flags...), id)
	r := e.husk(args...)
	e.checkGone(id, b)
	if r.Code != 0 {
		e.t.Fatalf("container exited %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	return fsParseView(e.t, r.Stdout)
}

func fsParseView(t *testing.T, out string) fsView {
	t.Helper()
	table, rest, ok := strings.Cut(out, fsMarker+"\n")
	if !ok {
		t.Fatalf("no mount table in output:\n%s", out)
	}
	v := fsView{Mounts: fsParseMountinfo(t, table), Vals: map[string]string{}, Out: rest}
	for _, line := range strings.Split(rest, "\n") {
		if k, val, ok := strings.Cut(line, "="); ok && k != "" && !strings.ContainsAny(k, " \t") {
			v.Vals[k] = val
		}
	}
	return v
}

// fsRunFails runs b (as it is) and expects husk to fail with every one of
// wants in its error output, then checks that nothing was left behind.
func fsRunFails(e *env, b *bundle, wants ...string) {
	e.t.Helper()
	b.save()
	id := newID(e.t)
	r := e.husk("run", "--bundle", b.Dir, id)
	if r.Code == 0 {
		e.t.Fatalf("husk run succeeded, want an error with %q\nstdout: %s", wants, r.Stdout)
	}
	for _, w := range wants {
		if !strings.Contains(r.Stderr, w) {
			e.t.Errorf("error does not mention %q:\n%s", w, r.Stderr)
		}
	}
	e.checkGone(id, b)
}

// fsMountTmpfs mounts a small tmpfs on dir (in the host's mount namespace,
// so dir must be under the test's temp dir) and unmounts it at cleanup.
func fsMountTmpfs(t *testing.T, dir string) {
	t.Helper()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=755"); err != nil {
		t.Fatalf("mounting tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { fsUnmount(t, dir) })
}

// fsSharedDir makes dir a shared mount (a bind of itself) and undoes it at
// cleanup. It returns the peer group the kernel gave it.
func fsSharedDir(t *testing.T, dir string) string {
	t.Helper()
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("binding %s: %v", dir, err)
	}
	t.Cleanup(func() { fsUnmount(t, dir) })
	if err := unix.Mount("", dir, "", unix.MS_SHARED, ""); err != nil {
		t.Fatalf("making %s shared: %v", dir, err)
	}
	for _, m := range fsHostMounts(t) {
		if m.Point == dir {
			if g, ok := m.optional("shared"); ok {
				return g
			}
		}
	}
	t.Fatalf("%s is not shared in the host's mountinfo", dir)
	return ""
}

// fsUnmount detaches dir and whatever is mounted below it.
func fsUnmount(t *testing.T, dir string) {
	if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil && err != unix.EINVAL {
		t.Errorf("unmounting %s: %v", dir, err)
	}
}

// fsBundleIn makes a bundle whose directory is inside dir (rather than a
// temp dir of its own), with newBundle's default config.
func fsBundleIn(t *testing.T, dir string) *bundle {
	t.Helper()
	b := newBundle(t)
	b.Dir = filepath.Join(dir, "bundle")
	makeRootfs(t, b.rootfs())
	b.save()
	return b
}

// fsCopyBusybox copies busybox (a real copy: its mode may be changed) to
// dir/busybox with the given mode (chmod(2) bits: 0o4755 is setuid).
func fsCopyBusybox(t *testing.T, dir string, mode uint32) string {
	t.Helper()
	src, err := os.Open(busyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(dir, "busybox")
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// fsWriteFile writes content to path, creating its directory.
func fsWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fsEntries lists dir's entries (for "the host dir stays empty").
func fsEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// fsWithoutNamespace removes a namespace type from b's config.
func fsWithoutNamespace(b *bundle, typ specs.LinuxNamespaceType) {
	var keep []specs.LinuxNamespace
	for _, ns := range b.Spec.Linux.Namespaces {
		if ns.Type != typ {
			keep = append(keep, ns)
		}
	}
	b.Spec.Linux.Namespaces = keep
}

// fsWithNamespace adds a new namespace of type typ to b's config.
func fsWithNamespace(b *bundle, typ specs.LinuxNamespaceType) {
	fsWithoutNamespace(b, typ)
	b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: typ})
}

// fsFullCaps gives the process every capability the tests need to try
// privileged writes (so that a failure is the kernel's mount flag, not a
// missing capability).
func fsFullCaps(b *bundle) {
	caps := []string{"CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_DAC_OVERRIDE", "CAP_MKNOD", "CAP_CHOWN", "CAP_FOWNER", "CAP_SETUID", "CAP_SETGID", "CAP_IPC_OWNER"}
	b.Spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
}

// fsCreate runs `husk create` for b, with the container's stdio on a file
// (so that husk returns while init waits), and deletes the container at
// cleanup. It returns init's pid and the output file's path.
func fsCreate(e *env, b *bundle, id string, flags ...string) (int, string) {
	e.t.Helper()
	b.save()
	out := filepath.Join(e.t.TempDir(), "out")
	f, err := os.Create(out)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	args := append([]string{"--root", e.root, "create", "--bundle", b.Dir}, flags...)
	cmd := exec.Command(huskBin, append(args, id)...)
	cmd.Stdout, cmd.Stderr = f, f
	e.t.Cleanup(func() { exec.Command(huskBin, "--root", e.root, "delete", "--force", id).Run() })
	if err := cmd.Run(); err != nil {
		data, _ := os.ReadFile(out)
		e.t.Fatalf("husk create: %v\n%s", err, data)
	}
	pid, ok := e.state(id)["pid"].(float64)
	if !ok || pid <= 0 {
		e.t.Fatalf("no pid in the state of %s", id)
	}
	return int(pid), out
}

// fsStartWait starts a created container, waits for it to stop, deletes
// it and checks that nothing is left; it returns what it printed.
func fsStartWait(e *env, b *bundle, id, out string) string {
	e.t.Helper()
	e.mustHusk("start", id)
	if !waitFor(10*time.Second, func() bool { return e.state(id)["status"] == "stopped" }) {
		e.t.Fatalf("container %s still %v after 10s", id, e.state(id)["status"])
	}
	e.mustHusk("delete", id)
	e.checkGone(id, b)
	data, err := os.ReadFile(out)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(data)
}

// fsScript is the shell script fsInspect runs: the mount table, then the
// probes.
func fsScript(probes ...string) []string {
	return []string{"sh", "-c", "cat /proc/self/mountinfo; echo " + fsMarker + "\n" + strings.Join(probes, "\n")}
}
