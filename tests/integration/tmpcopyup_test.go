package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestTmpcopyup: a tmpfs with tmpcopyup (podman's --tmpfs and --read-only)
// starts with a copy of what it covers, kept with types, modes and
// owners, is writable on a read-only root, and leaves the rootfs alone.
func TestTmpcopyup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	dir := filepath.Join(b.rootfs(), "data")
	os.MkdirAll(filepath.Join(dir, "sub"), 0o750)
	os.WriteFile(filepath.Join(dir, "sub", "file"), []byte("original"), 0o666)
	os.Chown(filepath.Join(dir, "sub", "file"), 1000, 1000)
	os.Chmod(filepath.Join(dir, "sub", "file"), 0o666) // the default capabilities have no DAC override
	os.Symlink("sub/file", filepath.Join(dir, "link"))
	b.Spec.Root.Readonly = true
	b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/data", Type: "tmpfs", Source: "tmpfs",
		Options: []string{"tmpcopyup", "nosuid", "size=4m", "mode=1777"}})
	out := e.runIn(b, "cat /data/link; stat -c '%a %u:%g %F' /data/sub /data/sub/file /data/link; "+
		"echo changed > /data/sub/file && cat /data/sub/file; grep ' /data ' /proc/self/mountinfo")
	want := []string{"original", "750 0:0 directory", "666 1000:1000 regular file", "symbolic link", "changed", "tmpfs", "nosuid", "size=4096k"}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("want %q in:\n%s", w, out)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "sub", "file")); string(data) != "original" {
		t.Errorf("the rootfs copy changed: %q", data)
	}
}
