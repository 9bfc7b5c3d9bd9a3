package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Tests of cgroup limits need a pure cgroup v2 host (make vmtest runs
// them in ../shared/vm/run); the device filter, freezer and hybrid-host
// refusals run anywhere. All are named TestCgroup*.

func requireV2(t *testing.T) {
	t.Helper()
	if unifiedRoot() != "/sys/fs/cgroup" {
		t.Skip("needs a pure cgroup v2 host: run with `make vmtest`")
	}
}

func requireHybrid(t *testing.T) {
	t.Helper()
	if unifiedRoot() == "/sys/fs/cgroup" {
		t.Skip("needs a hybrid cgroup host")
	}
}

func i64(v int64) *int64    { return &v }
func u64(v uint64) *uint64  { return &v }
func u16p(v uint16) *uint16 { return &v }

// startDetached runs b (with args) detached and returns its id; the
// container is deleted when the test ends.
func (e *env) startDetached(b *bundle, args ...string) string {
	e.t.Helper()
	b.Spec.Process.Args = args
	b.save()
	id := newID(e.t)
	e.detached("run", "-d", "--bundle", b.Dir, id)
	e.t.Cleanup(func() {
		e.husk("delete", "--force", id)
		e.checkGone(id, b)
	})
	return id
}

// detached runs a husk command that leaves a container running. Its
// stdio are files, not pipes: the container inherits them, and a pipe
// would keep the test waiting for EOF until the container ends.
func (e *env) detached(args ...string) {
	e.t.Helper()
	out, err := os.CreateTemp(e.t.TempDir(), "out")
	if err != nil {
		e.t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(huskBin, append([]string{"--root", e.root}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		data, _ := os.ReadFile(out.Name())
		e.t.Fatalf("husk %s: %v: %s", strings.Join(args, " "), err, data)
	}
}

// cgroupDir is the container's cgroup on the host (default cgroupsPath).
func cgroupDir(id string) string { return filepath.Join(unifiedRoot(), "husk", id) }

func readCgroup(t *testing.T, id, file string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(cgroupDir(id), file))
	if err != nil {
		t.Fatalf("reading %s: %v", file, err)
	}
	return strings.TrimSpace(string(data))
}

// TestCgroupLimitFiles checks each linux.resources field against the file
// the kernel exposes, from the host and from inside (the container's own
// cgroup2 mount in its cgroup namespace).
func TestCgroupLimitFiles(t *testing.T) {
	requireV2(t)
	cases := []struct {
		name string
		res  specs.LinuxResources
		want map[string]string
	}{
		{"memory", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Reservation: i64(32 << 20), Swap: i64(96 << 20)}},
			map[string]string{"memory.max": "67108864", "memory.low": "33554432", "memory.swap.max": "33554432"}},
		{"memory-unlimited", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1)}},
			map[string]string{"memory.max": "max", "memory.swap.max": "max"}},
		{"pids", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(42)}}, map[string]string{"pids.max": "42"}},
		{"pids-unlimited", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(0)}}, map[string]string{"pids.max": "max"}},
		{"cpu", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(1024), Quota: i64(50000), Period: u64(200000), Burst: u64(1000), Idle: i64(0)}},
			map[string]string{"cpu.weight": "39", "cpu.max": "50000 200000", "cpu.max.burst": "1000", "cpu.idle": "0"}},
		{"cpu-quota-only", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(25000)}}, map[string]string{"cpu.max": "25000 100000"}},
		{"cpuset", specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0", Mems: "0"}}, map[string]string{"cpuset.cpus": "0", "cpuset.mems": "0"}},
		{"unified", specs.LinuxResources{Unified: map[string]string{"pids.max": "17", "memory.high": "50000000"}},
			map[string]string{"pids.max": "17", "memory.high": "49999872"}},
		{"hugetlb", specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}}},
			map[string]string{"hugetlb.2MB.max": "4194304"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Linux.Resources = &tc.res
			var script strings.Builder
			for file := range tc.want {
				fmt.Fprintf(&script, "echo %s=$(cat /sys/fs/cgroup/%s) >> /out/inside;", file, file)
			}
			out := bindOut(t, b)
			script.WriteString("touch /out/done; exec sleep 1000")
			id := e.startDetached(b, "sh", "-c", script.String())
			for file, want := range tc.want {
				if got := readCgroup(t, id, file); got != want {
					t.Errorf("host: %s = %q, want %q", file, got, want)
				}
			}
			// The same values, seen from inside through the cgroup namespace.
			if !waitFor(30*time.Second, func() bool { _, err := os.Stat(filepath.Join(out, "done")); return err == nil }) {
				t.Fatal("container did not finish its script")
			}
			inside, _ := os.ReadFile(filepath.Join(out, "inside"))
			for file, want := range tc.want {
				if !strings.Contains(string(inside), file+"="+want+"\n") {
					t.Errorf("inside: want %s=%s, got:\n%s", file, want, inside)
				}
			}
		})
	}
}

