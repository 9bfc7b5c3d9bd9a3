package integration

// A create that fails says why, naming the config field or the init
// step, in the words engines match, and leaves nothing behind: no state
// dir, no cgroup, no mount, no process, no pid file.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestErrorsCreateFailsCleanly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(t *testing.T, b *bundle) // may write config.json itself
		wants  []string
	}{
		{"bad JSON", func(t *testing.T, b *bundle) {
			os.WriteFile(filepath.Join(b.Dir, "config.json"),
				[]byte("{\n  \"ociVersion\": \"1.3.0\",\n  \"process\": {\n    \"args\": [\"sh\",]\n  }\n}\n"), 0o644)
		}, []string{"config.json", "line 4, column 19"}},
		{"truncated JSON", func(t *testing.T, b *bundle) {
			os.WriteFile(filepath.Join(b.Dir, "config.json"), []byte("{\n  \"ociVersion\": \"1.3.0\",\n"), 0o644)
		}, []string{"config.json", "line 3"}},
		{"no config.json", func(t *testing.T, b *bundle) {
			os.Remove(filepath.Join(b.Dir, "config.json"))
		}, []string{"config.json", "no such file or directory"}},
		{"unknown namespace type", func(t *testing.T, b *bundle) {
			b.Spec.Linux.Namespaces[2].Type = "ipcns"
			b.save()
		}, []string{`linux.namespaces[2].type: "ipcns"`, "unknown namespace type"}},
		{"missing rootfs", func(t *testing.T, b *bundle) {
			b.Spec.Root.Path = "no-rootfs"
			b.save()
		}, []string{"root.path: " + "BUNDLE/no-rootfs: no such file or directory"}},
		{"bad namespace path", func(t *testing.T, b *bundle) {
			lcNamespace(t, b, specs.NetworkNamespace).Path = "/proc/4194305/ns/net" // above the largest pid_max
			b.save()
		}, []string{"linux.namespaces[1].path: /proc/4194305/ns/net: no such file or directory"}},
		{"namespace path of the wrong type", func(t *testing.T, b *bundle) {
			lcNamespace(t, b, specs.NetworkNamespace).Path = "/proc/self/ns/ipc"
			b.save()
		}, []string{"linux.namespaces[1].path", "ipc", "network"}},
		{"entrypoint not in PATH", func(t *testing.T, b *bundle) {
			b.Spec.Process.Args = []string{"no-such-program", "arg"}
			b.save()
		}, []string{`"no-such-program"`, "executable file not found in $PATH"}},
		{"absolute entrypoint missing", func(t *testing.T, b *bundle) {
			b.Spec.Process.Args = []string{"/usr/bin/no-such-program"}
			b.save()
		}, []string{"/usr/bin/no-such-program", "no such file or directory"}},
		{"entrypoint not executable", func(t *testing.T, b *bundle) {
			os.WriteFile(filepath.Join(b.rootfs(), "bin", "script"), []byte("#!/bin/sh\n"), 0o644)
			b.Spec.Process.Args = []string{"/bin/script"}
			b.save()
		}, []string{"/bin/script", "permission denied"}},
		{"entrypoint in PATH not executable", func(t *testing.T, b *bundle) {
			os.WriteFile(filepath.Join(b.rootfs(), "bin", "script"), []byte("#!/bin/sh\n"), 0o644)
			b.Spec.Process.Args = []string{"script"}
			b.save()
		}, []string{"script", "permission denied"}},
		{"entrypoint is a directory", func(t *testing.T, b *bundle) {
			b.Spec.Process.Args = []string{"/etc"}
			b.save()
		}, []string{"/etc", "permission denied"}},
		{"relative cwd", func(t *testing.T, b *bundle) {
			b.Spec.Process.Cwd = "tmp"
			b.save()
		}, []string{"process.cwd", `"tmp"`, "absolute"}},
		{"cwd is a file", func(t *testing.T, b *bundle) {
			b.Spec.Process.Cwd = "/etc/passwd"
			b.save()
		}, []string{"/etc/passwd", "not a directory"}},
		{"cwd not enterable by the user", func(t *testing.T, b *bundle) {
			os.Chmod(filepath.Join(b.rootfs(), "root"), 0o700)
			b.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
			b.Spec.Process.Cwd = "/root"
			b.save()
		}, []string{"/root", "permission denied"}},
		{"cwd below a file", func(t *testing.T, b *bundle) {
			b.Spec.Process.Cwd = "/etc/passwd/sub"
			b.save()
		}, []string{"/etc/passwd/sub", "not a directory"}},
		{"no process.args", func(t *testing.T, b *bundle) {
			b.Spec.Process.Args = nil
			b.save()
		}, []string{"process.args"}},
		{"failing hook", func(t *testing.T, b *bundle) {
			b.Spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/false"}}}
			b.save()
		}, []string{"hooks.createRuntime[0]: running /bin/false", "exit status 1"}},
		{"seccomp", func(t *testing.T, b *bundle) {
			b.Spec.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_SOMETIMES"}
			b.save()
		}, []string{"linux.seccomp.defaultAction", "unknown action"}},
		{"bind source missing", func(t *testing.T, b *bundle) {
			b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "/no/such/source", Options: []string{"rbind"}})
			b.save()
		}, []string{"/data", "/no/such/source", "no such file or directory"}},
		{"mount fails after others", func(t *testing.T, b *bundle) {
			b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/data", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=lots"}})
			b.save()
		}, []string{"/data", "tmpfs", "invalid argument"}},
	}
	for _, tc := range tests {
		for _, cmd := range []string{"create", "run"} {
			t.Run(tc.name+"/"+cmd, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				b := newBundle(t)
				tc.mutate(t, b)
				id := newID(t)
				lcCleanup(e, id)
				pidFile := filepath.Join(t.TempDir(), "init.pid")
				r := lcHusk(e, "", cmd, "--bundle", b.Dir, "--pid-file", pidFile, id)
				var wants []string
				for _, w := range tc.wants {
					wants = append(wants, strings.ReplaceAll(w, "BUNDLE", b.Dir))
				}
				lcFails(t, cmd, r, wants...)
				if strings.Contains(r.Stderr, "\n\t") || strings.Contains(r.Stderr, "goroutine") {
					t.Errorf("%s: stderr %q", cmd, r.Stderr)
				}
				if _, err := os.Stat(pidFile); err == nil {
					t.Errorf("%s failed but wrote the pid file", cmd)
				}
				lcGone(e, id, b)
				if r := lcHusk(e, "", "state", id); r.Code == 0 {
					t.Errorf("state of the failed container succeeded: %s", r.Stdout)
				}
			})
		}
	}
}

