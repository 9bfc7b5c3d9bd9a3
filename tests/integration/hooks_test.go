package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hookScript writes an executable /bin/sh script at path.
func hookScript(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestHooksLifecycle: every kind of hook runs once, in lifecycle order,
// with the state on stdin (the status the spec gives at that point),
// its own args and env, and in the namespace the spec says: the runtime's
// for prestart, createRuntime, poststart and poststop, the container's
// for createContainer (before pivot_root, so the path is the host's)
// and startContainer (inside the container).
func TestHooksLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	log := t.TempDir()
	os.Chmod(log, 0o777)
	host := filepath.Join(t.TempDir(), "hook.sh")
	// Each run records: the order, the mount namespace, args, env, stdin.
	hookScript(t, host, `kind=$1; echo "$kind $(readlink /proc/self/ns/mnt) args=$* foo=$FOO n=$(env | grep -v -e '^PWD=' -e '^SHLVL=' -e '^_=' -e '^OLDPWD=' | wc -l)" >> `+log+`/order; cat > `+log+`/$kind.json`)
	hookScript(t, filepath.Join(b.rootfs(), "hook.sh"), `echo "startContainer $(readlink /proc/self/ns/mnt) args=$* foo=$FOO" >> /out/order; cat > /out/startContainer.json`)
	b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/out", Type: "bind", Source: log, Options: []string{"rbind"}})
	b.Spec.Annotations = map[string]string{"hook.test": "yes"}
	hook := func(kind string) specs.Hook {
		return specs.Hook{Path: host, Args: []string{"hook.sh", kind, "extra"}, Env: []string{"FOO=" + kind}}
	}
	b.Spec.Hooks = &specs.Hooks{
		Prestart:        []specs.Hook{hook("prestart")},
		CreateRuntime:   []specs.Hook{hook("createRuntime")},
		CreateContainer: []specs.Hook{hook("createContainer")},
		StartContainer:  []specs.Hook{{Path: "/hook.sh", Args: []string{"hook.sh", "startContainer"}, Env: []string{"FOO=in"}}},
		Poststart:       []specs.Hook{hook("poststart")},
		Poststop:        []specs.Hook{hook("poststop")},
	}
	e.runIn(b, "echo process >> /out/order")
	data, _ := os.ReadFile(filepath.Join(log, "order"))
	var kinds []string
	hostMnt, _ := os.Readlink("/proc/self/ns/mnt")
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		kinds = append(kinds, f[0])
		if f[0] == "process" {
			continue
		}
		inHost := f[1] == hostMnt
		switch f[0] {
		case "createContainer", "startContainer":
			if inHost {
				t.Errorf("%s ran in the host's mount namespace", f[0])
			}
		default:
			if !inHost {
				t.Errorf("%s ran in mount namespace %s, not the runtime's %s", f[0], f[1], hostMnt)
			}
		}
		if f[0] != "startContainer" && (!strings.Contains(line, "args="+f[0]+" extra") || !strings.Contains(line, "foo="+f[0]) || !strings.Contains(line, "n=1")) {
			t.Errorf("%s: args or env not exactly the hook's: %s", f[0], line)
		}
	}
	want := "prestart createRuntime createContainer startContainer process poststart poststop"
	// poststart runs once the process was exec'd: it may come before or
	// after the process's own line.
	got := strings.Join(kinds, " ")
	if got != want && got != strings.Replace(want, "process poststart", "poststart process", 1) {
		t.Errorf("hook order:\n got %s\nwant %s", got, want)
	}
	wantStatus := map[string]string{"prestart": "creating", "createRuntime": "creating", "createContainer": "creating",
		"startContainer": "created", "poststart": "running", "poststop": "stopped"}
	for kind, status := range wantStatus {
		var st specs.State
		raw, _ := os.ReadFile(filepath.Join(log, kind+".json"))
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Errorf("%s: state on stdin %q: %v", kind, raw, err)
			continue
		}
		if string(st.Status) != status || st.ID == "" || st.Bundle != b.Dir || st.Annotations["hook.test"] != "yes" {
			t.Errorf("%s: state %+v, want status %s, bundle %s", kind, st, status, b.Dir)
		}
		if (status == "stopped") != (st.Pid == 0) {
			t.Errorf("%s: pid %d with status %s", kind, st.Pid, status)
		}
	}
}