// bindOut binds a fresh host directory at /out in the container, for
// detached containers to leave results in; it returns the host path.
func bindOut(t *testing.T, b *bundle) string {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/out", Type: "bind", Source: dir, Options: []string{"rbind", "rw"}})
	return dir
}

// TestCgroupMemoryOOM: a process over memory.max is OOM-killed, the
// kernel counts it in memory.events, and `husk events` reports it.
func TestCgroupMemoryOOM(t *testing.T) {
	requireV2(t)
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(16 << 20), Swap: i64(16 << 20)}}
	id := e.startDetached(b, "sh", "-c", "sleep 2; tail /dev/zero; echo status=$? ; sleep 1000")
	events := exec.Command(huskBin, "--root", e.root, "events", "--interval", "1h", id)
	stdout, err := events.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := events.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { events.Process.Kill(); events.Wait() })
	got := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev["type"] == "oom" {
				got <- sc.Text()
				return
			}
		}
	}()
	select {
	case line := <-got:
		if !strings.Contains(line, `"id":"`+id+`"`) {
			t.Errorf("oom event without the container id: %s", line)
		}
	case <-time.After(120 * time.Second):
		t.Fatal("no oom event from husk events")
	}
	kills := 0
	for _, line := range strings.Split(readCgroup(t, id, "memory.events"), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "oom_kill" {
			kills, _ = strconv.Atoi(f[1])
		}
	}
	if kills < 1 {
		t.Errorf("memory.events oom_kill = %d, want >= 1", kills)
	}
}

// TestCgroupPidsLimit: fork fails once pids.max tasks exist.
func TestCgroupPidsLimit(t *testing.T) {
	requireV2(t)
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(5)}}
	// busybox sh gives up on the first fork that fails, so count how far
	// it got: the shell plus 4 sleeps fill pids.max=5.
	b.Spec.Process.Args = []string{"sh", "-c", "i=0; while [ $i -lt 8 ]; do sleep 10 & i=$((i+1)); echo $i; done"}
	b.save()
	id := newID(t)
	r := e.husk("run", "--bundle", b.Dir, id)
	lines := strings.Fields(r.Stdout)
	if r.Code == 0 || len(lines) != 4 || !strings.Contains(r.Stderr, "can't fork") {
		t.Fatalf("pids.max=5: exit %d, spawned %v, stderr %q", r.Code, lines, r.Stderr)
	}
	e.checkGone(id, b)
}

// TestCgroupUpdate: update changes limits of a running container live.
func TestCgroupUpdate(t *testing.T) {
	requireV2(t)
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(64 << 20)}, Pids: &specs.LinuxPids{Limit: i64(100)}}
	id := e.startDetached(b, "sleep", "1000")
	e.mustHusk("update", "--memory", "128m", "--pids-limit", "50", "--cpu-quota", "20000", "--cpu-period", "100000", "--cpu-share", "2048", id)
	for file, want := range map[string]string{"memory.max": "134217728", "pids.max": "50", "cpu.max": "20000 100000", "cpu.weight": "79"} {
		if got := readCgroup(t, id, file); got != want {
			t.Errorf("after update: %s = %q, want %q", file, got, want)
		}
	}
	r := e.huskIn(stringFile(t, `{"pids":{"limit":7},"memory":{"limit":100000000}}`), "update", "--resources", "-", id)
	if r.Code != 0 {
		t.Fatalf("update --resources -: %d %s", r.Code, r.Stderr)
	}
	if got := readCgroup(t, id, "pids.max"); got != "7" {
		t.Errorf("pids.max = %q after --resources, want 7", got)
	}
	// checkBeforeUpdate refuses a limit under the current usage.
	r = e.huskIn(stringFile(t, `{"memory":{"limit":4096,"checkBeforeUpdate":true}}`), "update", "-r", "-", id)
	if r.Code == 0 || !strings.Contains(r.Stderr, "linux.resources.memory.limit") {
		t.Errorf("checkBeforeUpdate: exit %d, stderr %q", r.Code, r.Stderr)
	}
}

