package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fsStatDev is the probe printing a node's type, major:minor (hex, as stat
// gives them), mode and owner.
func fsStatDev(label, path string) string {
	return fsEcho(label, "stat -c '%F %t:%T %a %u:%g' "+path)
}

// TestDevicesDefault: the devices every container has are real nodes of
// the right numbers and mode 0666, and /dev has its usual symlinks.
func TestDevicesDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	devs := map[string]string{ // path → major:minor in hex
		"/dev/null": "1:3", "/dev/zero": "1:5", "/dev/full": "1:7",
		"/dev/random": "1:8", "/dev/urandom": "1:9", "/dev/tty": "5:0",
	}
	links := map[string]string{
		"/dev/ptmx": "pts/ptmx", "/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
		"/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2",
	}
	var probes []string
	for p := range devs {
		probes = append(probes, fsStatDev(p, p))
	}
	for p := range links {
		probes = append(probes, fsEcho("link"+p, "readlink "+p))
	}
	probes = append(probes,
		fsTry("write-null", "echo x > /dev/null"),
		fsEcho("read-null", "wc -c < /dev/null"),
		fsEcho("read-zero", "head -c 5 /dev/zero | od -An -tx1"),
		fsTry("write-full", "echo x > /dev/full"),
		fsEcho("read-urandom", "head -c 16 /dev/urandom | wc -c"),
		fsEcho("fd-works", "echo hi | cat /dev/stdin"),
		fsEcho("ptmx-target", "stat -L -c '%F' /dev/ptmx"))
	v := fsInspect(e, b, probes...)
	for p, num := range devs {
		v.wantVal(t, p, "character special file "+num+" 666 0:0")
		if _, ok := v.top(p); ok {
			t.Errorf("%s is a bind mount, want a node made with mknod", p)
		}
	}
	for p, target := range links {
		v.wantVal(t, "link"+p, target)
	}
	v.wantOK(t, "write-null")
	v.wantVal(t, "read-null", "0")
	v.wantVal(t, "read-zero", "00 00 00 00 00")
	v.wantErr(t, "write-full", "No space left on device")
	v.wantVal(t, "read-urandom", "16")
	v.wantVal(t, "fd-works", "hi")
	v.wantVal(t, "ptmx-target", "character special file")
}

func fsU32(n uint32) *uint32 { return &n }

func fsMode(m os.FileMode) *os.FileMode { return &m }

// TestDevicesCustom: linux.devices are created with their exact type,
// numbers, mode and owner, in subdirectories too, and win over a default
// device of the same path.
func TestDevicesCustom(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Linux.Devices = []specs.LinuxDevice{
		{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: fsMode(0o600), UID: fsU32(1000), GID: fsU32(1000)},
		{Path: "/dev/testblk", Type: "b", Major: 7, Minor: 200, FileMode: fsMode(0o640), UID: fsU32(0), GID: fsU32(6)},
		{Path: "/dev/foo/bar", Type: "c", Major: 1, Minor: 3, FileMode: fsMode(0o666)},
		{Path: "/dev/unbuf", Type: "u", Major: 1, Minor: 5, FileMode: fsMode(0o644), UID: fsU32(1000)},
		{Path: "/dev/fifo", Type: "p", FileMode: fsMode(0o620), GID: fsU32(5)},
		{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5, FileMode: fsMode(0o640)},
		{Path: "/dev/nomode", Type: "c", Major: 1, Minor: 7},
	}
	v := fsInspect(e, b,
		fsStatDev("fuse", "/dev/fuse"),
		fsStatDev("blk", "/dev/testblk"),
		fsStatDev("nested", "/dev/foo/bar"),
		fsStatDev("unbuf", "/dev/unbuf"),
		fsEcho("fifo", "stat -c '%F %a %u:%g' /dev/fifo"),
		fsStatDev("zero", "/dev/zero"),
		fsStatDev("nomode", "/dev/nomode"),
		fsTry("nested-works", "echo x > /dev/foo/bar"),
		fsStatDev("null", "/dev/null"))
	v.wantVal(t, "fuse", "character special file a:e5 600 1000:1000")
	v.wantVal(t, "blk", "block special file 7:c8 640 0:6")
	v.wantVal(t, "nested", "character special file 1:3 666 0:0")
	v.wantVal(t, "unbuf", "character special file 1:5 644 1000:0")
	v.wantVal(t, "fifo", "fifo 620 0:5")
	v.wantVal(t, "zero", "character special file 1:5 640 0:0")
	v.wantVal(t, "nomode", "character special file 1:7 666 0:0")
	v.wantOK(t, "nested-works")
	v.wantVal(t, "null", "character special file 1:3 666 0:0") // defaults still there
}