// TestHooksFailures: a failing or timed-out create hook fails create with
// the hook's reason and leaves nothing but what poststop saw; failing
// poststart and poststop hooks are warnings only.
func TestHooksFailures(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fail := filepath.Join(dir, "fail.sh")
	hookScript(t, fail, `echo "boom from $1" >&2; exit 3`)
	slow := filepath.Join(dir, "slow.sh")
	hookScript(t, slow, `sleep 30`)
	poststop := filepath.Join(dir, "poststop.sh")
	ran := filepath.Join(dir, "poststop-ran")
	hookScript(t, poststop, "touch "+ran)
	one := 1
	cases := []struct {
		name  string
		hooks specs.Hooks
		want  []string
	}{
		{"createRuntime fails", specs.Hooks{CreateRuntime: []specs.Hook{{Path: fail, Args: []string{"fail", "cr"}}}},
			[]string{"hooks.createRuntime[0]", "exit status 3", "boom from cr"}},
		{"prestart times out", specs.Hooks{Prestart: []specs.Hook{{Path: slow, Timeout: &one}}},
			[]string{"hooks.prestart[0]", "timed out after 1s"}},
		{"createContainer fails", specs.Hooks{CreateContainer: []specs.Hook{{Path: fail, Args: []string{"fail", "cc"}}}},
			[]string{"hooks.createContainer[0]", "boom from cc"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			mark := ran + "-" + strings.ReplaceAll(tc.name, " ", "-")
			h := tc.hooks
			h.Poststop = []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "touch " + mark}}}
			b.Spec.Hooks = &h
			b.save()
			id := newID(t)
			r := e.husk("run", "--bundle", b.Dir, id)
			for _, w := range tc.want {
				if r.Code == 0 || !strings.Contains(r.Stderr, w) {
					t.Errorf("exit %d, stderr %q: want %q", r.Code, r.Stderr, w)
				}
			}
			if n := strings.Count(strings.TrimSpace(r.Stderr), "\n"); n != 0 {
				t.Errorf("want one line on stderr, got %q", r.Stderr)
			}
			if _, err := os.Stat(mark); err != nil {
				t.Errorf("poststop did not run after the failed create")
			}
			e.checkGone(id, b)
		})
	}
	// startContainer failing: start fails with the reason, the process never runs.
	t.Run("startContainer fails", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := newBundle(t)
		out := bindOut(t, b)
		hookScript(t, filepath.Join(b.rootfs(), "fail.sh"), `echo "no start" >&2; exit 1`)
		b.Spec.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/fail.sh"}}}
		b.Spec.Process.Args = []string{"touch", "/out/ran"}
		b.save()
		id := newID(t)
		r := e.husk("run", "--bundle", b.Dir, id)
		if r.Code == 0 || !strings.Contains(r.Stderr, "hooks.startContainer[0]") || !strings.Contains(r.Stderr, "no start") {
			t.Errorf("exit %d, stderr %q", r.Code, r.Stderr)
		}
		if _, err := os.Stat(filepath.Join(out, "ran")); err == nil {
			t.Error("the process ran although startContainer failed")
		}
		e.checkGone(id, b)
	})
	// poststart and poststop failing: warnings, the hooks after the
	// failing one still run, the container runs and goes.
	t.Run("poststart and poststop fail", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := newBundle(t)
		marks := t.TempDir()
		touch := func(name string) specs.Hook {
			return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "touch " + filepath.Join(marks, name)}}
		}
		b.Spec.Hooks = &specs.Hooks{
			Poststart: []specs.Hook{{Path: fail, Args: []string{"fail", "ps"}}, touch("poststart-1")},
			Poststop:  []specs.Hook{{Path: fail, Args: []string{"fail", "pst"}}, touch("poststop-1")},
		}
		b.Spec.Process.Args = []string{"sh", "-c", "echo ok"}
		b.save()
		id := newID(t)
		r := e.husk("run", "--bundle", b.Dir, id)
		if r.Code != 0 || r.Stdout != "ok\n" || !strings.Contains(r.Stderr, "boom from ps") || !strings.Contains(r.Stderr, "boom from pst") {
			t.Errorf("exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
		}
		for _, m := range []string{"poststart-1", "poststop-1"} {
			if _, err := os.Stat(filepath.Join(marks, m)); err != nil {
				t.Errorf("the hook after the failing one did not run: %v", err)
			}
		}
		e.checkGone(id, b)
	})
	// Bad hook definitions are config errors with their path.
	t.Run("validation", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := newBundle(t)
		zero := 0
		for path, h := range map[string]specs.Hooks{
			"hooks.prestart[0].path":      {Prestart: []specs.Hook{{Path: "rel/hook"}}},
			"hooks.poststop[1].timeout":   {Poststop: []specs.Hook{{Path: "/bin/true"}, {Path: "/bin/true", Timeout: &zero}}},
			"hooks.createRuntime[0].path": {CreateRuntime: []specs.Hook{{Path: ""}}},
		} {
			h := h
			b.Spec.Hooks = &h
			b.save()
			id := newID(t)
			if r := e.husk("create", "--bundle", b.Dir, id); r.Code == 0 || !strings.Contains(r.Stderr, path) {
				t.Errorf("%s: exit %d, %q", path, r.Code, r.Stderr)
			}
			e.checkGone(id, b)
		}
	})
}
