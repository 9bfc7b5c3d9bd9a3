package integration

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fsToken is a random string a test plants and expects to read back.
func fsToken() string {
	var b [6]byte
	rand.Read(b[:])
	return "tok-" + hex.EncodeToString(b[:])
}

func fsInode(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatUint(fi.Sys().(*syscall.Stat_t).Ino, 10)
}

// TestRootfsPath: root.path, relative to the bundle or absolute, is what
// the container sees as "/".
func TestRootfsPath(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// place moves the rootfs and returns root.path and its host path.
		place func(t *testing.T, b *bundle) (string, string)
	}{
		{"relative default", func(t *testing.T, b *bundle) (string, string) {
			return "rootfs", b.rootfs()
		}},
		{"relative nested", func(t *testing.T, b *bundle) (string, string) {
			dst := filepath.Join(b.Dir, "images", "busybox")
			os.MkdirAll(filepath.Dir(dst), 0o755)
			if err := os.Rename(b.rootfs(), dst); err != nil {
				t.Fatal(err)
			}
			return "images/busybox", dst
		}},
		{"relative dot-slash", func(t *testing.T, b *bundle) (string, string) {
			return "./rootfs/", b.rootfs()
		}},
		{"absolute in bundle", func(t *testing.T, b *bundle) (string, string) {
			return b.rootfs(), b.rootfs()
		}},
		{"absolute elsewhere", func(t *testing.T, b *bundle) (string, string) {
			dst := filepath.Join(t.TempDir(), "root")
			if err := os.Rename(b.rootfs(), dst); err != nil {
				t.Fatal(err)
			}
			return dst, dst
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			token := fsToken()
			rootPath, host := tc.place(t, b)
			fsWriteFile(t, filepath.Join(host, "marker"), token)
			b.Spec.Root.Path = rootPath
			v := fsInspect(e, b,
				fsEcho("marker", "cat /marker"),
				fsEcho("rootino", "stat -c %i /"))
			v.wantVal(t, "marker", token)
			v.wantVal(t, "rootino", fsInode(t, host))
			root := v.mustTop(t, "/")
			if !strings.HasSuffix(root.Root, strings.TrimPrefix(host, filepath.Dir(filepath.Dir(host)))) {
				t.Errorf("the mount at / has root %q, want the rootfs %s", root.Root, host)
			}
			if m := mountsUnder(t, host); len(m) > 0 {
				t.Errorf("mounts left under %s: %v", host, m)
			}
		})
	}
}

// TestRootfsPathInvalid: a root.path that is missing or not a directory is
// a config error naming root.path, and nothing is left behind.
func TestRootfsPathInvalid(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		path func(b *bundle) string
		want string
	}{
		{"relative missing", func(b *bundle) string { return "nope" }, "no such file or directory"},
		{"absolute missing", func(b *bundle) string { return filepath.Join(b.Dir, "gone", "rootfs") }, "no such file or directory"},
		{"a file", func(b *bundle) string { return "rootfs/etc/passwd" }, "not a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Root.Path = tc.path(b)
			fsRunFails(e, b, "root.path", tc.want)
		})
	}
}

// TestRootfsReadonly: root.readonly makes "/" a read-only mount; without
// it the rootfs is writable and writes reach the bundle's rootfs.
func TestRootfsReadonly(t *testing.T) {
	t.Parallel()
	for _, readonly := range []bool{true, false} {
		t.Run("readonly="+strconv.FormatBool(readonly), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Root.Readonly = readonly
			v := fsInspect(e, b,
				fsTry("write", "echo hi > /written"),
				fsTry("mkdir", "mkdir /newdir"),
				fsTry("tmpfs-write", "echo hi > /dev/shm/x"))
			root := v.mustTop(t, "/")
			_, err := os.Stat(filepath.Join(b.rootfs(), "written"))
			if readonly {
				if !root.opt("ro") {
					t.Errorf("/ is not ro: %s", root)
				}
				v.wantErr(t, "write", "Read-only file system")
				v.wantErr(t, "mkdir", "Read-only file system")
				if err == nil {
					t.Errorf("the write reached the rootfs")
				}
			} else {
				if !root.opt("rw") {
					t.Errorf("/ is not rw: %s", root)
				}
				v.wantOK(t, "write")
				v.wantOK(t, "mkdir")
				if err != nil {
					t.Errorf("the write did not reach the rootfs: %v", err)
				}
			}
			// Mounts on top of a read-only root stay writable.
			v.wantOK(t, "tmpfs-write")
		})
	}
}