// TestDevicesInvalid: a device with an unknown type or a relative path is
// refused by its JSON path before anything is created.
func TestDevicesInvalid(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		dev  specs.LinuxDevice
		want []string
	}{
		{"unknown type", specs.LinuxDevice{Path: "/dev/weird", Type: "x", Major: 1, Minor: 3}, []string{"linux.devices[1].type", `"x"`}},
		{"empty type", specs.LinuxDevice{Path: "/dev/weird", Major: 1, Minor: 3}, []string{"linux.devices[1].type"}},
		{"relative path", specs.LinuxDevice{Path: "dev/weird", Type: "c", Major: 1, Minor: 3}, []string{"linux.devices[1].path"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Linux.Devices = []specs.LinuxDevice{
				{Path: "/dev/ok", Type: "c", Major: 1, Minor: 3},
				tc.dev,
			}
			fsRunFails(e, b, tc.want...)
		})
	}
}

// TestDevicesUserNamespace: in a user namespace mknod is not permitted, so
// the devices are binds of the host's nodes, and they work.
func TestDevicesUserNamespace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	// The container's root (host uid 100000) must reach the rootfs.
	for _, d := range []string{filepath.Dir(b.Dir), b.Dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fsWithNamespace(b, specs.UserNamespace)
	b.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	b.Spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	v := fsInspect(e, b,
		fsEcho("uid_map", "cat /proc/self/uid_map"),
		fsTry("mknod", "mknod /dev/shm/n c 1 3"),
		fsTry("write-null", "echo hi > /dev/null"),
		fsEcho("read-zero", "head -c 3 /dev/zero | wc -c"),
		fsEcho("read-urandom", "head -c 8 /dev/urandom | wc -c"),
		fsEcho("null", "stat -c '%F %t:%T' /dev/null"),
		fsEcho("ptmx", "readlink /dev/ptmx"))
	if f := strings.Fields(v.val(t, "uid_map")); len(f) != 3 || f[1] != "100000" {
		t.Fatalf("not in the user namespace: uid_map %q", v.val(t, "uid_map"))
	}
	v.wantErr(t, "mknod", "")
	v.wantOK(t, "write-null")
	v.wantVal(t, "read-zero", "3")
	v.wantVal(t, "read-urandom", "8")
	v.wantVal(t, "null", "character special file 1:3")
	v.wantVal(t, "ptmx", "pts/ptmx")
	var hostDev fsMount
	for _, m := range fsHostMounts(t) {
		if m.Point == "/dev" {
			hostDev = m
		}
	}
	for _, p := range []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"} {
		m, ok := v.top(p)
		if !ok {
			t.Errorf("%s is not a bind of the host's node; mountinfo:\n%s", p, v.table())
			continue
		}
		want := strings.TrimSuffix(hostDev.Root, "/") + strings.TrimPrefix(p, "/dev")
		if m.MajMin != hostDev.MajMin || m.Root != want {
			t.Errorf("%s is not a bind of the host's %s (%s %s): %s", p, p, hostDev.MajMin, want, m)
		}
	}
}
