package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestScheduler: process.scheduler reaches the kernel for every policy
// Linux has, with its flags; the probe reads it back with sched_getattr.
func TestScheduler(t *testing.T) {
	t.Parallel()
	dl := func(flags ...specs.LinuxSchedulerFlag) *specs.Scheduler {
		return &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 42000, Deadline: 100000, Period: 1000000, Flags: flags}
	}
	tests := []struct {
		name  string
		sched *specs.Scheduler
		caps  []string
		want  map[string]string
	}{
		{"SCHED_OTHER nice 7", &specs.Scheduler{Policy: specs.SchedOther, Nice: 7}, nil,
			map[string]string{"policy": "0", "nice": "7", "priority": "0", "flags": "0x0"}},
		{"SCHED_BATCH nice 19", &specs.Scheduler{Policy: specs.SchedBatch, Nice: 19}, nil,
			map[string]string{"policy": "3", "nice": "19"}},
		{"SCHED_IDLE", &specs.Scheduler{Policy: specs.SchedIdle}, nil, map[string]string{"policy": "5"}},
		{"SCHED_FIFO 10", &specs.Scheduler{Policy: specs.SchedFIFO, Priority: 10}, nil,
			map[string]string{"policy": "1", "priority": "10", "flags": "0x0"}},
		{"SCHED_RR 20 reset-on-fork", &specs.Scheduler{Policy: specs.SchedRR, Priority: 20,
			Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}}, nil,
			map[string]string{"policy": "2", "priority": "20", "flags": "0x1"}},
		{"SCHED_DEADLINE reset-on-fork reclaim overrun",
			dl(specs.SchedFlagResetOnFork, specs.SchedFlagReclaim, specs.SchedFlagDLOverrun), nil,
			map[string]string{"policy": "6", "flags": "0x7", "runtime": "42000", "deadline": "100000", "period": "1000000"}},
		// KEEP_POLICY keeps init's SCHED_OTHER and takes the nice value;
		// KEEP_PARAMS keeps both (the kernel then changes nothing).
		{"SCHED_FLAG_KEEP_POLICY", &specs.Scheduler{Policy: specs.SchedBatch, Nice: 5,
			Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagKeepPolicy}}, nil,
			map[string]string{"policy": "0", "nice": "5"}},
		{"SCHED_FLAG_KEEP_PARAMS", &specs.Scheduler{Policy: specs.SchedBatch, Nice: 5,
			Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagKeepParams}}, nil,
			map[string]string{"policy": "0", "nice": "0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Process.Scheduler = tc.sched
			pxAddCaps(b, tc.caps...)
			pxWant(t, pxRunProbe(e, b), tc.want)
		})
	}
}

// TestSchedulerDeadlineNoFork: SCHED_DEADLINE without reset-on-fork.
// husk's init adds the flag until just before execve (its Go runtime must
// make threads), then sets exactly what was asked, which needs
// CAP_SYS_NICE. Such a process cannot fork, nor run the Go probe: the
// probe reads it from the host.
func TestSchedulerDeadlineNoFork(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	pxAddCaps(b, "CAP_SYS_NICE")
	b.Spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 42000, Deadline: 100000, Period: 1000000}
	id := e.startDetached(b, "sleep", "1000")
	pid := e.state(id)["pid"].(float64)
	out, err := exec.Command(pxProbe(t), strconv.Itoa(int(pid))).CombinedOutput()
	if err != nil {
		t.Fatalf("probe %v: %v: %s", pid, err, out)
	}
	pxWant(t, pxParse(t, string(out)), map[string]string{
		"policy": "6", "flags": "0x0", "runtime": "42000", "deadline": "100000", "period": "1000000",
	})
}

