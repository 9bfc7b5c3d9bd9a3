package integration

// The container life cycle as engines drive it: create → start → stopped
// → delete, run in the foreground and detached, kill, delete, list, and
// commands racing on one container. Each step is checked on the live
// system: the init's pid, namespaces and mounts, files the container
// writes into a bound host directory, the cgroup's processes.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// create returns only once init is in its namespaces with its rootfs
// mounted, and before the user process runs; start runs it.
func TestLifecycleCreateIsReadyStartRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	tmp := lcBindDir(b, "/tmp")
	lcScript(b, "touch /tmp/ran; while [ ! -e /tmp/stop ]; do sleep 0.05; done")
	id := newID(t)
	pidFile := filepath.Join(t.TempDir(), "init.pid")
	lcCreate(e, b, id, "--pid-file", pidFile)

	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	pid, err := strconv.Atoi(string(data))
	if err != nil || pid <= 0 {
		t.Fatalf("pid file holds %q, want a decimal pid", data)
	}
	st := lcState(e, id)
	if st["status"] != "created" {
		t.Errorf("status after create: %v, want created", st["status"])
	}
	if got, _ := st["pid"].(float64); int(got) != pid {
		t.Errorf("state pid %v, pid file %d", st["pid"], pid)
	}
	if !pidAlive(pid) {
		t.Fatalf("init %d is not alive after create", pid)
	}
	// Already in its own namespaces...
	for _, ns := range []string{"mnt", "pid", "net", "ipc", "uts", "cgroup"} {
		host, _ := os.Readlink("/proc/self/ns/" + ns)
		got, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/" + ns)
		if err != nil || got == host {
			t.Errorf("init's %s namespace is %q (err %v), the host's is %q: want a new one", ns, got, err, host)
		}
	}
	// ...in its cgroup...
	if !lcInCgroupOf(pid, id) {
		cg, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
		t.Errorf("init is not in the container's cgroup:\n%s", cg)
	}
	// ...with its root filesystem built and pivoted into.
	if fi, err := os.Stat("/proc/" + strconv.Itoa(pid) + "/root"); err != nil || !os.SameFile(fi, lcStat(t, b.rootfs())) {
		t.Errorf("init's root directory is not the bundle's rootfs")
	}
	mounts := lcMountinfo(t, pid)
	for dest, fstype := range map[string]string{"/proc": "proc", "/dev": "tmpfs", "/sys": "sysfs", "/dev/pts": "devpts"} {
		if mounts[dest] != fstype {
			t.Errorf("init's mountinfo: %s is %q, want %s (mounts: %v)", dest, mounts[dest], fstype, mounts)
		}
	}
	if _, ok := mounts["/tmp"]; !ok {
		t.Errorf("init's mountinfo has no bind mount at /tmp: %v", mounts)
	}
	// The user process has not run.
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(tmp, "ran")); err == nil {
		t.Fatal("the user process ran before start")
	}
	if cmd := lcCmdline(pid); strings.HasPrefix(cmd, "sh ") {
		t.Errorf("init already exec'd the entrypoint before start: %q", cmd)
	}

	lcMust(e, "start", id)
	// start returns once the entrypoint is exec'd, not merely requested.
	if cmd := lcCmdline(pid); !strings.HasPrefix(cmd, "sh -c touch") {
		t.Errorf("right after start, init runs %q, want the entrypoint", cmd)
	}
	lcWaitFile(t, filepath.Join(tmp, "ran"))
	if st := lcState(e, id); st["status"] != "running" || int(st["pid"].(float64)) != pid {
		t.Errorf("after start: status %v pid %v, want running %d", st["status"], st["pid"], pid)
	}

	// The process exits by itself: stopped, pid 0.
	os.WriteFile(filepath.Join(tmp, "stop"), nil, 0o644)
	lcWaitStatus(e, id, "stopped")
	if st := lcState(e, id); st["pid"] != float64(0) {
		t.Errorf("stopped container reports pid %v, want 0", st["pid"])
	}
	lcMust(e, "delete", id)
	lcGone(e, id, b, pid)
}