// stringFile returns a file whose content is s, for stdin.
func stringFile(t *testing.T, s string) *os.File {
	t.Helper()
	name := filepath.Join(t.TempDir(), "stdin")
	if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestCgroupStats: events --stats reports what the kernel accounts.
func TestCgroupStats(t *testing.T) {
	requireV2(t)
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(64)}, Memory: &specs.LinuxMemory{Limit: i64(256 << 20)}}
	id := e.startDetached(b, "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exec sleep 1000")
	time.Sleep(2 * time.Second)
	var ev struct {
		Type string
		ID   string
		Data struct {
			CPU struct {
				Usage struct{ Total uint64 }
			}
			Memory struct {
				Usage struct{ Usage, Limit uint64 }
			}
			Pids struct{ Current, Limit uint64 }
		}
	}
	out := e.mustHusk("events", "--stats", id)
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatalf("decoding %q: %v", out, err)
	}
	d := ev.Data
	if ev.Type != "stats" || ev.ID != id || d.CPU.Usage.Total == 0 || d.Memory.Usage.Usage == 0 ||
		d.Memory.Usage.Limit != 256<<20 || d.Pids.Current < 1 || d.Pids.Limit != 64 {
		t.Errorf("stats do not match the container: %s", out)
	}
}

// TestCgroupDevices: a device no rule allows cannot be opened (mknod is
// allowed, as runc allows it); a rule opens it for exactly its access.
func TestCgroupDevices(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Root.Readonly = false
	b.Spec.Process.Capabilities = nil // root with every capability: only the filter stands in the way
	out := e.runIn(b, "rm -f /dev/mem2; mknod /dev/mem2 c 1 1 && echo mknod-ok; (: < /dev/mem2) 2>/dev/null && echo read-mem; echo x > /dev/null && echo null-ok")
	if !strings.Contains(out, "mknod-ok") || strings.Contains(out, "read-mem") || !strings.Contains(out, "null-ok") {
		t.Fatalf("default device filter: %q", out)
	}
	// /dev/kmsg (1:11): the filter acts on open, so opening is the test.
	// Nodes go in the container's /dev, a tmpfs without nodev.
	b.Spec.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(11), Access: "r"},
	}}
	out = e.runIn(b, "rm -f /dev/kmsg2; mknod /dev/kmsg2 c 1 11; (: < /dev/kmsg2) 2>/dev/null && echo read-ok; (: > /dev/kmsg2) 2>/dev/null && echo write-ok; true")
	if !strings.Contains(out, "read-ok") || strings.Contains(out, "write-ok") {
		t.Fatalf("rule c 1:11 r: %q", out)
	}
	// A deny rule after the allow wins over it.
	b.Spec.Linux.Resources.Devices = append(b.Spec.Linux.Resources.Devices, specs.LinuxDeviceCgroup{Allow: false, Type: "c", Major: i64(1), Minor: i64(3), Access: "w"})
	b.Spec.Linux.Resources.Devices = b.Spec.Linux.Resources.Devices[:3]
	out = e.runIn(b, "rm -f /dev/null2; mknod /dev/null2 c 1 3; (echo x > /dev/null2) 2>/dev/null && echo write-ok; cat /dev/null2 && echo read-ok")
	if !strings.Contains(out, "write-ok") {
		// standard devices come after the config's rules, so /dev/null stays writable
		t.Fatalf("standard devices must stay usable: %q", out)
	}
}

// TestCgroupFreeze: pause stops a busy loop (its CPU time stops growing)
// and resume restarts it; state says paused in between.
func TestCgroupFreeze(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t)
	id := e.startDetached(b, "sh", "-c", "while :; do :; done")
	usage := func() uint64 {
		for _, line := range strings.Split(readCgroup(t, id, "cpu.stat"), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "usage_usec" {
				n, _ := strconv.ParseUint(f[1], 10, 64)
				return n
			}
		}
		t.Fatal("no usage_usec in cpu.stat")
		return 0
	}
	e.mustHusk("pause", id)
	if st := e.state(id)["status"]; st != "paused" {
		t.Fatalf("status after pause = %v", st)
	}
	if !strings.Contains(readCgroup(t, id, "cgroup.events"), "frozen 1") {
		t.Fatal("cgroup.events does not say frozen 1")
	}
	u1 := usage()
	time.Sleep(500 * time.Millisecond)
	if u2 := usage(); u2 != u1 {
		t.Errorf("frozen container used CPU: %d -> %d usec", u1, u2)
	}
	e.mustHusk("resume", id)
	if st := e.state(id)["status"]; st != "running" {
		t.Fatalf("status after resume = %v", st)
	}
	u3 := usage()
	time.Sleep(500 * time.Millisecond)
	if u4 := usage(); u4 <= u3 {
		t.Errorf("resumed container did not run: %d -> %d usec", u3, u4)
	}
	// delete --force works on a paused container too.
	e.mustHusk("pause", id)
	e.mustHusk("delete", "--force", id)
	e.checkGone(id, b)
}

