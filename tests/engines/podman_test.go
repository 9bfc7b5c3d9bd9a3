package engines

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPodman drives podman (and through it conmon) with a private
// containers.conf, storage and run directories, running each container
// from a busybox directory with --rootfs: no registry, no image store.
func TestPodman(t *testing.T) {
	needBinaries(t, "podman", "podman", "conmon")
	p := newPodman(t)
	runScenarios(t, "podman", podmanScenarios, func(t *testing.T, rt ociRuntime) *podmanEnv {
		return &podmanEnv{podmanEngine: p, rt: rt, name: containerName(t)}
	})
}

var podmanScenarios = []scenario[*podmanEnv]{
	{"run-output", func(t *testing.T, e *podmanEnv) {
		wantOutput(t, e.run(t, nil, "echo", "hello from "+e.rt.Name), 0, "hello from "+e.rt.Name)
	}},
	{"run-exit-status", func(t *testing.T, e *podmanEnv) {
		wantOutput(t, e.run(t, nil, "sh", "-c", "echo bye; exit 3"), 3, "bye")
	}},
	{"run-stdin", func(t *testing.T, e *podmanEnv) {
		r := e.runWith(t, cmdOpts{stdin: strings.NewReader("line one\nline two\n")}, []string{"-i"},
			"sh", "-c", `read a; read b; echo "$b/$a"`)
		wantOutput(t, r, 0, "line two/line one")
	}},
	// podman maps the runtime's error text to 127 and 126: an entrypoint
	// that cannot be exec'd must fail with those words.
	{"entrypoint-not-found", func(t *testing.T, e *podmanEnv) {
		if r := e.run(t, nil, "/bin/no-such-program"); r.Code != 127 {
			t.Fatalf("want exit 127 for a missing entrypoint, got %v", r)
		}
	}},
	{"entrypoint-not-executable", func(t *testing.T, e *podmanEnv) {
		if r := e.run(t, nil, "/bin/noexec"); r.Code != 126 {
			t.Fatalf("want exit 126 for an entrypoint without execute permission, got %v", r)
		}
	}},
	{"env", func(t *testing.T, e *podmanEnv) {
		wantOutput(t, e.run(t, []string{"--env", "FOO=bar baz"}, "sh", "-c", `echo "$FOO"`), 0, "bar baz")
	}},
	{"workdir", func(t *testing.T, e *podmanEnv) {
		wantOutput(t, e.run(t, []string{"--workdir", "/var/tmp"}, "pwd"), 0, "/var/tmp")
	}},
	{"user", func(t *testing.T, e *podmanEnv) {
		wantOutput(t, e.run(t, []string{"--user", "65534:65534"}, "sh", "-c", "echo $(id -u):$(id -g)"), 0, "65534:65534")
	}},
	{"read-only", func(t *testing.T, e *podmanEnv) {
		// --read-only also mounts tmpfs on /tmp, /var/tmp and /run, with
		// the "tmpcopyup" option.
		r := e.run(t, []string{"--read-only"}, "sh", "-c", "touch /x 2>/dev/null || echo read-only; touch /tmp/x && echo tmp writable")
		wantOutput(t, r, 0, "read-only\ntmp writable")
	}},
	{"volume", func(t *testing.T, e *podmanEnv) {
		src := hostDir(t, e.dir)
		r := e.run(t, []string{"-v", src + ":/host:ro"}, "sh", "-c",
			"cat /host/greeting; touch /host/x 2>/dev/null || echo read-only")
		wantOutput(t, r, 0, "hello from the host\nread-only")
	}},
	{"tmpfs", func(t *testing.T, e *podmanEnv) {
		// podman mounts --tmpfs with the "tmpcopyup" option.
		r := e.run(t, []string{"--tmpfs", "/var/tmp"}, "sh", "-c",
			"grep -c ' /var/tmp tmpfs ' /proc/mounts; touch /var/tmp/x && echo writable")
		wantOutput(t, r, 0, "1\nwritable")
	}},
	{"privileged", func(t *testing.T, e *podmanEnv) {
		checkPrivileged(t, e.run(t, []string{"--privileged"}, "sh", "-c", privilegedScript))
	}},
	{"run-tty", func(t *testing.T, e *podmanEnv) {
		args := append(e.globalArgs(), e.runLine(t, []string{"-it", "--rm"}, nil, "sh")...)
		terminalScenario(t, startOnPty(t, e.opts(), "podman", args...))
	}},
	{"detached-logs-stop-rm", func(t *testing.T, e *podmanEnv) {
		e.start(t, "sh", "-c", "echo started; "+counterScript)
		waitFor(t, 10*time.Second, "the container's first output in podman logs", func() (bool, string) {
			r := e.podman(t, "logs", e.name)
			return strings.Contains(r.Stdout, "started"), r.String()
		})
		id := e.inspect(t, "{{.Id}}")
		pid, _ := strconv.Atoi(e.inspect(t, "{{.State.Pid}}"))
		cgroups := e.cg.Of(t, pid, id)
		mustSucceed(t, e.podman(t, "stop", "-t", "10", e.name)) // SIGTERM: the script exits 42
		if code := e.inspect(t, "{{.State.ExitCode}}"); code != "42" {
			t.Fatalf("want exit code 42 after podman stop, got %s", code)
		}
		mustSucceed(t, e.podman(t, "rm", e.name))
		e.checkGone(t, id, cgroups)
	}},
	{"restart", func(t *testing.T, e *podmanEnv) {
		// podman restart stops the container, deletes it from the
		// runtime, and creates and starts it again under the same ID.
		e.start(t, "sh", "-c", counterScript)
		before := e.inspect(t, "{{.State.Pid}}")
		mustSucceed(t, e.podman(t, "restart", "-t", "10", e.name))
		after, status := e.inspect(t, "{{.State.Pid}}"), e.inspect(t, "{{.State.Status}}")
		if status != "running" || after == before || after == "0" {
			t.Fatalf("want the container running again with a new pid (was %s), got status %s, pid %s", before, status, after)
		}
	}},
	{"exec", func(t *testing.T, e *podmanEnv) {
		e.start(t, "sh", "-c", counterScript)
		r := e.podman(t, "exec", e.name, "sh", "-c", "echo exec sees $(cat /proc/1/comm); exit 5")
		wantOutput(t, r, 5, "exec sees sh")
	}},
	{"exec-tty", func(t *testing.T, e *podmanEnv) {
		e.start(t, "sh", "-c", counterScript)
		terminalScenario(t, startOnPty(t, e.opts(), "podman", append(e.globalArgs(), "exec", "-it", e.name, "sh")...))
	}},
	{"pause-unpause", func(t *testing.T, e *podmanEnv) {
		e.start(t, "sh", "-c", counterScript)
		pid, _ := strconv.Atoi(e.inspect(t, "{{.State.Pid}}"))
		mustSucceed(t, e.podman(t, "pause", e.name))
		if s := e.inspect(t, "{{.State.Status}}"); s != "paused" {
			t.Fatalf("want status paused after podman pause, got %s", s)
		}
		checkFrozen(t, pid, true)
		mustSucceed(t, e.podman(t, "unpause", e.name))
		if s := e.inspect(t, "{{.State.Status}}"); s != "running" {
			t.Fatalf("want status running after podman unpause, got %s", s)
		}
		checkFrozen(t, pid, false)
	}},
	{"kill", func(t *testing.T, e *podmanEnv) {
		e.start(t, "sh", "-c", counterScript)
		mustSucceed(t, e.podman(t, "kill", "--signal", "TERM", e.name))
		wantOutput(t, e.podman(t, "wait", e.name), 0, "42")
	}},
	// Every other scenario runs with seccomp=unconfined, so that each
	// tests one thing; this one runs podman's default profile.
	{"default-seccomp", func(t *testing.T, e *podmanEnv) {
		e.defaultSeccomp = true
		r := e.run(t, nil, "grep", "^Seccomp:", "/proc/self/status")
		if r.Code != 0 || strings.Join(strings.Fields(r.Stdout), " ") != "Seccomp: 2" {
			t.Fatalf("want a seccomp filter in place (Seccomp: 2), got %v", r)
		}
	}},
	{"memory-limit", func(t *testing.T, e *podmanEnv) {
		needPureV2(t)
		// The limit is set, and felt: awk doubles a string towards 128 MiB
		// and the kernel's OOM killer ends it (128+SIGKILL) on the way.
		r := e.run(t, []string{"--memory", "32m", "--memory-swap", "32m"}, "sh", "-c",
			`cat /sys/fs/cgroup/memory.max; exec awk 'BEGIN { s = "x"; while (length(s) < 134217728) s = s s }'`)
		if r.Code != 137 || strings.TrimSpace(r.Stdout) != "33554432" {
			t.Fatalf("want memory.max 33554432 and an OOM kill (exit 137), got %v", r)
		}
	}},
	{"pids-limit", func(t *testing.T, e *podmanEnv) {
		needPureV2(t)
		// The limit is set, and felt: the 16th process cannot be forked.
		r := e.run(t, []string{"--pids-limit", "16"}, "sh", "-c",
			`cat /sys/fs/cgroup/pids.max; i=0; while [ $i -lt 20 ]; do sleep 2 & i=$((i+1)); done 2>&1; wait`)
		out := r.Stdout + r.Stderr
		if !strings.HasPrefix(r.Stdout, "16\n") || !strings.Contains(out, "can't fork") {
			t.Fatalf("want pids.max 16 and a failed fork, got %v", r)
		}
	}},
}