func lcStat(t *testing.T, path string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

// lcMountinfo maps each mount point of pid to its filesystem type.
func lcMountinfo(t *testing.T, pid int) map[string]string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		fields, after := strings.Fields(pre), strings.Fields(post)
		if ok && len(fields) > 4 && len(after) > 0 {
			m[fields[4]] = after[0]
		}
	}
	return m
}

// The pid file: the decimal pid and nothing else, written atomically,
// relative paths taken from husk's working directory.
func TestLifecyclePidFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Process.Args = []string{"sleep", "100"}
	b.save()
	cwd := t.TempDir()
	id := newID(t)
	lcCleanup(e, id)
	if r := lcHusk(e, cwd, "create", "--bundle", b.Dir, "--pid-file", "init.pid", id); r.Code != 0 {
		t.Fatalf("create with a relative pid file: %d %s", r.Code, r.Stderr)
	}
	data, err := os.ReadFile(filepath.Join(cwd, "init.pid"))
	if err != nil {
		t.Fatalf("relative --pid-file not written in husk's working directory: %v", err)
	}
	if !regexp.MustCompile(`^[1-9][0-9]*$`).Match(data) {
		t.Errorf("pid file holds %q, want only decimal digits (no newline)", data)
	}
	if pid, _ := strconv.Atoi(string(data)); pid != lcPid(e, id) || !pidAlive(pid) {
		t.Errorf("pid file says %s, state says %d", data, lcPid(e, id))
	}
	entries, _ := os.ReadDir(cwd)
	if len(entries) != 1 {
		var names []string
		for _, ent := range entries {
			names = append(names, ent.Name())
		}
		t.Errorf("working directory holds %v, want only init.pid (no temp file left)", names)
	}
	if _, err := os.Stat(filepath.Join(b.Dir, "init.pid")); err == nil {
		t.Error("relative pid file was written in the bundle, not husk's working directory")
	}
}

// state prints exactly the runtime-spec fields plus runc's rootfs,
// created and owner; annotations round-trip.
func TestLifecycleStateFields(t *testing.T) {
	t.Parallel()
	for _, withAnn := range []bool{true, false} {
		name := "annotations"
		if !withAnn {
			name = "no-annotations"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Process.Args = []string{"sleep", "100"}
			ann := map[string]string{"org.example.key": "value with spaces", "io.kubernetes.cri.sandbox-id": "abc", "empty": ""}
			if withAnn {
				b.Spec.Annotations = ann
			}
			b.save()
			id := newID(t)
			before := time.Now()
			lcCreate(e, b, id)
			after := time.Now()
			out := lcMust(e, "state", id)
			var st map[string]json.RawMessage
			if err := json.Unmarshal([]byte(out), &st); err != nil {
				t.Fatalf("state is not JSON: %v\n%s", err, out)
			}
			want := []string{"annotations", "bundle", "created", "id", "ociVersion", "owner", "pid", "rootfs", "status"}
			if !withAnn {
				want = want[1:]
			}
			var keys []string
			for k := range st {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if strings.Join(keys, ",") != strings.Join(want, ",") {
				t.Errorf("state fields %v, want %v", keys, want)
			}
			var s struct {
				OCIVersion  string            `json:"ociVersion"`
				ID          string            `json:"id"`
				Pid         int               `json:"pid"`
				Status      string            `json:"status"`
				Bundle      string            `json:"bundle"`
				Rootfs      string            `json:"rootfs"`
				Created     string            `json:"created"`
				Owner       string            `json:"owner"`
				Annotations map[string]string `json:"annotations"`
			}
			json.Unmarshal([]byte(out), &s)
			if s.OCIVersion != specs.Version || s.ID != id || s.Status != "created" || s.Bundle != b.Dir || s.Rootfs != b.rootfs() || s.Owner != "root" {
				t.Errorf("state %+v: want ociVersion %s, id %s, status created, bundle %s, rootfs %s, owner root",
					s, specs.Version, id, b.Dir, b.rootfs())
			}
			if !pidAlive(s.Pid) {
				t.Errorf("state pid %d is not alive", s.Pid)
			}
			created, err := time.Parse(time.RFC3339, s.Created)
			if err != nil {
				t.Errorf("created %q is not RFC 3339: %v", s.Created, err)
			} else if created.Before(before.Add(-time.Second)) || created.After(after.Add(time.Second)) {
				t.Errorf("created %v is not between %v and %v", created, before, after)
			}
			if withAnn && !lcMapsEqual(s.Annotations, ann) {
				t.Errorf("annotations %v, want %v", s.Annotations, ann)
			}
		})
	}
}

func lcMapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// start works once: not on a running container, not on a stopped one.
func TestLifecycleStartOnlyOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	tmp := lcBindDir(b, "/tmp")
	lcScript(b, "echo x >> /tmp/starts; while [ ! -e /tmp/stop ]; do sleep 0.05; done")
	id := newID(t)
	lcCreate(e, b, id)
	lcMust(e, "start", id)
	lcWaitFile(t, filepath.Join(tmp, "starts"))
	r := lcHusk(e, "", "start", id)
	lcFails(t, "second start", r, "running")
	if st := lcStatus(e, id); st != "running" {
		t.Errorf("after a refused start: status %q, want running", st)
	}
	os.WriteFile(filepath.Join(tmp, "stop"), nil, 0o644)
	lcWaitStatus(e, id, "stopped")
	r = lcHusk(e, "", "start", id)
	lcFails(t, "start of a stopped container", r, "stopped")
	if data, _ := os.ReadFile(filepath.Join(tmp, "starts")); string(data) != "x\n" {
		t.Errorf("the entrypoint ran %d times, want once", strings.Count(string(data), "x"))
	}
	r = lcHusk(e, "", "start", "no-such-"+id)
	lcFails(t, "start of an unknown container", r, "does not exist")
}

// run in the foreground exits with the container's status, 128+N when
// the process was killed by signal N, and leaves nothing behind.
func TestLifecycleRunExitStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		script string
		noPid  bool // without a pid namespace, so sh is not a pid 1 immune to its own signals
		want   int
	}{
		{"zero", "exit 0", false, 0},
		{"three", "exit 3", false, 3},
		{"255", "exit 255", false, 255},
		{"output then exit", "echo out; echo err >&2; exit 42", false, 42},
		{"killed by USR1", "kill -USR1 $$; sleep 5", true, 128 + 10},
		{"killed by KILL", "kill -KILL $$; sleep 5", true, 128 + 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			if tc.noPid {
				var ns []specs.LinuxNamespace
				for _, n := range b.Spec.Linux.Namespaces {
					if n.Type != specs.PIDNamespace {
						ns = append(ns, n)
					}
				}
				b.Spec.Linux.Namespaces = ns
			}
			lcScript(b, tc.script)
			id := newID(t)
			lcCleanup(e, id)
			r := lcHusk(e, "", "run", "--bundle", b.Dir, id)
			if r.Code != tc.want {
				t.Errorf("run %q: exit %d, want %d (stderr %q)", tc.script, r.Code, tc.want, r.Stderr)
			}
			if tc.name == "output then exit" && (r.Stdout != "out\n" || r.Stderr != "err\n") {
				t.Errorf("container output: stdout %q stderr %q, want \"out\\n\" and \"err\\n\" only", r.Stdout, r.Stderr)
			}
			lcGone(e, id, b)
		})
	}
}

// A container killed from outside while `husk run` waits: 128+9.
func TestLifecycleRunKilledFromOutside(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	tmp := lcBindDir(b, "/tmp")
	lcScript(b, "touch /tmp/ready; while :; do sleep 0.1; done")
	id := newID(t)
	lcCleanup(e, id)
	fg := lcStartForeground(e, "run", "--bundle", b.Dir, id)
	lcWaitFile(t, filepath.Join(tmp, "ready"))
	pid := lcPid(e, id)
	lcMust(e, "kill", id, "KILL")
	r := fg.wait(t)
	if r.Code != 137 {
		t.Errorf("run: exit %d, want 137 (stderr %q)", r.Code, r.Stderr)
	}
	lcGone(e, id, b, pid)
}