// TestCgroupHybridRefusesLimits: on a hybrid host a limit whose
// controller v1 owns fails create with one line naming the field, and
// nothing is left behind; "unlimited" needs no controller.
func TestCgroupHybridRefusesLimits(t *testing.T) {
	requireHybrid(t)
	cases := map[string]specs.LinuxResources{
		"linux.resources.memory.limit":       {Memory: &specs.LinuxMemory{Limit: i64(64 << 20)}},
		"linux.resources.pids.limit":         {Pids: &specs.LinuxPids{Limit: i64(10)}},
		"linux.resources.cpu.shares":         {CPU: &specs.LinuxCPU{Shares: u64(512)}},
		"linux.resources.unified.memory.max": {Unified: map[string]string{"memory.max": "1000000"}},
	}
	for field, res := range cases {
		t.Run(field, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Linux.Resources = &res
			b.save()
			id := newID(t)
			r := e.husk("run", "--bundle", b.Dir, id)
			if r.Code == 0 || !strings.Contains(r.Stderr, field+": the ") || !strings.Contains(r.Stderr, "hybrid") {
				t.Errorf("exit %d, stderr %q", r.Code, r.Stderr)
			}
			if n := strings.Count(strings.TrimSpace(r.Stderr), "\n"); n != 0 {
				t.Errorf("want one line on stderr, got %q", r.Stderr)
			}
			e.checkGone(id, b)
		})
	}
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}, Memory: &specs.LinuxMemory{Limit: i64(-1)}}
	e.runIn(b, "true")
}

// TestCgroupPaths: cgroupsPath absolute, relative and absent, the
// parents husk made are removed with the container, and ".." cannot
// leave the hierarchy.
func TestCgroupPaths(t *testing.T) {
	cases := []struct{ path, want string }{
		{"", "husk/<id>"},
		{"rel-<id>/c", "husk/rel-<id>/c"},
		{"/abs-<id>/deeper/c", "abs-<id>/deeper/c"},
		{"../../../esc-<id>", "esc-<id>"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			e := newEnv(t)
			b := newBundle(t)
			id := newID(t)
			b.Spec.Linux.CgroupsPath = strings.ReplaceAll(tc.path, "<id>", id)
			b.Spec.Process.Args = []string{"sleep", "1000"}
			b.save()
			e.detached("run", "-d", "--bundle", b.Dir, id)
			want := filepath.Join(unifiedRoot(), strings.ReplaceAll(tc.want, "<id>", id))
			pid := int(e.state(id)["pid"].(float64))
			self, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
			rel := strings.TrimPrefix(want, unifiedRoot())
			if !strings.Contains(string(self), "0::"+rel+"\n") {
				t.Errorf("init's cgroup: %q, want 0::%s", self, rel)
			}
			e.mustHusk("delete", "--force", id)
			if _, err := os.Stat(want); err == nil {
				t.Errorf("%s left behind", want)
			}
			top := strings.SplitN(strings.TrimPrefix(rel, "/"), "/", 2)[0]
			if top != "husk" {
				if _, err := os.Stat(filepath.Join(unifiedRoot(), top)); err == nil {
					t.Errorf("parent %s made by husk left behind", top)
				}
			}
		})
	}
}

// TestCgroupCPUEffect: cpu.max caps a busy loop's CPU time, and
// cpuset.cpus is the CPU list the kernel lets the process run on.
func TestCgroupCPUEffect(t *testing.T) {
	requireV2(t)
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Linux.Resources = &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(10000), Period: u64(100000), Cpus: "0"}}
	out := bindOut(t, b)
	id := e.startDetached(b, "sh", "-c", "grep Cpus_allowed_list /proc/self/status > /out/cpus; while :; do :; done")
	usage := func() uint64 {
		for _, line := range strings.Split(readCgroup(t, id, "cpu.stat"), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "usage_usec" {
				n, _ := strconv.ParseUint(f[1], 10, 64)
				return n
			}
		}
		return 0
	}
	time.Sleep(time.Second)
	u1, t1 := usage(), time.Now()
	time.Sleep(3 * time.Second)
	u2, t2 := usage(), time.Now()
	share := float64(u2-u1) / float64(t2.Sub(t1).Microseconds())
	if share > 0.2 {
		t.Errorf("cpu.max 10%%: the loop used %.0f%% of a CPU", share*100)
	}
	if share == 0 {
		t.Errorf("the loop did not run at all")
	}
	cpus, _ := os.ReadFile(filepath.Join(out, "cpus"))
	if f := strings.Fields(string(cpus)); len(f) != 2 || f[1] != "0" {
		t.Errorf("cpuset.cpus=0: inside, %q", cpus)
	}
}

