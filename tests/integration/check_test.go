package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// husk check: real bundles, checked, then created to prove check right.
// The bad configs are shared with the create side in
// testdata/bad-configs.json. TestCheckCgroup* are the cgroup cases:
// hybrid here, pure cgroup v2 in make vmtest's VM.

// TestCheckGoodBundles: bundles create takes are reported clean (exit 0,
// no error) in both formats, and then run.
func TestCheckGoodBundles(t *testing.T) {
	cases := map[string]func(t *testing.T, b *bundle){
		"husk spec default": func(*testing.T, *bundle) {},
		"seccomp default profile": func(t *testing.T, b *bundle) {
			data, err := os.ReadFile(testdata("moby-default-seccomp.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &b.Spec.Linux.Seccomp); err != nil {
				t.Fatal(err)
			}
		},
		"user namespace and an idmapped tmpfs": func(t *testing.T, b *bundle) {
			nsAddUserNS(b)
			if !kernelAtLeast(6, 3) {
				return // tmpfs takes idmaps since 6.3 (check reports it)
			}
			src := filepath.Join(t.TempDir(), "src")
			os.Mkdir(src, 0o755)
			fsMountTmpfs(t, src)
			b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/tmp", Type: "bind", Source: src,
				Options: []string{"rbind", "idmap"}})
		},
		"hooks, a new cwd, an entrypoint from a bind mount": func(t *testing.T, b *bundle) {
			fsWriteFile(t, filepath.Join(b.Dir, "tools", "tool"), "#!/bin/sh\nexit 0\n")
			os.Chmod(filepath.Join(b.Dir, "tools", "tool"), 0o755)
			b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/opt", Type: "bind", Source: "tools", Options: []string{"rbind", "ro"}})
			b.Spec.Process.Args = []string{"/opt/tool"}
			b.Spec.Process.Cwd = "/home/new/dir"
			b.Spec.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/true"}}, CreateContainer: []specs.Hook{{Path: "/bin/true"}}}
		},
		"tmpfs options the kernel takes": func(t *testing.T, b *bundle) {
			b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs",
				Options: []string{"nosuid", "size=1m", "mode=1777", "nr_inodes=100"}})
		},
		"limits this host's cgroup v2 takes": func(t *testing.T, b *bundle) {
			b.Spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: i64(-1)} // unlimited: no controller needed
			if hasController("hugetlb") {
				b.Spec.Linux.Resources.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}}
			}
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			setup(t, b)
			b.save()
			rep, r := e.check(b)
			if r.Code != 0 || len(rep.errors()) > 0 {
				t.Fatalf("check: exit %d, findings %+v, stderr %q", r.Code, rep.Findings, r.Stderr)
			}
			text := e.husk("check", "--bundle", b.Dir)
			if text.Code != 0 || !strings.Contains(text.Stdout, "0 error(s)") || !strings.Contains(text.Stdout, "create would succeed") {
				t.Errorf("check (text): exit %d\n%s", text.Code, text.Stdout)
			}
			id := newID(t)
			if r := e.husk("run", "--bundle", b.Dir, id); r.Code != 0 {
				t.Errorf("check said yes, run failed: exit %d: %s", r.Code, r.Stderr)
			}
			e.checkGone(id, b)
		})
	}
}

// kernelAtLeast reports whether the running kernel is major.minor or later.
func kernelAtLeast(major, minor int) bool {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return false
	}
	var rel []byte
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		rel = append(rel, byte(c))
	}
	var ma, mi int
	fmt.Sscanf(string(rel), "%d.%d", &ma, &mi)
	return ma > major || (ma == major && mi >= minor)
}

// hasController reports whether the cgroup v2 root offers a controller.
func hasController(name string) bool {
	data, _ := os.ReadFile(filepath.Join(unifiedRoot(), "cgroup.controllers"))
	for _, c := range strings.Fields(string(data)) {
		if c == name {
			return true
		}
	}
	return false
}

// TestCheckBadBundles: each case of testdata/bad-configs.json is reported
// by check at its field with its severity (exit 1 with an error), check
// leaves nothing behind; then the same bundle goes through create. After
// an error create fails, with a one-line error that starts with the
// field's path (or the field holding it), and leaves nothing; after a
// warning create succeeds. A "start" case fails at start instead.
func TestCheckBadBundles(t *testing.T) {
	for _, c := range loadBadConfigs(t) {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			skipUnmet(t, c)
			e := newEnv(t)
			b := badBundle(t, c)
			rep, r := e.check(b)
			wantFinding(t, rep, r, c.Path, c.Severity)
			if r.Stderr != "" {
				t.Errorf("check wrote to stderr: %q", r.Stderr)
			}
			if entries, _ := os.ReadDir(e.root); len(entries) > 0 {
				t.Errorf("check left %d entries in --root", len(entries))
			}
			e.checkGone(filepath.Base(b.Dir), b)
			agreeWithCreate(t, e, b, c)
		})
	}
}

// agreeWithCreate creates (and for a "start" case starts) b, and checks
// that it fails where check said it would.
func agreeWithCreate(t *testing.T, e *env, b *bundle, c badConfig) {
	t.Helper()
	id := newID(t)
	created := e.husk("create", "--bundle", b.Dir, id)
	failed := created
	if created.Code == 0 {
		defer func() {
			e.husk("delete", "--force", id)
			e.checkGone(id, b)
		}()
		if c.Stage == "start" {
			failed = e.husk("start", id)
		}
	} else {
		defer e.checkGone(id, b)
	}
	switch {
	case c.Severity == "warning" && created.Code != 0:
		t.Errorf("check warned only, create failed: %s", created.Stderr)
	case c.Severity == "warning":
	case failed.Code == 0:
		t.Errorf("check found an error at %s, create (and start) succeeded", c.Path)
	case !namesField(failed.Stderr, c.Path):
		t.Errorf("create's error does not start with %s (or %s): %q", c.Path, parentField(c.Path), failed.Stderr)
	case strings.Count(strings.TrimSpace(failed.Stderr), "\n") > 0:
		t.Errorf("create's error spans lines: %q", failed.Stderr)
	}
}