// Signals sent to `husk run` reach the container's init; its status is
// run's. The entrypoint is pid 1 in its pid namespace, so it only gets
// signals it handles: the script traps them.
func TestLifecycleRunForwardsSignals(t *testing.T) {
	t.Parallel()
	script := `trap 'echo got TERM; exit 7' TERM; trap 'echo got HUP; exit 8' HUP; ` +
		`trap 'echo got INT; exit 9' INT; trap 'echo got USR2; exit 10' USR2; ` +
		`touch /tmp/ready; while :; do sleep 0.1; done`
	for _, tc := range []struct {
		sig  syscall.Signal
		name string
		want int
	}{
		{syscall.SIGTERM, "TERM", 7},
		{syscall.SIGHUP, "HUP", 8},
		{syscall.SIGINT, "INT", 9},
		{syscall.SIGUSR2, "USR2", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			tmp := lcBindDir(b, "/tmp")
			lcScript(b, script)
			id := newID(t)
			lcCleanup(e, id)
			fg := lcStartForeground(e, "run", "--bundle", b.Dir, id)
			lcWaitFile(t, filepath.Join(tmp, "ready"))
			if err := fg.cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			r := fg.wait(t)
			if r.Code != tc.want || !strings.Contains(r.Stdout, "got "+tc.name) {
				t.Errorf("after SIG%s to husk run: exit %d, stdout %q; want %d and \"got %s\" (stderr %q)",
					tc.name, r.Code, r.Stdout, tc.want, tc.name, r.Stderr)
			}
			lcGone(e, id, b)
		})
	}
}

// run --keep leaves a stopped container for delete.
func TestLifecycleRunKeep(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	lcScript(b, "exit 4")
	id := newID(t)
	lcCleanup(e, id)
	r := lcHusk(e, "", "run", "--keep", "--bundle", b.Dir, id)
	if r.Code != 4 {
		t.Fatalf("run --keep: exit %d, want 4 (stderr %q)", r.Code, r.Stderr)
	}
	st := lcState(e, id)
	if st["status"] != "stopped" || st["pid"] != float64(0) {
		t.Errorf("after run --keep: status %v pid %v, want stopped 0", st["status"], st["pid"])
	}
	if ids := strings.Fields(lcMust(e, "list", "-q")); len(ids) != 1 || ids[0] != id {
		t.Errorf("list -q: %v, want [%s]", ids, id)
	}
	lcMust(e, "delete", id)
	lcGone(e, id, b)
}

// run -d returns while the container runs.
func TestLifecycleRunDetached(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	tmp := lcBindDir(b, "/tmp")
	lcScript(b, "touch /tmp/started; while [ ! -e /tmp/stop ]; do sleep 0.05; done")
	id := newID(t)
	start := time.Now()
	lcRunDetached(e, b, id)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("run -d took %v", d)
	}
	pid := lcPid(e, id)
	if st := lcStatus(e, id); st != "running" || !pidAlive(pid) {
		t.Fatalf("after run -d: status %q, init %d alive %v; want running", st, pid, pidAlive(pid))
	}
	lcWaitFile(t, filepath.Join(tmp, "started"))
	os.WriteFile(filepath.Join(tmp, "stop"), nil, 0o644)
	lcWaitStatus(e, id, "stopped")
	lcMust(e, "delete", id)
	lcGone(e, id, b, pid)
}