// fsAllowedPoints is every mount point a container made from spec may
// have: "/", the mounts' destinations and the masked and read-only paths.
func fsAllowedPoints(spec *specs.Spec) map[string]bool {
	ok := map[string]bool{"/": true}
	for _, m := range spec.Mounts {
		ok[filepath.Clean(m.Destination)] = true
	}
	for _, p := range append(append([]string{}, spec.Linux.MaskedPaths...), spec.Linux.ReadonlyPaths...) {
		ok[p] = true
	}
	return ok
}

// TestRootfsPivot: with pivot_root (the default) or --no-pivot, "/" is the
// rootfs and none of the host's mounts is visible.
func TestRootfsPivot(t *testing.T) {
	t.Parallel()
	for _, noPivot := range []bool{false, true} {
		t.Run("no-pivot="+strconv.FormatBool(noPivot), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			var flags []string
			if noPivot {
				flags = []string{"--no-pivot"}
			}
			hostFile := filepath.Join(t.TempDir(), "host-only")
			fsWriteFile(t, hostFile, "x")
			v := fsInspectFlags(e, b, newID(t), flags,
				fsEcho("rootino", "stat -c %i /"),
				fsTry("hostfile", "test -e "+hostFile))
			v.wantVal(t, "rootino", fsInode(t, b.rootfs()))
			v.wantErr(t, "hostfile", "")
			if roots := v.at("/"); len(roots) != 1 {
				t.Errorf("%d mounts at /, want 1 (the rootfs): %v", len(roots), roots)
			}
			allowed := fsAllowedPoints(b.Spec)
			for _, m := range v.Mounts {
				if !allowed[m.Point] {
					t.Errorf("a mount the spec did not ask for is visible: %s", m)
				}
			}
			root := v.mustTop(t, "/")
			if !strings.HasSuffix(root.Root, "/rootfs") {
				t.Errorf("/ is %s, not the rootfs", root)
			}
		})
	}
}

// TestRootfsPivotDetachesHost: after pivot_root the host's old root is
// gone from the container's mount namespace itself, not merely hidden
// from its root: a process entering the namespace sees only the
// container's mounts.
func TestRootfsPivotDetachesHost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	id := newID(t)
	b.Spec.Process.Args = fsScript()
	pid, out := fsCreate(e, b, id)
	data, err := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-m", "-p", "cat", "/proc/self/mountinfo").CombinedOutput()
	if err != nil {
		t.Fatalf("nsenter: %v: %s", err, data)
	}
	ns := fsParseMountinfo(t, string(data))
	v := fsParseView(t, fsStartWait(e, b, id, out))
	if len(ns) != len(v.Mounts) {
		t.Errorf("the mount namespace holds %d mounts, the container sees %d:\nnamespace:\n%s\ncontainer:\n%s",
			len(ns), len(v.Mounts), fsView{Mounts: ns}.table(), v.table())
	}
	allowed := fsAllowedPoints(b.Spec)
	for _, m := range ns {
		if !allowed[m.Point] {
			t.Errorf("the container's mount namespace still holds %s", m)
		}
	}
}