// TestCgroupIO: weight and throttles reach io.weight and io.max for a
// real block device (a RAM disk the VM's kernel makes with brd), and a
// read throttle slows reads from inside.
func TestCgroupIO(t *testing.T) {
	requireV2(t)
	if os.Getenv("VMRUN") == "" {
		t.Skip("loads the brd module: runs only in the throwaway VM")
	}
	if _, err := os.Stat("/dev/ram0"); err != nil {
		if out, err := exec.Command("modprobe", "brd", "rd_nr=1", "rd_size=8192").CombinedOutput(); err != nil {
			t.Skipf("no RAM disk: modprobe brd: %v %s", err, out)
		}
	}
	var st struct{ major, minor int64 }
	fmt.Sscanf(strings.TrimSpace(readSysfs(t, "/sys/block/ram0/dev")), "%d:%d", &st.major, &st.minor)
	dev := specs.LinuxBlockIODevice{Major: st.major, Minor: st.minor}
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/ram0", Type: "b", Major: st.major, Minor: st.minor}}
	b.Spec.Linux.Resources = &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
		Weight:                  u16p(500),
		ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev, Rate: 1 << 20}},
		ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev, Rate: 100}},
	}}
	out := bindOut(t, b)
	id := e.startDetached(b, "sh", "-c", "s=$(date +%s); dd if=/dev/ram0 of=/dev/null bs=64k count=48 iflag=direct 2>/dev/null; echo $(( $(date +%s) - s )) > /out/secs.tmp; mv /out/secs.tmp /out/secs; sleep 1000")
	maxLine := readCgroup(t, id, "io.max")
	want := fmt.Sprintf("%d:%d rbps=1048576 wbps=max riops=max wiops=100", st.major, st.minor)
	if maxLine != want {
		t.Errorf("io.max = %q, want %q", maxLine, want)
	}
	if w := readCgroup(t, id, "io.weight"); !strings.Contains(w, "default 4950") {
		if bfq, err := os.ReadFile(filepath.Join(cgroupDir(id), "io.bfq.weight")); err != nil || !strings.Contains(string(bfq), "500") {
			t.Errorf("io.weight = %q (io.bfq.weight %q), want 4950 (500 converted) or bfq 500", w, bfq)
		}
	}
	if !waitFor(60*time.Second, func() bool { _, err := os.Stat(filepath.Join(out, "secs")); return err == nil }) {
		t.Fatal("dd did not finish")
	}
	secs, _ := os.ReadFile(filepath.Join(out, "secs"))
	if n, _ := strconv.Atoi(strings.TrimSpace(string(secs))); n < 2 {
		t.Errorf("reading 3 MiB at 1 MiB/s took %s s", strings.TrimSpace(string(secs)))
	}
}

func readSysfs(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestCgroupRdmaUnknownDevice: an rdma limit for a device this host lacks
// is refused by the kernel, and the error names the field.
func TestCgroupRdmaUnknownDevice(t *testing.T) {
	requireV2(t)
	e := newEnv(t)
	b := newBundle(t)
	n := uint32(4)
	b.Spec.Linux.Resources = &specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"husk_nodev0": {HcaHandles: &n}}}
	b.save()
	id := newID(t)
	r := e.husk("run", "--bundle", b.Dir, id)
	if r.Code == 0 || !strings.Contains(r.Stderr, "linux.resources.rdma.husk_nodev0") || !strings.Contains(r.Stderr, "hca_handle=4 hca_object=max") {
		t.Errorf("exit %d, stderr %q", r.Code, r.Stderr)
	}
	e.checkGone(id, b)
}

// TestCgroupV1OnlyHost: without any cgroup2 mount (a v1-only host, made
// here in a private mount namespace by hiding the host's cgroup2 mount),
// create fails with one clear line.
func TestCgroupV1OnlyHost(t *testing.T) {
	requireHybrid(t)
	e := newEnv(t)
	b := newBundle(t)
	b.save()
	id := newID(t)
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c",
		`umount -l /sys/fs/cgroup/unified && exec "$0" --root "$1" run --bundle "$2" "$3"`, huskBin, e.root, b.Dir, id)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no cgroup v2 hierarchy") || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
		t.Errorf("err %v, output %q", err, out)
	}
	e.checkGone(id, b)
}