// kill: SIGTERM by default; names with or without SIG, in any case;
// numbers; real-time names. The container records what it received.
func TestLifecycleKillSignals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	tmp := lcBindDir(b, "/tmp")
	lcScript(b, `for s in HUP INT QUIT USR1 USR2 TERM ALRM WINCH CONT 35 64; do trap "echo $s >> /tmp/sigs" $s; done; `+
		`touch /tmp/ready; while :; do sleep 0.1; done`)
	id := newID(t)
	lcRunDetached(e, b, id)
	lcWaitFile(t, filepath.Join(tmp, "ready"))
	var want []string
	for _, tc := range []struct{ arg, got string }{
		{"", "TERM"},
		{"HUP", "HUP"},
		{"SIGUSR1", "USR1"},
		{"usr2", "USR2"},
		{"sigint", "INT"},
		{"SigAlrm", "ALRM"},
		{"3", "QUIT"},
		{"15", "TERM"},
		{"WINCH", "WINCH"},
		{"RTMIN+1", "35"},
		{"SIGRTMAX", "64"},
	} {
		args := []string{"kill", id}
		if tc.arg != "" {
			args = append(args, tc.arg)
		}
		lcMust(e, args...)
		want = append(want, tc.got)
		ok := waitFor(5*time.Second, func() bool {
			data, _ := os.ReadFile(filepath.Join(tmp, "sigs"))
			return strings.Join(strings.Fields(string(data)), " ") == strings.Join(want, " ")
		})
		if !ok {
			data, _ := os.ReadFile(filepath.Join(tmp, "sigs"))
			t.Fatalf("after kill %q: the container received %q, want %q", tc.arg, strings.Fields(string(data)), want)
		}
	}
	for _, bad := range []string{"SIGFOO", "0", "65", "-9"} {
		r := lcHusk(e, "", "kill", id, bad)
		lcFails(t, "kill "+bad, r, "signal")
	}
	if st := lcStatus(e, id); st != "running" {
		t.Errorf("after trapped signals: status %q, want running", st)
	}
}

// kill --all (and -a) signals every process in the container; without
// it only init is signalled.
func TestLifecycleKillAll(t *testing.T) {
	t.Parallel()
	for _, flag := range []string{"--all", "-a"} {
		t.Run(flag, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			tmp := lcBindDir(b, "/tmp")
			// init (pid 1, no TERM handler) ignores TERM; its children do not.
			lcScript(b, "sleep 1000 & sleep 1000 & touch /tmp/ready; while :; do sleep 0.1; done")
			id := newID(t)
			lcRunDetached(e, b, id)
			lcWaitFile(t, filepath.Join(tmp, "ready"))
			init := lcPid(e, id)
			// A forked child may not have exec'd sleep yet: wait for both.
			var sleepers []int
			waitFor(5*time.Second, func() bool {
				sleepers = nil
				for _, pid := range lcCgroupProcs(t, id) {
					if lcCmdline(pid) == "sleep 1000" {
						sleepers = append(sleepers, pid)
					}
				}
				return len(sleepers) == 2
			})
			if len(sleepers) != 2 {
				t.Fatalf("found %d `sleep 1000` in the container's cgroup, want 2", len(sleepers))
			}
			lcMust(e, "kill", id, "TERM")
			time.Sleep(200 * time.Millisecond)
			for _, pid := range sleepers {
				if !pidAlive(pid) {
					t.Fatalf("kill without %s reached child %d", flag, pid)
				}
			}
			lcMust(e, "kill", flag, id, "TERM")
			if !waitFor(5*time.Second, func() bool { return !pidAlive(sleepers[0]) && !pidAlive(sleepers[1]) }) {
				t.Errorf("kill %s TERM: children %v still alive", flag, sleepers)
			}
			if !pidAlive(init) || lcStatus(e, id) != "running" {
				t.Errorf("kill %s TERM should not end init (it ignores TERM)", flag)
			}
			lcMust(e, "kill", flag, id, "KILL")
			lcWaitStatus(e, id, "stopped")
			if !waitFor(5*time.Second, func() bool { return len(lcCgroupProcs(t, id)) == 0 }) {
				t.Errorf("after kill %s KILL the cgroup still holds %v", flag, lcCgroupProcs(t, id))
			}
			r := lcHusk(e, "", "kill", flag, id, "KILL")
			lcFails(t, "kill "+flag+" of a stopped container", r, "container not running")
			lcMust(e, "delete", id)
			lcGone(e, id, b, init)
		})
	}
}