// TestRootfsPropagation: linux.rootfsPropagation sets the propagation of
// the container's "/", and whatever it is, no mount made for the
// container reaches the host, also when the bundle is on a shared mount
// (as it is under systemd, whose "/" is shared).
func TestRootfsPropagation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		prop string
		// master: on a shared parent, "/" is a slave of the host's peer
		// group; shared: "/" is shared, in a peer group of its own.
		master, shared, unbindable bool
	}{
		{prop: "", master: true},
		{prop: "rslave", master: true},
		{prop: "slave"},
		{prop: "private"},
		{prop: "rprivate"},
		{prop: "shared", shared: true},
		{prop: "rshared", shared: true},
		{prop: "unbindable", unbindable: true},
		{prop: "runbindable", unbindable: true},
	}
	for _, onShared := range []bool{true, false} {
		for _, tc := range cases {
			name := "propagation=" + tc.prop + "/bundle-on-shared=" + strconv.FormatBool(onShared)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				var b *bundle
				group := "none"
				if onShared {
					dir := t.TempDir()
					group = fsSharedDir(t, dir)
					b = fsBundleIn(t, dir)
				} else {
					b = newBundle(t)
					// The temp dir may itself be on a shared mount (it is
					// where the host's root is rshared, as under systemd).
					if m, ok := fsMountHolding(t, b.Dir); ok {
						if g, shared := m.optional("shared"); shared {
							group, onShared = g, true
						}
					}
				}
				b.Spec.Linux.RootfsPropagation = tc.prop
				v := fsInspect(e, b)
				root := v.mustTop(t, "/")
				master, isSlave := root.optional("master")
				shared, isShared := root.optional("shared")
				_, isUnbindable := root.optional("unbindable")
				wantMaster := tc.master && onShared
				switch {
				case wantMaster && (!isSlave || master != group):
					t.Errorf("/ should be a slave of the host's peer group %s: %s", group, root)
				case !wantMaster && isSlave:
					t.Errorf("/ should not be a slave: %s", root)
				}
				if isShared && shared == group {
					t.Errorf("/ is a peer of the host's mount (group %s): %s", group, root)
				}
				if isShared != tc.shared {
					t.Errorf("/ shared = %v, want %v: %s", isShared, tc.shared, root)
				}
				if isUnbindable != tc.unbindable {
					t.Errorf("/ unbindable = %v, want %v: %s", isUnbindable, tc.unbindable, root)
				}
			})
		}
	}
}

// TestMaskedPaths: a masked file reads empty (it is the null device), a
// masked directory is an empty read-only tmpfs, a missing path is skipped.
func TestMaskedPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	fsWriteFile(t, filepath.Join(b.rootfs(), "secret", "data"), "classified")
	fsWriteFile(t, filepath.Join(b.rootfs(), "etc", "secret.txt"), "classified")
	// A /proc file and directory of the default config's list, or
	// stand-ins where this kernel lacks them.
	procFile, procDir := "/proc/keys", "/proc/acpi"
	if _, err := os.Stat(procFile); err != nil {
		procFile = "/proc/version"
	}
	if _, err := os.Stat(procDir); err != nil {
		procDir = "/proc/fs"
	}
	b.Spec.Linux.ReadonlyPaths = nil
	b.Spec.Linux.MaskedPaths = []string{procFile, procDir, "/secret", "/etc/secret.txt", "/does/not/exist", "/proc/nonexistent"}
	v := fsInspect(e, b,
		fsEcho("keys-size", "wc -c < "+procFile),
		fsEcho("keys-stat", "stat -c '%F %t:%T' "+procFile),
		fsEcho("file-content", "cat /etc/secret.txt"),
		fsEcho("file-stat", "stat -c '%F %t:%T' /etc/secret.txt"),
		fsEcho("dir-list", "ls -A "+procDir+" /secret"),
		fsTry("dir-read", "cat /secret/data"),
		fsTry("dir-write", "touch /secret/new"),
		fsTry("file-write", "echo x > /etc/secret.txt"),
		fsTry("missing", "test -e /does/not/exist"))
	v.wantVal(t, "keys-size", "0")
	v.wantVal(t, "keys-stat", "character special file 1:3")
	v.wantVal(t, "file-content", "")
	v.wantVal(t, "file-stat", "character special file 1:3")
	v.wantVal(t, "dir-list", procDir+": /secret:")
	v.wantErr(t, "dir-read", "No such file")
	v.wantErr(t, "dir-write", "Read-only file system")
	v.wantOK(t, "file-write") // writes to /dev/null vanish
	v.wantErr(t, "missing", "")
	for _, p := range []string{"/secret", procDir} {
		m := v.mustTop(t, p)
		if m.FSType != "tmpfs" || !m.opt("ro") {
			t.Errorf("%s is not masked by a read-only tmpfs: %s", p, m)
		}
	}
	for _, p := range []string{procFile, "/etc/secret.txt"} {
		if m := v.mustTop(t, p); m.Root != "/null" {
			t.Errorf("%s is not a bind of /dev/null: %s", p, m)
		}
	}
	if _, ok := v.top("/does/not/exist"); ok {
		t.Errorf("something was mounted for a missing masked path")
	}
	if data, _ := os.ReadFile(filepath.Join(b.rootfs(), "etc", "secret.txt")); string(data) != "classified" {
		t.Errorf("the masked file on the host changed: %q", data)
	}
}

