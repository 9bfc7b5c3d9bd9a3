package libcontainer

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The process extras: every value the spec allows is accepted, and every
// value the kernel would refuse is named by its JSON path.
func TestValidateExtrasAccepts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*specs.Spec)
	}{
		{"SCHED_OTHER with nice", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Nice: -20} }},
		{"SCHED_FIFO", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO, Priority: 99, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}}
		}},
		{"SCHED_DEADLINE", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 42000, Deadline: 100000, Period: 1000000,
				Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagReclaim, specs.SchedFlagDLOverrun}}
		}},
		{"SCHED_DEADLINE without period", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1024, Deadline: 1024}
		}},
		{"every scheduler flag", func(s *specs.Spec) {
			var flags []specs.LinuxSchedulerFlag
			for f := range schedFlags {
				flags = append(flags, f)
			}
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedIdle, Flags: flags}
		}},
		{"ioPriority", func(s *specs.Spec) {
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_RT, Priority: 7}
		}},
		{"execCPUAffinity", func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0-1, 3", Final: ""} }},
		{"personality", func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32} }},
		{"memoryPolicy bind", func(s *specs.Spec) {
			s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0-3,7", Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}}
		}},
		{"memoryPolicy preferred, no nodes", func(s *specs.Spec) { s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolPreferred} }},
		{"memoryPolicy local", func(s *specs.Spec) { s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolLocal} }},
		{"netDevices", func(s *specs.Spec) {
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth0": {}, "eth1": {Name: "ctr1"}, "eth2": {Name: "c%d"}, "eth3": {Name: "c%d"}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bundle, spec := validBundle(t)
			tc.mutate(spec)
			if err := Validate(spec, bundle); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestValidateExtrasRefuses(t *testing.T) {
	sched := func(s specs.Scheduler) func(*specs.Spec) {
		return func(sp *specs.Spec) { sp.Process.Scheduler = &s }
	}
	mpol := func(p specs.LinuxMemoryPolicy) func(*specs.Spec) {
		return func(sp *specs.Spec) { sp.Linux.MemoryPolicy = &p }
	}
	netdev := func(d map[string]specs.LinuxNetDevice) func(*specs.Spec) {
		return func(sp *specs.Spec) { sp.Linux.NetDevices = d }
	}
	tests := []struct {
		name       string
		mutate     func(*specs.Spec)
		path, want string // want: the reason after "path: ", whole
	}{
		{"unknown policy", sched(specs.Scheduler{Policy: "SCHED_FAST"}), "process.scheduler.policy", `"SCHED_FAST": unknown policy`},
		{"SCHED_ISO", sched(specs.Scheduler{Policy: specs.SchedISO}), "process.scheduler.policy", "SCHED_ISO: Linux has no such policy"},
		{"unknown flag", sched(specs.Scheduler{Policy: specs.SchedOther, Flags: []specs.LinuxSchedulerFlag{"SCHED_FLAG_X"}}), "process.scheduler.flags[0]", `"SCHED_FLAG_X": unknown flag`},
		{"FIFO without priority", sched(specs.Scheduler{Policy: specs.SchedFIFO}), "process.scheduler.priority", "0: SCHED_FIFO needs a priority between 1 and 99"},
		{"RR priority 100", sched(specs.Scheduler{Policy: specs.SchedRR, Priority: 100}), "process.scheduler.priority", "100: SCHED_RR needs a priority between 1 and 99"},
		{"priority for OTHER", sched(specs.Scheduler{Policy: specs.SchedOther, Priority: 1}), "process.scheduler.priority", "1: only SCHED_FIFO and SCHED_RR take a priority"},
		{"nice 20", sched(specs.Scheduler{Policy: specs.SchedBatch, Nice: 20}), "process.scheduler.nice", "20: must be between -20 and 19"},
		{"runtime for OTHER", sched(specs.Scheduler{Policy: specs.SchedOther, Runtime: 5}), "process.scheduler", "runtime, deadline and period are for SCHED_DEADLINE only"},
		{"deadline without deadline", sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 5000}), "process.scheduler.deadline", "SCHED_DEADLINE needs a deadline"},
		{"deadline runtime too small", sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1000, Deadline: 5000}), "process.scheduler.runtime", "1000: SCHED_DEADLINE needs a runtime of at least 1024ns"},
		{"runtime above deadline", sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 6000, Deadline: 5000}), "process.scheduler.runtime", "6000: must not exceed the deadline (5000)"},
		{"period below deadline", sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 2000, Deadline: 5000, Period: 4000}), "process.scheduler.period", "4000: must not be shorter than the deadline (5000)"},
		{"deadline with a cpuset", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 2000, Deadline: 5000}
			s.Linux.Resources = &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}}
		}, "process.scheduler.policy", "SCHED_DEADLINE cannot be used with linux.resources.cpu.cpus"},
		{"ioPriority class", func(s *specs.Spec) { s.Process.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_NONE"} }, "process.ioPriority.class", `"IOPRIO_CLASS_NONE": unknown class (want IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)`},
		{"ioPriority 8", func(s *specs.Spec) {
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 8}
		}, "process.ioPriority.priority", "8: must be between 0 (highest) and 7 (lowest)"},
		{"ioPriority -1", func(s *specs.Spec) {
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: -1}
		}, "process.ioPriority.priority", "-1: must be between 0 (highest) and 7 (lowest)"},
		{"affinity letters", func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0,x"} }, "process.execCPUAffinity.initial", `"0,x": "x" is not a number`},
		{"affinity backwards", func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "3-1"} }, "process.execCPUAffinity.final", `"3-1": range 3-1 is backwards`},
		{"affinity too high", func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "1024"} }, "process.execCPUAffinity.final", `"1024": 1024 is above 1023`},
		{"affinity empty element", func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "1,,2"} }, "process.execCPUAffinity.final", `"1,,2": empty element`},
		{"personality domain", func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: "LINUX64"} }, "linux.personality.domain", `"LINUX64": unknown domain (want LINUX or LINUX32)`},
		{"personality flags", func(s *specs.Spec) {
			s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}}
		}, "linux.personality.flags[0]", `"ADDR_NO_RANDOMIZE": the spec defines no personality flags`},
		{"mempolicy mode", mpol(specs.LinuxMemoryPolicy{Mode: "MPOL_NEAR"}), "linux.memoryPolicy.mode", `"MPOL_NEAR": unknown mode`},
		{"mempolicy flag", mpol(specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{"MPOL_F_X"}}), "linux.memoryPolicy.flags[0]", `"MPOL_F_X": unknown flag`},
		{"static and relative", mpol(specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0",
			Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes, specs.MpolFRelativeNodes}}), "linux.memoryPolicy.flags", "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other"},
		{"bind without nodes", mpol(specs.LinuxMemoryPolicy{Mode: specs.MpolBind}), "linux.memoryPolicy.nodes", "MPOL_BIND needs at least one node"},
		{"interleave without nodes", mpol(specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: " "}), "linux.memoryPolicy.nodes", "MPOL_INTERLEAVE needs at least one node"},
		{"default with nodes", mpol(specs.LinuxMemoryPolicy{Mode: specs.MpolDefault, Nodes: "0"}), "linux.memoryPolicy.nodes", `"0": MPOL_DEFAULT takes no nodes`},
		{"local with nodes", mpol(specs.LinuxMemoryPolicy{Mode: specs.MpolLocal, Nodes: "1"}), "linux.memoryPolicy.nodes", `"1": MPOL_LOCAL takes no nodes`},
		{"bad nodes", mpol(specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0-"}), "linux.memoryPolicy.nodes", `"0-": "" is not a number`},
		{"netDevices without netns", func(s *specs.Spec) {
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.UTSNamespace}, {Type: specs.IPCNamespace}}
			s.Linux.Sysctl = nil
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth0": {}}
		}, "linux.netDevices", "needs a network namespace in linux.namespaces: without one the container shares the host's devices"},
		{"netDevices into husk's own netns", func(s *specs.Spec) {
			s.Linux.Namespaces[1].Path = "/proc/self/ns/net"
			s.Linux.Sysctl = nil
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth0": {}}
		}, "linux.netDevices", "linux.namespaces: /proc/self/ns/net is husk's own network namespace: the devices would not move"},
		{"host name with a slash", netdev(map[string]specs.LinuxNetDevice{"a/b": {}}), "linux.netDevices.a/b", `"a/b": an interface name must not contain '/', ':', '%' or white space`},
		{"host name template", netdev(map[string]specs.LinuxNetDevice{"eth%d": {}}), "linux.netDevices.eth%d", `"eth%d": an interface name must not contain '/', ':', '%' or white space`},
		{"new name too long", netdev(map[string]specs.LinuxNetDevice{"eth0": {Name: "abcdefghijklmnop"}}), "linux.netDevices.eth0.name", `"abcdefghijklmnop": an interface name has at most 15 bytes`},
		{"new name with a space", netdev(map[string]specs.LinuxNetDevice{"eth0": {Name: "a b"}}), "linux.netDevices.eth0.name", `"a b": an interface name must not contain '/', ':', '%' or white space`},
		{"new name dot dot", netdev(map[string]specs.LinuxNetDevice{"eth0": {Name: ".."}}), "linux.netDevices.eth0.name", `"..": not a valid interface name`},
		{"two devices, one name", netdev(map[string]specs.LinuxNetDevice{"eth0": {Name: "ctr"}, "eth1": {Name: "ctr"}}), "linux.netDevices.eth1.name", `"ctr": eth0 is moved under that name too`},
		{"a rename onto another's name", netdev(map[string]specs.LinuxNetDevice{"eth0": {}, "eth1": {Name: "eth0"}}), "linux.netDevices.eth1.name", `"eth0": eth0 is moved under that name too`},
		{"intelRdt closID", func(s *specs.Spec) { s.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "a/b"} }, "linux.intelRdt.closID", `"a/b": must be a directory name, or "/" for the default class`},
		{"intelRdt memBwSchema", func(s *specs.Spec) { s.Linux.IntelRdt = &specs.LinuxIntelRdt{MemBwSchema: "L3:0=ff"} }, "linux.intelRdt.memBwSchema", `"L3:0=ff": must start with "MB:"`},
		{"intelRdt schemata newline", func(s *specs.Spec) { s.Linux.IntelRdt = &specs.LinuxIntelRdt{Schemata: []string{"L3:0=f\nMB:0=1"}} }, "linux.intelRdt.schemata[0]", "must not contain a newline"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bundle, spec := validBundle(t)
			tc.mutate(spec)
			err := Validate(spec, bundle)
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("Validate: %v, want a *SpecError at %s", err, tc.path)
			}
			if want := tc.path + ": " + tc.want; se.Path != tc.path || err.Error() != want {
				t.Errorf("Validate:\n got %q\nwant %q", err, want)
			}
		})
	}
}