// kill's errors carry the words engines match.
func TestLifecycleKillErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Process.Args = []string{"true"}
	b.save()
	id := newID(t)
	lcRunDetached(e, b, id)
	lcWaitStatus(e, id, "stopped")
	for _, sig := range []string{"TERM", "KILL", "9"} {
		lcFails(t, "kill of a stopped container", lcHusk(e, "", "kill", id, sig), "container not running")
	}
	lcFails(t, "kill of an unknown container", lcHusk(e, "", "kill", "no-such-"+id, "KILL"), "does not exist")
	lcFails(t, "kill --all of an unknown container", lcHusk(e, "", "kill", "--all", "no-such-"+id, "KILL"), "does not exist")
	lcFails(t, "kill without an id", lcHusk(e, "", "kill"), "container id")
	if st := lcStatus(e, id); st != "stopped" {
		t.Errorf("status %q after failed kills, want stopped", st)
	}
}

// delete refuses a running container and leaves it intact; --force
// kills and removes everything; a created container needs no --force;
// unknown ids: an error, except with --force.
func TestLifecycleDelete(t *testing.T) {
	t.Parallel()
	for _, pidns := range []bool{true, false} {
		name := "pidns"
		if !pidns {
			name = "no-pidns" // children survive init: --force must kill the whole cgroup
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			if !pidns {
				b.Spec.Linux.Namespaces = b.Spec.Linux.Namespaces[1:]
				if b.Spec.Linux.Namespaces[0].Type == specs.PIDNamespace {
					t.Fatal("expected the pid namespace first in husk spec's default")
				}
			}
			tmp := lcBindDir(b, "/tmp")
			lcScript(b, "sleep 1000 & touch /tmp/ready; while :; do sleep 0.1; done")
			id := newID(t)
			lcRunDetached(e, b, id)
			lcWaitFile(t, filepath.Join(tmp, "ready"))
			init := lcPid(e, id)
			procs := lcCgroupProcs(t, id)

			r := lcHusk(e, "", "delete", id)
			lcFails(t, "delete of a running container", r, "running")
			if st := lcStatus(e, id); st != "running" || !pidAlive(init) {
				t.Fatalf("refused delete changed the container: status %q, init alive %v", st, pidAlive(init))
			}
			if _, err := os.Stat(cgroupCandidates(id)[0]); err != nil {
				t.Fatalf("refused delete removed the cgroup: %v", err)
			}
			lcMust(e, "delete", "--force", id)
			lcGone(e, id, b, procs...)
			if r := lcHusk(e, "", "state", id); r.Code == 0 {
				t.Errorf("state after delete --force succeeded: %s", r.Stdout)
			}
		})
	}
	t.Run("created", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := newBundle(t)
		tmp := lcBindDir(b, "/tmp")
		lcScript(b, "touch /tmp/ran")
		id := newID(t)
		lcCreate(e, b, id)
		init := lcPid(e, id)
		lcMust(e, "delete", id)
		lcGone(e, id, b, init)
		if _, err := os.Stat(filepath.Join(tmp, "ran")); err == nil {
			t.Error("deleting a created container ran its process")
		}
	})
	t.Run("unknown", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		lcFails(t, "delete of an unknown id", lcHusk(e, "", "delete", "nope"), "does not exist")
		r := lcHusk(e, "", "delete", "--force", "nope")
		if r.Code != 0 || r.Stderr != "" {
			t.Errorf("delete --force of an unknown id: exit %d, stderr %q; want 0 and silence", r.Code, r.Stderr)
		}
		if r := lcHusk(e, "", "delete", "-f", "nope"); r.Code != 0 {
			t.Errorf("delete -f of an unknown id: exit %d, stderr %q", r.Code, r.Stderr)
		}
	})
}