// TestSchedulerUtilClamp: the utilization clamp flags reach the kernel,
// which refuses them without CONFIG_UCLAMP_TASK; the error names the
// field and nothing is left.
func TestSchedulerUtilClamp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedOther,
		Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagUtilClampMin, specs.SchedFlagUtilClampMax}}
	if _, err := os.Stat("/proc/sys/kernel/sched_util_clamp_min"); err == nil {
		pxWant(t, pxRunProbe(e, b), map[string]string{"policy": "0", "util_min": "0", "util_max": "0"})
		return
	}
	pxAddProbe(t, b)
	b.Spec.Process.Args = []string{"/bin/probe"}
	nsExpectFailureOf(t, e, b, "create", "process.scheduler: sched_setattr(policy SCHED_OTHER")
}

// TestSchedulerRefused: values the kernel would refuse fail create with
// the field's JSON path; so does what the kernel itself refuses.
func TestSchedulerRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*bundle)
		want   string
	}{
		{"FIFO without priority", func(b *bundle) {
			b.Spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO}
		}, "process.scheduler.priority: 0: SCHED_FIFO needs a priority between 1 and 99"},
		{"SCHED_ISO", func(b *bundle) {
			b.Spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedISO}
		}, "process.scheduler.policy: SCHED_ISO: Linux has no such policy"},
		{"unknown flag", func(b *bundle) {
			b.Spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Flags: []specs.LinuxSchedulerFlag{"SCHED_FLAG_FAST"}}
		}, "process.scheduler.flags[0]: \"SCHED_FLAG_FAST\": unknown flag"},
		{"deadline runtime above deadline", func(b *bundle) {
			b.Spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 2000000, Deadline: 1000000}
		}, "process.scheduler.runtime: 2000000: must not exceed the deadline"},
		{"deadline without reset-on-fork nor CAP_SYS_NICE", func(b *bundle) {
			b.Spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 42000, Deadline: 100000}
		}, "setting scheduler: process.scheduler: SCHED_DEADLINE without SCHED_FLAG_RESET_ON_FORK needs CAP_SYS_NICE"},
		// In a user namespace the container's root has no CAP_SYS_NICE
		// over the host's scheduler: the kernel says no.
		{"FIFO in a user namespace", func(b *bundle) {
			nsAddUserNS(b)
			b.Spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO, Priority: 10}
		}, "setting scheduler: process.scheduler: sched_setattr(policy SCHED_FIFO, nice 0, priority 10, flags [], runtime 0, deadline 0, period 0): operation not permitted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			tc.mutate(b)
			nsExpectFailureOf(t, e, b, "create", tc.want)
		})
	}
}

// TestSchedulerExec: husk exec takes the container's scheduler by
// default, and its own from --process.
func TestSchedulerExec(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	pxAddProbe(t, b)
	b.Spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedBatch, Nice: 19}
	id := e.startDetached(b, "sleep", "1000")
	pid := int(e.state(id)["pid"].(float64))
	if f := pxStatField(t, pid, 41); f != "3" {
		t.Errorf("init's policy (stat field 41) = %s, want 3 (SCHED_BATCH)", f)
	}
	pxWant(t, pxParse(t, pxExec(e, id, "/bin/probe")), map[string]string{"policy": "3", "nice": "19"})
	proc := pxProcessFile(t, `{"args": ["/bin/probe"], "cwd": "/", "user": {"uid": 0, "gid": 0},
		"scheduler": {"policy": "SCHED_RR", "priority": 30}}`)
	pxWant(t, pxParse(t, pxExec(e, "--process", proc, id)), map[string]string{"policy": "2", "priority": "30"})
	bad := pxProcessFile(t, `{"args": ["/bin/probe"], "cwd": "/", "user": {"uid": 0, "gid": 0},
		"scheduler": {"policy": "SCHED_RR", "priority": 0}}`)
	if r := lcHusk(e, "", "exec", "--process", bad, id); r.Code == 0 || !strings.Contains(r.Stderr, "process.scheduler.priority") {
		t.Errorf("exec with a bad scheduler: exit %d, %q", r.Code, r.Stderr)
	}
}

// pxStatField is field n (1-based, as proc(5) counts) of /proc/PID/stat.
func pxStatField(t *testing.T, pid, n int) string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return fields[n-3]
}

