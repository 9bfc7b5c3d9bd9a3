package integration

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestIdmappedMounts: in a container whose root is host uid 100000, a
// host directory owned by root shows as nobody's through a plain bind,
// and as root's through an idmapped bind (mounts[].uidMappings, or the
// "idmap" option with the container's own mappings): files read and
// written there are the container root's, and land on disk as host root's.
func TestIdmappedMounts(t *testing.T) {
	t.Parallel()
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	cases := []struct {
		name    string
		mount   specs.Mount
		wantUID string
	}{
		{"plain bind", specs.Mount{Type: "bind", Options: []string{"rbind"}}, "65534:65534"},
		{"uidMappings", specs.Mount{Type: "bind", Options: []string{"rbind"}, UIDMappings: maps, GIDMappings: maps}, "0:0"},
		{"idmap option", specs.Mount{Type: "bind", Options: []string{"rbind", "idmap"}}, "0:0"},
		{"ridmap option", specs.Mount{Type: "bind", Options: []string{"rbind", "ridmap"}}, "0:0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			nsTraversable(t, b)
			host := t.TempDir()
			if tc.wantUID == "0:0" {
				skipUnlessIdmappable(t, host)
			}
			os.Chmod(host, 0o755)
			os.Chmod(filepath.Dir(host), 0o755)
			os.WriteFile(filepath.Join(host, "file"), []byte("hi"), 0o644)
			os.Mkdir(filepath.Join(b.rootfs(), "data"), 0o755) // the container root may not create it
			b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			b.Spec.Linux.UIDMappings, b.Spec.Linux.GIDMappings = maps, maps
			m := tc.mount
			m.Destination, m.Source = "/data", host
			b.Spec.Mounts = append(b.Spec.Mounts, m)
			out := e.runIn(b, "stat -c %u:%g /data/file; touch /data/new 2>/dev/null && echo wrote; true")
			if !strings.HasPrefix(out, tc.wantUID+"\n") {
				t.Errorf("owner inside: %q, want %s", out, tc.wantUID)
			}
			wrote := strings.Contains(out, "wrote")
			if wrote != (tc.wantUID == "0:0") {
				t.Errorf("write through the mount: %v (output %q)", wrote, out)
			}
			if wrote {
				fi, err := os.Stat(filepath.Join(host, "new"))
				if err != nil {
					t.Fatal(err)
				}
				if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || st.Gid != 0 {
					t.Errorf("file written through the idmapped mount is %d:%d on disk, want 0:0", st.Uid, st.Gid)
				}
			}
		})
	}
	t.Run("validation", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := newBundle(t)
		for want, m := range map[string]specs.Mount{
			"mounts[7]: idmapped mounts are supported for bind mounts only":  {Destination: "/x", Type: "tmpfs", Source: "tmpfs", UIDMappings: maps, GIDMappings: maps},
			"mounts[7].uidMappings: uidMappings and gidMappings go together": {Destination: "/x", Type: "bind", Source: "/tmp", Options: []string{"bind"}, UIDMappings: maps},
			"mounts[7].options: idmap without mounts[].uidMappings":          {Destination: "/x", Type: "bind", Source: "/tmp", Options: []string{"bind", "idmap"}},
		} {
			b.Spec.Mounts = append(b.Spec.Mounts[:7:7], m)
			b.save()
			id := newID(t)
			if r := e.husk("create", "--bundle", b.Dir, id); r.Code == 0 || !strings.Contains(r.Stderr, want) {
				t.Errorf("exit %d, %q, want %q", r.Code, r.Stderr, want)
			}
			e.checkGone(id, b)
		}
	})
}

// skipUnlessIdmappable skips where dir's filesystem takes no idmapped
// mounts: tmpfs gained them in Linux 6.3 (the test VM's /tmp is a tmpfs
// on 6.1). husk's own refusal there is its "invalid argument" error.
func skipUnlessIdmappable(t *testing.T, dir string) {
	t.Helper()
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Type == unix.TMPFS_MAGIC && !kernelAtLeast(6, 3) {
		t.Skip("tmpfs takes idmapped mounts from Linux 6.3 on")
	}
}