// list: the table, JSON and quiet forms, empty and with containers.
func TestLifecycleList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.root = filepath.Join(e.root, "not-yet") // list must cope with a missing root
	if out := lcMust(e, "list"); strings.Join(strings.Fields(out), " ") != "ID PID STATUS BUNDLE CREATED OWNER" {
		t.Errorf("empty list: %q, want only the header", out)
	}
	if out := strings.TrimSpace(lcMust(e, "list", "--format", "json")); out != "[]" {
		t.Errorf("empty list --format json: %q, want []", out)
	}
	if out := lcMust(e, "list", "-q"); out != "" {
		t.Errorf("empty list -q: %q", out)
	}

	b := newBundle(t)
	b.Spec.Process.Args = []string{"sleep", "100"}
	b.save()
	created, running := "a-"+newID(t), "b-"+newID(t)
	lcCreate(e, b, created)
	lcRunDetached(e, b, running)
	wantStatus := map[string]string{created: "created", running: "running"}

	lines := strings.Split(strings.TrimRight(lcMust(e, "list"), "\n"), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "ID PID STATUS BUNDLE CREATED OWNER" {
		t.Fatalf("list:\n%s", strings.Join(lines, "\n"))
	}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) != 6 {
			t.Errorf("list row %q: want 6 columns", line)
			continue
		}
		if wantStatus[f[0]] != f[2] || f[1] != strconv.Itoa(lcPid(e, f[0])) || f[3] != b.Dir || f[5] != "root" {
			t.Errorf("list row %q: want id, pid %d, status %s, bundle %s, owner root", line, lcPid(e, f[0]), wantStatus[f[0]], b.Dir)
		}
		if _, err := time.Parse(time.RFC3339, f[4]); err != nil {
			t.Errorf("list row %q: created is not RFC 3339: %v", line, err)
		}
	}

	var states []map[string]any
	out := lcMust(e, "list", "--format", "json")
	if err := json.Unmarshal([]byte(out), &states); err != nil || len(states) != 2 {
		t.Fatalf("list --format json: %v\n%s", err, out)
	}
	for _, st := range states {
		id, _ := st["id"].(string)
		if st["status"] != wantStatus[id] || st["bundle"] != b.Dir || st["ociVersion"] != specs.Version {
			t.Errorf("list --format json entry %v", st)
		}
		if one := lcState(e, id); one["pid"] != st["pid"] || one["created"] != st["created"] {
			t.Errorf("list entry %v differs from state %v", st, one)
		}
	}
	ids := strings.Fields(lcMust(e, "list", "-q"))
	sort.Strings(ids)
	if strings.Join(ids, " ") != created+" "+running {
		t.Errorf("list -q: %v, want [%s %s]", ids, created, running)
	}
}

// Two creates of one id race: one wins, the other says "already exists"
// and does not disturb the winner.
func TestLifecycleConcurrentCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Process.Args = []string{"sleep", "100"}
	b.save()
	for round := 0; round < 3; round++ {
		id := newID(t)
		lcCleanup(e, id)
		results := lcCreateAtOnce(t, e, b, id, 2)
		ok, failed := 0, -1
		for i, r := range results {
			if r.Code == 0 {
				ok++
			} else {
				failed = i
			}
		}
		if ok != 1 || failed < 0 {
			t.Fatalf("round %d: %d creates succeeded, want exactly 1: %+v", round, ok, results)
		}
		lcFails(t, "losing create", results[failed], "already exists")
		pid := lcPid(e, id)
		if st := lcStatus(e, id); st != "created" || !pidAlive(pid) || !lcInCgroupOf(pid, id) {
			t.Errorf("round %d: winner is %q, init %d alive %v", round, st, pid, pidAlive(pid))
		}
		if n := len(lcCgroupProcs(t, id)); n != 1 {
			t.Errorf("round %d: the cgroup holds %d processes, want the one init", round, n)
		}
		lcMust(e, "delete", id)
		lcGone(e, id, b, pid)
	}
}