// TestIOPriority: process.ioPriority, as ioprio_get and busybox's ionice
// see it from inside.
func TestIOPriority(t *testing.T) {
	t.Parallel()
	tests := []struct {
		class      specs.IOPriorityClass
		prio       int
		num, level string
		ionice     string
	}{
		{specs.IOPRIO_CLASS_RT, 3, "1", "3", "realtime: prio 3"},
		{specs.IOPRIO_CLASS_BE, 7, "2", "7", "best-effort: prio 7"},
		{specs.IOPRIO_CLASS_IDLE, 0, "3", "0", "idle"},
	}
	for _, tc := range tests {
		t.Run(string(tc.class), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			pxAddProbe(t, b)
			b.Spec.Process.IOPriority = &specs.LinuxIOPriority{Class: tc.class, Priority: tc.prio}
			out := pxRun(e, b, "sh", "-c", "ionice -p $$; exec /bin/probe")
			if first, _, _ := strings.Cut(out, "\n"); first != tc.ionice {
				t.Errorf("ionice -p: %q, want %q", first, tc.ionice)
			}
			pxWant(t, pxParse(t, out), map[string]string{"ioprio_class": tc.num, "ioprio_level": tc.level})
		})
	}
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := newBundle(t)
		b.Spec.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 8}
		nsExpectFailureOf(t, e, b, "create", "process.ioPriority.priority: 8: must be between 0 (highest) and 7 (lowest)")
	})
	// The realtime class needs CAP_SYS_NICE or CAP_SYS_ADMIN over the
	// host: a user namespace's root has neither.
	t.Run("realtime in a user namespace", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := newBundle(t)
		nsAddUserNS(b)
		b.Spec.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_RT, Priority: 0}
		nsExpectFailureOf(t, e, b, "create", "setting I/O priority: process.ioPriority: ioprio_set(IOPRIO_CLASS_RT, 0): operation not permitted")
	})
}

// TestExecCPUAffinity: execCPUAffinity is for husk exec's processes,
// never the container's init. initial is the CPUs the process starts on,
// final the CPUs it is moved to right before execve. Where the
// container's cgroup has a cpuset of its own, the kernel gives the
// process that cpuset's CPUs as it is cloned into the cgroup, and
// initial alone leaves them.
func TestExecCPUAffinity(t *testing.T) {
	t.Parallel()
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs")
	}
	e := newEnv(t)
	b := newBundle(t)
	pxAddProbe(t, b)
	b.Spec.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "1"}
	id := e.startDetached(b, "sleep", "1000")
	pid := int(e.state(id)["pid"].(float64))
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	all := "0-" + strconv.Itoa(runtime.NumCPU()-1)
	if got := nsStatusField(t, string(status), "Cpus_allowed_list"); got != all {
		t.Errorf("init's Cpus_allowed_list = %s, want %s: execCPUAffinity is not for init", got, all)
	}
	wantInitial := "1"
	if eff, err := os.ReadFile(filepath.Join(cgroupDir(id), "cpuset.cpus.effective")); err == nil {
		wantInitial = pxExpandList(t, strings.TrimSpace(string(eff)))
	}
	// The container's process is the template of a plain husk exec.
	pxWant(t, pxParse(t, pxExec(e, id, "/bin/probe")), map[string]string{"cpus": wantInitial})
	process := func(affinity string) string {
		return pxProcessFile(t, `{"args": ["/bin/probe"], "cwd": "/", "user": {"uid": 0, "gid": 0}`+affinity+`}`)
	}
	var every []string
	for i := 0; i < runtime.NumCPU(); i++ {
		every = append(every, strconv.Itoa(i))
	}
	for _, tc := range []struct{ name, affinity, want string }{
		{"none", ``, strings.Join(every, " ")},
		{"initial 0, final 1", `, "execCPUAffinity": {"initial": "0", "final": "1"}`, "1"},
		{"final 0", `, "execCPUAffinity": {"final": "0"}`, "0"},
		{"initial 1", `, "execCPUAffinity": {"initial": "1"}`, wantInitial},
	} {
		if got := pxParse(t, pxExec(e, "--process", process(tc.affinity), id))["cpus"]; got != tc.want {
			t.Errorf("%s: cpus %q, want %q", tc.name, got, tc.want)
		}
	}
	// A CPU the host does not have: the kernel refuses, the field is named.
	for _, field := range []string{"initial", "final"} {
		r := lcHusk(e, "", "exec", "--process", process(`, "execCPUAffinity": {"`+field+`": "1000"}`), id)
		if r.Code == 0 || !strings.Contains(r.Stderr, "process.execCPUAffinity."+field+": sched_setaffinity(1000): invalid argument") {
			t.Errorf("exec with %s CPU 1000: exit %d, %q", field, r.Code, r.Stderr)
		}
	}
	bad := newBundle(t)
	bad.Spec.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "0-x"}
	nsExpectFailureOf(t, e, bad, "create", `process.execCPUAffinity.final: "0-x": "x" is not a number`)
}