// TestCheckText: the text format names each finding's field, severity
// and hint, and the verdict; an unknown format is a usage error.
func TestCheckText(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Process.Args = []string{"husk-no-such-program"}
	b.Spec.Process.User.UID = 4242
	b.save()
	r := e.husk("check", "--bundle", b.Dir)
	for _, want := range []string{
		"bundle: " + b.Dir, "host:   kernel ", "cgroup ",
		`error    process.args[0]: exec: "husk-no-such-program": executable file not found in $PATH`,
		"         hint: ", "warning  process.user.uid: uid 4242",
		"1 error(s), 1 warning(s): create would fail",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("check's text lacks %q:\n%s", want, r.Stdout)
		}
	}
	if r.Code != 1 {
		t.Errorf("exit %d, want 1", r.Code)
	}
	if r := e.husk("check", "--bundle", b.Dir, "--format", "yaml"); r.Code != 1 || !strings.Contains(r.Stderr, "--format") {
		t.Errorf("--format yaml: exit %d, %q", r.Code, r.Stderr)
	}
	if r := e.husk("check", "--bundle", t.TempDir(), "--format", "json"); r.Code != 1 || !strings.Contains(r.Stdout, `"path": "config.json"`) {
		t.Errorf("a bundle without config.json: exit %d, %s", r.Code, r.Stdout)
	}
}

// TestCheckRootlessMappings: run by a user with no subordinate ids, check
// refuses mappings of other ids (newuidmap would), takes the user's own.
func TestCheckRootlessMappings(t *testing.T) {
	const nobody = 65534
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		if data, _ := os.ReadFile(f); strings.Contains(string(data), "nobody:") || strings.Contains(string(data), "65534:") {
			t.Skipf("%s delegates ids to nobody", f)
		}
	}
	b := newBundle(t)
	nsTraversable(t, b)
	check := func(hostID, size uint32) checkReport {
		t.Helper()
		maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: hostID, Size: size}}
		b.Spec.Linux.UIDMappings, b.Spec.Linux.GIDMappings = maps, maps
		b.save()
		cmd := exec.Command(huskBin, "--root", t.TempDir(), "check", "--bundle", b.Dir, "--format", "json")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		out, _ := cmd.Output()
		var rep checkReport
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("check as nobody: %v: %s", err, out)
		}
		return rep
	}
	b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	rep := check(100000, 65536)
	if f, ok := rep.find("linux.uidMappings[0]"); !ok || f.Severity != "error" || !strings.Contains(f.Message, "not delegated") {
		t.Errorf("mapping 100000-165535 as nobody: %+v", rep.Findings)
	}
	rep = check(nobody, 1)
	for _, f := range rep.errors() {
		if strings.HasPrefix(f.Path, "linux.uidMappings") || strings.HasPrefix(f.Path, "linux.gidMappings") {
			t.Errorf("mapping nobody's own id: %+v", f)
		}
	}
}

// TestCheckCgroupHybridMemoryLimit: on this hybrid host (cgroup v1 owns
// memory) a memory limit is an error at its field, and create fails there
// too; "unlimited" needs no controller.
func TestCheckCgroupHybridMemoryLimit(t *testing.T) {
	requireHybrid(t)
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(64 << 20)}
	b.save()
	rep, r := e.check(b)
	wantFinding(t, rep, r, "linux.resources.memory.limit", "error")
	if !strings.HasPrefix(rep.Host.Cgroup, "hybrid") {
		t.Errorf("host.cgroup %q, want hybrid", rep.Host.Cgroup)
	}
	agreeWithCreate(t, e, b, badConfig{Path: "linux.resources.memory.limit", Severity: "error"})
	b.Spec.Linux.Resources.Memory.Limit = i64(-1)
	b.save()
	if rep, r := e.check(b); r.Code != 0 || len(rep.errors()) > 0 {
		t.Errorf("memory unlimited: exit %d, %+v", r.Code, rep.Findings)
	}
}

// TestCheckCgroupV2Limits: on a pure cgroup v2 host (make vmtest) the
// limits of TestCgroupLimitFiles are all takeable: check says so, and the
// container runs with them.
func TestCheckCgroupV2Limits(t *testing.T) {
	requireV2(t)
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Linux.Resources = &specs.LinuxResources{
		Devices: b.Spec.Linux.Resources.Devices,
		Memory:  &specs.LinuxMemory{Limit: i64(64 << 20), Reservation: i64(32 << 20)},
		Pids:    &specs.LinuxPids{Limit: i64(42)},
		CPU:     &specs.LinuxCPU{Shares: u64(512), Quota: i64(50000), Period: u64(100000)},
	}
	b.save()
	rep, r := e.check(b)
	if r.Code != 0 || len(rep.errors()) > 0 || rep.Host.Cgroup != "v2" {
		t.Fatalf("check: exit %d, host.cgroup %q, findings %+v", r.Code, rep.Host.Cgroup, rep.Findings)
	}
	for _, want := range []string{"memory", "pids", "cpu"} {
		if !strings.Contains(" "+rep.Host.Controllers+" ", " "+want+" ") {
			t.Errorf("host.controllers %q lacks %s", rep.Host.Controllers, want)
		}
	}
	out := e.runIn(b, "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max")
	if strings.Fields(out)[0] != "67108864" || strings.Fields(out)[1] != "42" {
		t.Errorf("limits inside: %q", out)
	}
}