// The spec: "If no mounted resctrl pseudo-filesystem is available in the
// runtime mount namespace, the runtime MUST generate an error".
func TestValidateIntelRdtNeedsResctrl(t *testing.T) {
	if resctrlMount() != "" {
		t.Skip("resctrl is mounted on this host")
	}
	bundle, spec := validBundle(t)
	spec.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "gold"}
	err := Validate(spec, bundle)
	if err == nil || !strings.HasPrefix(err.Error(), "linux.intelRdt: not supported on this host") {
		t.Errorf("Validate: %v, want linux.intelRdt: not supported on this host", err)
	}
}

// ValidateProcess (husk exec's --process) checks the process extras too.
func TestValidateProcessExtras(t *testing.T) {
	p := &specs.Process{Args: []string{"sh"}, Cwd: "/", Scheduler: &specs.Scheduler{Policy: specs.SchedRR}}
	if err := ValidateProcess(p); err == nil || !strings.HasPrefix(err.Error(), "process.scheduler.priority: ") {
		t.Errorf("ValidateProcess: %v", err)
	}
	p.Scheduler = nil
	p.ExecCPUAffinity = &specs.CPUAffinity{Final: "one"}
	if err := ValidateProcess(p); err == nil || !strings.HasPrefix(err.Error(), "process.execCPUAffinity.final: ") {
		t.Errorf("ValidateProcess: %v", err)
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		list string
		want []int
	}{
		{"", nil},
		{"  ", nil},
		{"0", []int{0}},
		{"0-3,7", []int{0, 1, 2, 3, 7}},
		{" 1 - 2 , 5 ", []int{1, 2, 5}},
		{"2,2,1-2", []int{1, 2}},
		{"1023", []int{1023}},
	}
	for _, tc := range tests {
		set, err := parseList(tc.list)
		if err != nil {
			t.Errorf("parseList(%q): %v", tc.list, err)
			continue
		}
		var got []int
		for i := 0; i < 1024; i++ {
			if set.IsSet(i) {
				got = append(got, i)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("parseList(%q) = %v, want %v", tc.list, got, tc.want)
		}
	}
	for _, bad := range []string{"-1", "+1", "a", "1-", "-", "3-2", "0,,1", ",", "1024", "0x1"} {
		if _, err := parseList(bad); err == nil {
			t.Errorf("parseList(%q) accepted", bad)
		}
	}
}

// schedAttr maps the spec's names to the kernel's numbers.
func TestSchedAttr(t *testing.T) {
	attr := schedAttr(&specs.Scheduler{
		Policy: specs.SchedDeadline, Nice: 3, Runtime: 1, Deadline: 2, Period: 3,
		Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork, specs.SchedFlagDLOverrun, specs.SchedFlagUtilClampMax},
	})
	want := unix.SchedAttr{Policy: 6, Nice: 3, Runtime: 1, Deadline: 2, Period: 3,
		Flags: unix.SCHED_FLAG_RESET_ON_FORK | unix.SCHED_FLAG_DL_OVERRUN | unix.SCHED_FLAG_UTIL_CLAMP_MAX}
	if *attr != want {
		t.Errorf("schedAttr = %+v, want %+v", *attr, want)
	}
	if a := schedAttr(&specs.Scheduler{Policy: specs.SchedRR, Priority: 42}); a.Policy != 2 || a.Priority != 42 {
		t.Errorf("schedAttr(RR 42) = %+v", *a)
	}
	for _, p := range []specs.LinuxSchedulerPolicy{specs.SchedOther, specs.SchedFIFO, specs.SchedRR, specs.SchedBatch, specs.SchedIdle, specs.SchedDeadline} {
		if _, ok := schedPolicies[p]; !ok {
			t.Errorf("policy %s unknown", p)
		}
	}
}