// start, kill, state and delete --force racing on one container are
// serialised: no crash, every failure is a clean one-line error, at most
// one start succeeds, and the forced delete leaves nothing.
func TestLifecycleConcurrentCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	tmp := lcBindDir(b, "/tmp")
	lcScript(b, "echo x >> /tmp/starts; sleep 100")
	for round := 0; round < 3; round++ {
		id := newID(t)
		lcCreate(e, b, id)
		init := lcPid(e, id)
		cmds := [][]string{
			{"start", id}, {"start", id}, {"start", id},
			{"kill", id, "KILL"}, {"kill", "--all", id, "KILL"}, {"kill", id},
			{"state", id}, {"state", id}, {"list"},
			{"delete", "--force", id}, {"delete", "--force", id}, {"delete", id},
		}
		results := make([]result, len(cmds))
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i, args := range cmds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				r, err := lcRun(e.root, "", args...)
				if err != nil {
					r = result{Code: -1, Stderr: err.Error()}
				}
				results[i] = r
			}()
		}
		close(gate)
		wg.Wait()
		starts := 0
		for i, r := range results {
			what := strings.Join(cmds[i], " ")
			switch {
			case r.Code == 0:
				if cmds[i][0] == "start" {
					starts++
				}
			case r.Code == 1:
				lcOneLine(t, what, r.Stderr)
			default:
				t.Errorf("%s: exit %d: %s", what, r.Code, r.Stderr)
			}
			if strings.Contains(r.Stderr, "panic") || strings.Contains(r.Stderr, "goroutine ") {
				t.Errorf("%s crashed: %s", what, r.Stderr)
			}
			if cmds[i][0] == "delete" && cmds[i][1] == "--force" && r.Code != 0 {
				t.Errorf("%s: exit %d: %s", what, r.Code, r.Stderr)
			}
		}
		if starts > 1 {
			t.Errorf("round %d: %d starts succeeded", round, starts)
		}
		lcGone(e, id, b, init)
		if r := lcHusk(e, "", "state", id); r.Code == 0 {
			t.Errorf("round %d: container still exists after delete --force: %s", round, r.Stdout)
		}
	}
	data, _ := os.ReadFile(filepath.Join(tmp, "starts"))
	if n := strings.Count(string(data), "x"); n > 3 {
		t.Errorf("entrypoints ran %d times in 3 rounds", n)
	}
}

// The state root and each container's directory are private (0700), and
// state.json is not readable by others: it holds the whole config.
func TestLifecycleStateDirModes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.root = filepath.Join(e.root, "fresh", "root")
	b := newBundle(t)
	b.Spec.Process.Args = []string{"sleep", "100"}
	b.save()
	id := newID(t)
	// What husk makes must not depend on the caller's umask: run it with 0.
	lcCleanup(e, id)
	cmd := exec.Command("sh", "-c", `umask 0; exec "$0" "$@"`, huskBin, "--root", e.root, "create", "--bundle", b.Dir, id)
	cmd.Stdout, cmd.Stderr = lcTempFile(t), lcTempFile(t)
	if err := cmd.Run(); err != nil {
		t.Fatalf("create with umask 0: %v: %s", err, lcReadFile(t, cmd.Stderr.(*os.File).Name()))
	}
	for _, dir := range []string{e.root, filepath.Join(e.root, id)} {
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 || !fi.IsDir() {
			t.Errorf("%s: mode %v, want drwx------", dir, fi.Mode())
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != os.Geteuid() {
			t.Errorf("%s: owned by uid %d, want the caller's %d", dir, st.Uid, os.Geteuid())
		}
	}
	// A state root others may write to is refused (TestStateDirOwnership
	// has the rest: owners, container dirs).
	open := filepath.Join(t.TempDir(), "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	oe := &env{t: t, root: open}
	lcCleanup(oe, id+"-open")
	r := lcHusk(oe, "", "create", "--bundle", b.Dir, id+"-open")
	lcFails(t, "create under a 0777 state root", r, open, "mode 0777 gives others access")
	fi, err := os.Stat(filepath.Join(e.root, id, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("state.json: mode %v, want no access for group and others", fi.Mode())
	}
}
