package libcontainer

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestCheckCoveringMount(t *testing.T) {
	c := &checker{spec: &specs.Spec{Mounts: []specs.Mount{
		{Destination: "/opt", Type: "bind"}, {Destination: ""}, {Destination: "/opt/sub/", Type: "tmpfs"},
	}}}
	tests := []struct {
		path, dest, rest string
		ok               bool
	}{
		{"/opt/tool", "/opt", "tool", true},
		{"/opt/sub/x", "/opt/sub/", "x", true}, // the last mount is on top
		{"/opt", "/opt", ".", true},
		{"/optional/x", "", "", false},
		{"/bin/sh", "", "", false}, // an empty destination covers nothing
	}
	for _, tc := range tests {
		m, rest, ok := c.coveringMount(tc.path)
		if ok != tc.ok || m.Destination != tc.dest || rest != tc.rest {
			t.Errorf("coveringMount(%s) = %q, %q, %v; want %q, %q, %v", tc.path, m.Destination, rest, ok, tc.dest, tc.rest, tc.ok)
		}
	}
	if !c.coveredBefore("/opt/sub/x", 1) || c.coveredBefore("/opt/x", 0) || len(c.spec.Mounts) != 3 {
		t.Errorf("coveredBefore: wrong, or the mounts were not restored")
	}
}

func TestCheckSubIDRanges(t *testing.T) {
	f := filepath.Join(t.TempDir(), "subuid")
	uid := strconv.Itoa(os.Geteuid())
	data := "other:100000:65536\n" + uid + ":200000:1000\nbroken:x:1\n" + uid + ":300000:10\n"
	if err := os.WriteFile(f, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	got := subIDRanges(f, os.Geteuid())
	if len(got) != 2 || got[0] != [2]uint64{200000, 1000} || got[1] != [2]uint64{300000, 10} {
		t.Errorf("subIDRanges = %v", got)
	}
	if got := subIDRanges(filepath.Join(t.TempDir(), "none"), os.Geteuid()); got != nil {
		t.Errorf("a missing file: %v", got)
	}
}

// TestCheckCreatableInRoot: the namespace's root may create a directory
// where the owner and group are mapped, or anyone may write.
func TestCheckCreatableInRoot(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"mine", "open"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(dir, "open"), 0o777)
	root, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	mapped := &specs.Linux{UIDMappings: []specs.LinuxIDMapping{{HostID: uid, Size: 1}}, GIDMappings: []specs.LinuxIDMapping{{HostID: gid, Size: 1}}}
	other := &specs.Linux{UIDMappings: []specs.LinuxIDMapping{{HostID: uid + 1, Size: 1}}, GIDMappings: []specs.LinuxIDMapping{{HostID: gid + 1, Size: 1}}}
	tests := []struct {
		path string
		l    *specs.Linux
		ok   bool
	}{
		{"/mine/new/deeper", mapped, true},
		{"/mine/new", other, false},
		{"/mine", other, true}, // it exists
		{"/open/new", other, true},
	}
	for _, tc := range tests {
		err := creatableInRoot(root, tc.path, tc.l)
		if (err == nil) != tc.ok || (err != nil && !strings.Contains(err.Error(), "does not map")) {
			t.Errorf("creatableInRoot(%s): %v, want ok=%v", tc.path, err, tc.ok)
		}
	}
}