func lcNamespace(t *testing.T, b *bundle, typ specs.LinuxNamespaceType) *specs.LinuxNamespace {
	t.Helper()
	for i := range b.Spec.Linux.Namespaces {
		if b.Spec.Linux.Namespaces[i].Type == typ {
			return &b.Spec.Linux.Namespaces[i]
		}
	}
	t.Fatalf("no %s namespace in the default config", typ)
	return nil
}

// Bad ids are refused by every command before anything is created or
// touched: ids are path components of the state root and the cgroup.
func TestErrorsBadIDs(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	e := newEnv(t)
	e.root = filepath.Join(base, "root") // does not exist yet
	b := newBundle(t)
	b.Spec.Process.Args = []string{"sleep", "100"}
	b.save()
	// A victim beside the root, shaped like a container, that a path
	// escape would find.
	victim := filepath.Join(base, "victim")
	os.MkdirAll(victim, 0o700)
	os.WriteFile(filepath.Join(victim, "state.json"), []byte(`{"id":"victim","pid":1}`), 0o600)

	for _, tc := range []struct{ name, id string }{
		{"dotdot", ".."},
		{"dot", "."},
		{"escape", "../victim"},
		{"inner dotdot", "a..b"},
		{"slash", "a/b"},
		{"absolute", "/tmp/x"},
		{"empty", ""},
		{"tab", "a\tb"},
		{"newline", "a\nb"},
		{"escape char", "a\x1b[31mred"},
		{"DEL", "a\x7f"},
		{"space", "a b"},
		{"leading dash", "-rf"},
		{"over-long", strings.Repeat("x", 1025)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, args := range [][]string{
				{"create", "--bundle", b.Dir, tc.id},
				{"run", "--bundle", b.Dir, tc.id},
				{"run", "-d", "--bundle", b.Dir, tc.id},
				{"state", tc.id},
				{"start", tc.id},
				{"kill", tc.id, "KILL"},
				{"delete", tc.id},
				{"delete", "--force", tc.id},
			} {
				if tc.id == "-rf" {
					args = append(args[:len(args)-1], "--", tc.id) // else it is a flag
					if args[0] == "kill" {
						args = []string{"kill", "--", tc.id, "KILL"}
					}
				}
				r := lcHusk(e, "", args...)
				what := args[0] + " " + args[1]
				if r.Code == 0 {
					t.Errorf("%s with id %q succeeded", what, tc.id)
					continue
				}
				line := lcOneLine(t, what, r.Stderr)
				if !strings.Contains(line, "container id") {
					t.Errorf("%s with id %q: %q, want it to be about the container id", what, tc.id, line)
				}
				if strings.ContainsAny(line, "\t\x1b\x7f") {
					t.Errorf("%s: error %q echoes control characters raw", what, line)
				}
			}
			if _, err := os.Stat(e.root); err == nil {
				entries, _ := os.ReadDir(e.root)
				t.Errorf("state root created or filled for a refused id: %d entries", len(entries))
			}
			if tc.id != "" && !strings.Contains(tc.id, "..") && tc.id != "." {
				first := strings.Split(strings.TrimPrefix(tc.id, "/"), "/")[0]
				for _, p := range []string{filepath.Join(unifiedRoot(), "husk", first), filepath.Join(unifiedRoot(), "husk", tc.id)} {
					if _, err := os.Stat(p); err == nil {
						t.Errorf("cgroup %s created for a refused id", p)
					}
				}
			}
			if _, err := os.Stat(filepath.Join(victim, "state.json")); err != nil {
				t.Fatalf("a command with id %q removed a directory outside the state root: %v", tc.id, err)
			}
		})
	}
}

// Ids longer than a file name may be are refused before anything is made.
func TestErrorsIDTooLongForAFileName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Process.Args = []string{"sleep", "100"}
	b.save()
	id := strings.Repeat("y", 300)
	lcCleanup(e, id)
	r := lcHusk(e, "", "create", "--bundle", b.Dir, id)
	lcFails(t, "create", r, "longer than 255 bytes")
	lcGone(e, id, b)
	if entries, _ := os.ReadDir(e.root); len(entries) != 0 {
		t.Errorf("state root holds %d entries", len(entries))
	}
}
