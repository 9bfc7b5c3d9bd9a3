package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNamespacesNoneInherited gives a container no namespace at all (what
// runtime-tools' linux_ns_itype does): each is the runtime's own, the
// mount namespace included, yet the process sees its rootfs with its
// mounts (chrooted into a private bind of rootfs in the host's mount
// namespace), root.readonly stays on that bind, and run, exec, delete
// and a failed create leave no mount behind.
func TestNamespacesNoneInherited(t *testing.T) {
	t.Parallel()
	host := map[string]string{}
	for _, name := range nsProcNames {
		host[name] = nsLinkOf(t, 0, name)
	}
	newNoNS := func(t *testing.T) (*env, *bundle) {
		e := newEnv(t)
		b := newBundle(t)
		b.Spec.Linux.Namespaces = nil
		b.Spec.Hostname = ""
		b.Spec.Root.Readonly = true
		return e, b
	}

	t.Run("run", func(t *testing.T) {
		t.Parallel()
		e, b := newNoNS(t)
		out := e.runIn(b, nsShowScript+`; echo root $(ls /); echo "proc $(cat /proc/self/comm)"`+
			`; touch /x 2>/dev/null && echo "root writable" || echo "root read-only"`)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(nsProcNames)+3 {
			t.Fatalf("unexpected output:\n%s", out)
		}
		links := nsParseLinks(t, strings.Join(lines[:len(nsProcNames)], "\n"))
		for name, link := range links {
			if link != host[name] {
				t.Errorf("%s namespace: container %s, want the runtime's %s", name, link, host[name])
			}
		}
		rest := strings.Join(lines[len(nsProcNames):], "\n")
		for _, want := range []string{"root bin", "proc cat", "root read-only"} {
			if !strings.Contains(rest, want) {
				t.Errorf("container printed %q, want a line with %q", rest, want)
			}
		}
		// root.readonly applied to the container's bind of rootfs only.
		if err := os.WriteFile(filepath.Join(b.rootfs(), "after"), nil, 0o644); err != nil {
			t.Errorf("rootfs read-only on the host after the container: %v", err)
		}
	})

	t.Run("exec", func(t *testing.T) {
		t.Parallel()
		e, b := newNoNS(t)
		b.Spec.Process.Args = []string{"sleep", "60"}
		b.save()
		id := newID(t)
		lcCreate(e, b, id)
		lcMust(e, "start", id)
		if m := mountsUnder(t, b.rootfs()); len(m) == 0 {
			t.Errorf("no mount under %s while the container runs", b.rootfs())
		}
		if out := lcMust(e, "exec", id, "ls", "/"); !strings.Contains(out, "bin") || strings.Contains(out, "work") {
			t.Errorf("exec's ls / printed %q, want the container's rootfs", out)
		}
		if out := lcMust(e, "exec", id, "readlink", "/proc/self/ns/mnt"); strings.TrimSpace(out) != host["mnt"] {
			t.Errorf("exec's mount namespace %q, want the runtime's %s", out, host["mnt"])
		}
		lcMust(e, "delete", "--force", id)
		e.checkGone(id, b)
	})

	t.Run("failed create", func(t *testing.T) {
		t.Parallel()
		e, b := newNoNS(t)
		b.Spec.Process.Args = []string{"/no/such/program"}
		b.save()
		id := newID(t)
		lcCleanup(e, id)
		lcFails(t, "create", lcHusk(e, "", "create", "--bundle", b.Dir, id), "/no/such/program")
		e.checkGone(id, b)
	})

	t.Run("user namespace refused", func(t *testing.T) {
		t.Parallel()
		e, b := newNoNS(t)
		nsAddUserNS(b)
		b.save()
		id := newID(t)
		lcCleanup(e, id)
		lcFails(t, "create", lcHusk(e, "", "create", "--bundle", b.Dir, id),
			"linux.namespaces", "a new user namespace needs a mount namespace")
		e.checkGone(id, b)
	})
}