// pxExpandList turns a kernel CPU list ("0-2,5") into "0 1 2 5".
func pxExpandList(t *testing.T, list string) string {
	t.Helper()
	var out []string
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err1 := strconv.Atoi(lo)
		last, err2 := first, error(nil)
		if isRange {
			last, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil {
			t.Fatalf("bad CPU list %q", list)
		}
		for i := first; i <= last; i++ {
			out = append(out, strconv.Itoa(i))
		}
	}
	return strings.Join(out, " ")
}

// TestPersonality: LINUX32 makes uname report a 32-bit machine, for the
// container's process and for husk exec's.
func TestPersonality(t *testing.T) {
	t.Parallel()
	machine32 := map[string]string{"amd64": "i686", "arm64": "armv8l"}[runtime.GOARCH]
	if machine32 == "" {
		t.Skipf("no 32-bit personality known for %s", runtime.GOARCH)
	}
	e := newEnv(t)
	b := newBundle(t)
	pxAddProbe(t, b)
	b.Spec.Process.Args = []string{"sleep", "1000"}
	b.Spec.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
	id := e.startDetached(b, "sleep", "1000")
	if got := strings.TrimSpace(pxExec(e, id, "uname", "-m")); got != machine32 {
		t.Errorf("uname -m in exec = %q, want %q", got, machine32)
	}
	pxWant(t, pxParse(t, pxExec(e, id, "/bin/probe")), map[string]string{"personality": "0x8"})

	b2 := newBundle(t)
	b2.Spec.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
	if got := strings.TrimSpace(pxRun(e, b2, "uname", "-m")); got != machine32 {
		t.Errorf("uname -m = %q, want %q", got, machine32)
	}
	b2.Spec.Linux.Personality.Domain = specs.PerLinux
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(pxRun(e, b2, "uname", "-m")), unix.ByteSliceToString(uts.Machine[:]); got != want {
		t.Errorf("LINUX: uname -m = %q, want the host's %q", got, want)
	}
	b2.Spec.Linux.Personality.Flags = []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}
	nsExpectFailureOf(t, e, b2, "create", `linux.personality.flags[0]: "ADDR_NO_RANDOMIZE": the spec defines no personality flags`)
}