// TestReadonlyPaths: writing under a read-only path fails with EROFS;
// without it the same writes succeed (so the failure is the mount's).
func TestReadonlyPaths(t *testing.T) {
	t.Parallel()
	for _, ro := range []bool{true, false} {
		t.Run("readonly="+strconv.FormatBool(ro), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			fsFullCaps(b)
			b.Spec.Root.Readonly = false
			os.MkdirAll(filepath.Join(b.rootfs(), "data", "sub"), 0o755)
			b.Spec.Linux.ReadonlyPaths = nil
			if ro {
				b.Spec.Linux.ReadonlyPaths = []string{"/proc/sys", "/data", "/missing/path"}
			}
			v := fsInspect(e, b,
				fsTry("sysctl", "echo 1 > /proc/sys/net/ipv4/ip_forward"),
				fsTry("data", "touch /data/x"),
				fsTry("data-sub", "touch /data/sub/x"),
				fsTry("elsewhere", "touch /x"))
			v.wantOK(t, "elsewhere")
			if !ro {
				v.wantOK(t, "sysctl")
				v.wantOK(t, "data")
				v.wantOK(t, "data-sub")
				return
			}
			v.wantErr(t, "sysctl", "Read-only file system")
			v.wantErr(t, "data", "Read-only file system")
			v.wantErr(t, "data-sub", "Read-only file system")
			for _, p := range []string{"/proc/sys", "/data"} {
				if m := v.mustTop(t, p); !m.opt("ro") {
					t.Errorf("%s is not read-only: %s", p, m)
				}
			}
			if _, ok := v.top("/missing/path"); ok {
				t.Errorf("something was mounted for a missing read-only path")
			}
		})
	}
}

func fsReadSysctl(t *testing.T, key string) string {
	t.Helper()
	data, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(key, ".", "/"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// TestSysctl: namespaced sysctls are set in the container's namespaces
// and the host keeps its values.
func TestSysctl(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	keys := map[string]string{
		"net.ipv4.ip_forward":         "1",
		"net.ipv4.ip_default_ttl":     "42",
		"kernel.shmmax":               "123456789",
		"kernel.msgmax":               "4242",
		"fs.mqueue.msg_max":           "17",
		"net.ipv4.conf.lo.forwarding": "1",
	}
	before := map[string]string{}
	for k := range keys {
		before[k] = fsReadSysctl(t, k)
	}
	b.Spec.Linux.Sysctl = keys
	var probes []string
	for k := range keys {
		probes = append(probes, fsEcho(k, "cat /proc/sys/"+strings.ReplaceAll(k, ".", "/")))
	}
	v := fsInspect(e, b, probes...)
	for k, want := range keys {
		v.wantVal(t, k, want)
		if now := fsReadSysctl(t, k); now != before[k] {
			t.Errorf("host %s changed from %s to %s", k, before[k], now)
		}
	}
}

// TestSysctlRefused: a sysctl that is not namespaced, or whose namespace
// the container does not have, is refused by name before anything runs.
func TestSysctlRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, key string
		drop      specs.LinuxNamespaceType
		want      string
	}{
		{"not namespaced", "kernel.panic", "", "not a namespaced sysctl"},
		{"vm key", "vm.swappiness", "", "not a namespaced sysctl"},
		{"net without net ns", "net.ipv4.ip_forward", specs.NetworkNamespace, "network namespace"},
		{"ipc without ipc ns", "kernel.shmmax", specs.IPCNamespace, "ipc namespace"},
		{"dotdot", "net.ipv4..ip_forward", "", "not a namespaced sysctl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			if tc.drop != "" {
				fsWithoutNamespace(b, tc.drop)
			}
			b.Spec.Linux.Sysctl = map[string]string{tc.key: "1"}
			fsRunFails(e, b, "linux.sysctl."+tc.key, tc.want)
		})
	}
}