// needPureV2 skips a limits scenario on a host whose controllers belong
// to cgroup v1: husk limits only through cgroup v2.
func needPureV2(t *testing.T) {
	t.Helper()
	if !pureV2() {
		t.Skip("needs a pure cgroup v2 host (this one is hybrid); run it in the cgroup v2 VM (make engines-vm)")
	}
}

// podmanEngine is podman's private world: containers.conf and storage.conf,
// storage, run and tmp directories, the runtimes' state, and the rootfs,
// all under one temporary directory.
type podmanEngine struct {
	dir    string
	rootfs string
	cg     *cgroupSandbox
}

func newPodman(t *testing.T) *podmanEngine {
	t.Helper()
	dir := tempDir(t)
	// netavark's run directory is /run/containers/networks for root,
	// whatever the configuration says.
	removeIfCreated(t, "/run/containers", "/run/containers/networks")
	p := &podmanEngine{dir: dir, rootfs: filepath.Join(dir, "rootfs"), cg: newCgroupSandbox(t)}
	makeRootfs(t, p.rootfs)
	for _, rt := range runtimes {
		p.writeWrapper(t, rt)
	}
	p.write(t, "containers.conf", p.containersConf(), 0o644)
	p.write(t, "storage.conf", fmt.Sprintf("[storage]\ndriver = \"vfs\"\ngraphroot = %q\nrunroot = %q\n",
		p.path("storage"), p.path("run")), 0o644)
	t.Cleanup(func() {
		if r := p.podman(t, "rm", "--all", "--force", "--time", "0"); r.Code != 0 {
			t.Logf("cleanup: %v", r)
		}
	})
	return p
}