// TestMemoryPolicy: linux.memoryPolicy as /proc/self/numa_maps (the
// kernel's rendering of the task's policy) and get_mempolicy see it.
func TestMemoryPolicy(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/sys/devices/system/node/node0"); err != nil {
		t.Skip("needs NUMA node 0")
	}
	mp := func(mode specs.MemoryPolicyModeType, nodes string, flags ...specs.MemoryPolicyFlagType) *specs.LinuxMemoryPolicy {
		return &specs.LinuxMemoryPolicy{Mode: mode, Nodes: nodes, Flags: flags}
	}
	tests := []struct {
		name     string
		policy   *specs.LinuxMemoryPolicy
		numaMaps string // the policy as numa_maps prints it
		mode     string // get_mempolicy's mode, flags included
	}{
		{"default", mp(specs.MpolDefault, ""), "default", "0x0"},
		{"bind", mp(specs.MpolBind, "0"), "bind:0", "0x2"},
		{"bind static", mp(specs.MpolBind, "0", specs.MpolFStaticNodes), "bind=static:0", "0x8002"},
		{"bind relative", mp(specs.MpolBind, "0", specs.MpolFRelativeNodes), "bind=relative:0", "0x4002"},
		{"bind numa balancing", mp(specs.MpolBind, "0", specs.MpolFNumaBalancing), "bind=balancing:0", "0x2002"},
		{"interleave", mp(specs.MpolInterleave, "0"), "interleave:0", "0x3"},
		{"weighted interleave", mp(specs.MpolWeightedInterleave, "0"), "weighted interleave:0", "0x6"},
		{"preferred", mp(specs.MpolPreferred, "0"), "prefer:0", "0x1"},
		{"preferred many", mp(specs.MpolPreferredMany, "0"), "prefer (many):0", "0x5"},
		// The kernel turns a preferred policy without nodes into local.
		{"preferred without nodes", mp(specs.MpolPreferred, ""), "local", "0x4"},
		{"local", mp(specs.MpolLocal, ""), "local", "0x4"},
	}
	// Weighted interleaving came with Linux 6.9, and with this directory.
	_, err := os.Stat("/sys/kernel/mm/mempolicy/weighted_interleave")
	weighted := err == nil
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			pxAddProbe(t, b)
			b.Spec.Linux.MemoryPolicy = tc.policy
			if tc.policy.Mode == specs.MpolWeightedInterleave && !weighted {
				nsExpectFailureOf(t, e, b, "create", `linux.memoryPolicy: set_mempolicy(MPOL_WEIGHTED_INTERLEAVE, nodes "0", flags []): invalid argument`)
				return
			}
			out := pxRun(e, b, "sh", "-c", "head -1 /proc/self/numa_maps; exec /bin/probe")
			first, _, _ := strings.Cut(out, "\n")
			if !strings.Contains(first, " "+tc.numaMaps+" ") {
				t.Errorf("numa_maps: %q, want the policy %q", first, tc.numaMaps)
			}
			pxWant(t, pxParse(t, out), map[string]string{"mempolicy_mode": tc.mode})
		})
	}
	t.Run("exec", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := newBundle(t)
		b.Spec.Linux.MemoryPolicy = mp(specs.MpolInterleave, "0", specs.MpolFStaticNodes)
		id := e.startDetached(b, "sleep", "1000")
		if out := pxExec(e, id, "head", "-1", "/proc/self/numa_maps"); !strings.Contains(out, " interleave=static:0 ") {
			t.Errorf("numa_maps in exec: %q", out)
		}
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := newBundle(t)
		b.Spec.Linux.MemoryPolicy = mp(specs.MpolBind, "")
		nsExpectFailureOf(t, e, b, "create", "linux.memoryPolicy.nodes: MPOL_BIND needs at least one node")
		b.Spec.Linux.MemoryPolicy = mp(specs.MpolLocal, "0")
		nsExpectFailureOf(t, e, b, "create", `linux.memoryPolicy.nodes: "0": MPOL_LOCAL takes no nodes`)
	})
	// A node the host does not have: the kernel refuses it at create.
	t.Run("missing node", func(t *testing.T) {
		t.Parallel()
		if _, err := os.Stat("/sys/devices/system/node/node63"); err == nil {
			t.Skip("this host has node 63")
		}
		e := newEnv(t)
		b := newBundle(t)
		b.Spec.Linux.MemoryPolicy = mp(specs.MpolBind, "63")
		nsExpectFailureOf(t, e, b, "create", `setting memory policy: linux.memoryPolicy: set_mempolicy(MPOL_BIND, nodes "63", flags []): invalid argument`)
	})
}