func (p *podmanEngine) path(name string) string { return filepath.Join(p.dir, name) }

func (p *podmanEngine) write(t *testing.T, name, content string, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p.path(name), []byte(content), perm); err != nil {
		t.Fatal(err)
	}
}

// writeWrapper makes runtimes/<name>: the runtime with its --root under
// the test's directory. podman passes no --root, and the exit command
// conmon runs (podman container cleanup) passes no --runtime-flag, so
// the root goes in the binary podman runs.
func (p *podmanEngine) writeWrapper(t *testing.T, rt ociRuntime) {
	t.Helper()
	os.MkdirAll(p.path("runtimes"), 0o755)
	p.write(t, "runtimes/"+rt.Name, fmt.Sprintf("#!/bin/sh\nexec %q --root %q \"$@\"\n", rt.Path, p.runtimeRoot(rt)), 0o755)
}

func (p *podmanEngine) runtimeRoot(rt ociRuntime) string {
	return filepath.Join(p.dir, "runtime-root", rt.Name)
}

// containersConf is the private containers.conf. Every path is under
// p.dir; the runtimes are named so that runtime_supports_json applies
// (podman then reads the runtime's JSON error log); conmon passes the
// config on to the exit command, and makes its terminal sockets
// (conmon-term.XXXXXX, which it does not remove) in $TMPDIR.
func (p *podmanEngine) containersConf() string {
	var names, runtimesTable []string
	for _, rt := range runtimes {
		names = append(names, strconv.Quote(rt.Name))
		runtimesTable = append(runtimesTable, fmt.Sprintf("%s = [%q]", rt.Name, p.path("runtimes/"+rt.Name)))
	}
	pids := ""
	if !pureV2() {
		// On a hybrid host cgroup v1 owns the pids controller, and husk
		// refuses podman's default limit (2048) there.
		pids = "pids_limit = 0\n"
	}
	return fmt.Sprintf(`[containers]
# Podman raises RLIMIT_NOFILE and RLIMIT_NPROC to 1048576 by default; a
# root without CAP_SYS_RESOURCE (as on the CI host) cannot.
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
log_driver = "k8s-file"
%[1]s
[network]
network_config_dir = %[2]q

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = %[3]q
lock_type = "file"
tmp_dir = %[4]q
volume_path = %[5]q
runtime_supports_json = [%[6]s]
conmon_env_vars = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "CONTAINERS_CONF=%[7]s", "CONTAINERS_STORAGE_CONF=%[8]s", "TMPDIR=%[4]s"]

[engine.runtimes]
%[9]s
`, pids, p.path("networks"), p.path("events.log"), p.path("tmp"), p.path("volumes"),
		strings.Join(names, ", "), p.path("containers.conf"), p.path("storage.conf"),
		strings.Join(runtimesTable, "\n"))
}

// env is the environment podman runs with.
func (p *podmanEngine) env() []string {
	return []string{"CONTAINERS_CONF=" + p.path("containers.conf"), "CONTAINERS_STORAGE_CONF=" + p.path("storage.conf")}
}

// opts runs a command in p.dir with podman's environment.
func (p *podmanEngine) opts() cmdOpts { return cmdOpts{dir: p.dir, env: p.env()} }

// globalArgs are podman's global flags, the same for every command.
func (p *podmanEngine) globalArgs() []string {
	return []string{"--root", p.path("storage"), "--runroot", p.path("run"), "--tmpdir", p.path("tmp"),
		"--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"}
}

func (p *podmanEngine) podman(t *testing.T, args ...string) result {
	t.Helper()
	return p.podmanWith(t, cmdOpts{}, args...)
}

func (p *podmanEngine) podmanWith(t *testing.T, o cmdOpts, args ...string) result {
	t.Helper()
	o.dir, o.env = p.dir, append(o.env, p.env()...)
	return command(t, o, "podman", append(p.globalArgs(), args...)...)
}

// podmanEnv is one scenario's view: podman, the runtime under test and
// the container's name.
type podmanEnv struct {
	*podmanEngine
	rt   ociRuntime
	name string

	defaultSeccomp bool // run with podman's default seccomp profile
}

// runLine is the podman command line `run MODE... FLAGS... --rootfs
// ROOTFS ARGS...`, with the flags every scenario uses before FLAGS: the
// runtime, no network, the container in the test's cgroup, seccomp off
// (but see default-seccomp). --rootfs must come last: podman takes what
// follows its path as the command. The container is removed at the end
// of the scenario.
func (e *podmanEnv) runLine(t *testing.T, mode, flags []string, args ...string) []string {
	t.Cleanup(func() { e.podman(t, "rm", "--force", "--time", "0", e.name) })
	line := append([]string{"run"}, mode...)
	line = append(line, "--runtime", e.rt.Name, "--name", e.name, "--network", "none", "--cgroup-parent", e.cg.Path)
	if !e.defaultSeccomp {
		line = append(line, "--security-opt", "seccomp=unconfined")
	}
	line = append(append(line, flags...), "--rootfs", e.rootfs)
	return append(line, args...)
}

// run is `podman run --rm [flags] ... args...` in the foreground.
func (e *podmanEnv) run(t *testing.T, flags []string, args ...string) result {
	t.Helper()
	return e.runWith(t, cmdOpts{}, flags, args...)
}

func (e *podmanEnv) runWith(t *testing.T, o cmdOpts, flags []string, args ...string) result {
	t.Helper()
	return e.podmanWith(t, o, e.runLine(t, []string{"--rm"}, flags, args...)...)
}

// start runs the container detached and checks that it is running.
func (e *podmanEnv) start(t *testing.T, args ...string) {
	t.Helper()
	mustSucceed(t, e.podman(t, e.runLine(t, []string{"-d"}, nil, args...)...))
	if s := e.inspect(t, "{{.State.Status}}"); s != "running" {
		t.Fatalf("want the container running after podman run -d, got %s", s)
	}
}

// inspect is one field of podman inspect, by Go template.
func (e *podmanEnv) inspect(t *testing.T, format string) string {
	t.Helper()
	return strings.TrimSpace(mustSucceed(t, e.podman(t, "inspect", "--format", format, e.name)))
}

// checkGone checks that nothing of the removed container is left: its
// state in the runtime's root, its cgroup, its mounts, podman's record.
func (e *podmanEnv) checkGone(t *testing.T, id string, cgroups []string) {
	t.Helper()
	root := e.runtimeRoot(e.rt)
	if _, err := os.Stat(filepath.Join(root, id)); err == nil {
		t.Errorf("the runtime's state %s is left", filepath.Join(root, id))
	}
	if r := command(t, cmdOpts{}, e.rt.Path, "--root", root, "list", "-q"); strings.Contains(r.Stdout, id) {
		t.Errorf("%s list still shows the container:\n%s", e.rt.Name, r.Stdout)
	}
	if left := e.cg.Left(cgroups); len(left) > 0 {
		t.Errorf("the container's cgroups are left: %v", left)
	}
	for _, m := range mountsUnder(t, e.dir) {
		if strings.Contains(m, id) {
			t.Errorf("mount left: %s", m)
		}
	}
	if r := e.podman(t, "ps", "--all", "--quiet", "--no-trunc"); strings.Contains(r.Stdout, id) {
		t.Errorf("podman ps -a still lists the container")
	}
}
