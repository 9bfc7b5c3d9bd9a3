package libcontainer

import (
	"fmt"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// processExtras checks process.scheduler, process.ioPriority and
// process.execCPUAffinity: the process settings husk exec takes too.
func (v *validator) processExtras(p *specs.Process) {
	v.scheduler(p.Scheduler)
	if io := p.IOPriority; io != nil {
		if _, ok := ioprioClasses[io.Class]; !ok {
			v.errorf("process.ioPriority.class", "%q: unknown class (want IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)", io.Class)
		}
		if io.Priority < 0 || io.Priority > 7 {
			v.errorf("process.ioPriority.priority", "%d: must be between 0 (highest) and 7 (lowest)", io.Priority)
		}
	}
	if a := p.ExecCPUAffinity; a != nil {
		for _, f := range []field[string]{{"initial", a.Initial}, {"final", a.Final}} {
			field, list := f.name, f.val
			if set, err := parseList(list); err != nil {
				v.errorf("process.execCPUAffinity."+field, "%s", err)
			} else if set.Count() == 0 && strings.TrimSpace(list) != "" {
				v.errorf("process.execCPUAffinity."+field, "%q: no CPU", list)
			}
		}
	}
}

// scheduler checks what sched_setattr(2) would refuse, so that the error
// names the field. The kernel's own limits are in the messages.
func (v *validator) scheduler(s *specs.Scheduler) {
	if s == nil {
		return
	}
	const path = "process.scheduler"
	policy, known := schedPolicies[s.Policy]
	switch {
	case s.Policy == specs.SchedISO:
		v.errorf(path+".policy", "SCHED_ISO: Linux has no such policy")
		return
	case !known:
		v.errorf(path+".policy", "%q: unknown policy", s.Policy)
		return
	}
	for i, f := range s.Flags {
		if _, ok := schedFlags[f]; !ok {
			v.errorf(fmt.Sprintf("%s.flags[%d]", path, i), "%q: unknown flag", f)
		}
	}
	realtime := s.Policy == specs.SchedFIFO || s.Policy == specs.SchedRR
	if realtime && (s.Priority < 1 || s.Priority > 99) {
		v.errorf(path+".priority", "%d: %s needs a priority between 1 and 99", s.Priority, s.Policy)
	}
	if !realtime && s.Priority != 0 {
		v.errorf(path+".priority", "%d: only SCHED_FIFO and SCHED_RR take a priority", s.Priority)
	}
	if s.Nice < -20 || s.Nice > 19 {
		v.errorf(path+".nice", "%d: must be between -20 and 19", s.Nice)
	}
	if policy != schedPolicies[specs.SchedDeadline] {
		if s.Runtime != 0 || s.Deadline != 0 || s.Period != 0 {
			v.errorf(path, "runtime, deadline and period are for SCHED_DEADLINE only")
		}
		return
	}
	v.deadline(s)
}

// deadline checks SCHED_DEADLINE's parameters as the kernel does
// (__checkparam_dl): runtime ≤ deadline ≤ period (a zero period means
// the deadline), runtime at least 1024ns.
func (v *validator) deadline(s *specs.Scheduler) {
	const path = "process.scheduler"
	switch {
	case s.Deadline == 0:
		v.errorf(path+".deadline", "SCHED_DEADLINE needs a deadline")
	case s.Runtime < 1024:
		v.errorf(path+".runtime", "%d: SCHED_DEADLINE needs a runtime of at least 1024ns", s.Runtime)
	case s.Runtime > s.Deadline:
		v.errorf(path+".runtime", "%d: must not exceed the deadline (%d)", s.Runtime, s.Deadline)
	case s.Period != 0 && s.Period < s.Deadline:
		v.errorf(path+".period", "%d: must not be shorter than the deadline (%d)", s.Period, s.Deadline)
	}
	// A deadline task's CPUs must span its whole root domain; a cpuset
	// makes sched_setattr fail with EPERM (runc refuses the same).
	if l := v.spec.Linux; l != nil && l.Resources != nil && l.Resources.CPU != nil && l.Resources.CPU.Cpus != "" {
		v.errorf(path+".policy", "SCHED_DEADLINE cannot be used with linux.resources.cpu.cpus")
	}
}

// linuxExtras checks linux.personality, linux.memoryPolicy,
// linux.netDevices and linux.intelRdt.
func (v *validator) linuxExtras() {
	l := v.spec.Linux
	if l == nil {
		return
	}
	if p := l.Personality; p != nil {
		if _, ok := personalityDomains[p.Domain]; !ok {
			v.errorf("linux.personality.domain", "%q: unknown domain (want LINUX or LINUX32)", p.Domain)
		}
		for i, f := range p.Flags {
			v.errorf(fmt.Sprintf("linux.personality.flags[%d]", i), "%q: the spec defines no personality flags", f)
		}
	}
	v.memoryPolicy(l.MemoryPolicy)
	v.netDevices(l)
	v.intelRdt(l.IntelRdt)
}

func (v *validator) memoryPolicy(p *specs.LinuxMemoryPolicy) {
	if p == nil {
		return
	}
	const path = "linux.memoryPolicy"
	if _, ok := memPolicyModes[p.Mode]; !ok {
		v.errorf(path+".mode", "%q: unknown mode", p.Mode)
		return
	}
	seen := map[specs.MemoryPolicyFlagType]bool{}
	for i, f := range p.Flags {
		if _, ok := memPolicyFlags[f]; !ok {
			v.errorf(fmt.Sprintf("%s.flags[%d]", path, i), "%q: unknown flag", f)
		}
		seen[f] = true
	}
	if seen[specs.MpolFStaticNodes] && seen[specs.MpolFRelativeNodes] {
		v.errorf(path+".flags", "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other")
	}
	nodes, err := parseList(p.Nodes)
	if err != nil {
		v.errorf(path+".nodes", "%s", err)
		return
	}
	none, some := memPolicyNeedsNodes(p.Mode)
	switch {
	case none && nodes.Count() > 0:
		v.errorf(path+".nodes", "%q: %s takes no nodes", p.Nodes, p.Mode)
	case some && nodes.Count() == 0:
		v.errorf(path+".nodes", "%s needs at least one node", p.Mode)
	}
}

// netDevices checks linux.netDevices: the devices must go to a network
// namespace other than husk's own, under valid, distinct names.
func (v *validator) netDevices(l *specs.Linux) {
	if len(l.NetDevices) == 0 {
		return
	}
	const path = "linux.netDevices"
	plan := planNamespaces(l.Namespaces)
	hasNet := plan.isNew(specs.NetworkNamespace)
	if p, ok := plan.join[specs.NetworkNamespace]; ok {
		if sameNamespace(p, "/proc/self/ns/net") {
			v.errorf(path, "linux.namespaces: %s is husk's own network namespace: the devices would not move", p)
		}
		hasNet = true
	}
	if !hasNet {
		v.errorf(path, "needs a network namespace in linux.namespaces: without one the container shares the host's devices")
	}
	names := make([]string, 0, len(l.NetDevices))
	for name := range l.NetDevices {
		names = append(names, name)
	}
	sort.Strings(names)
	targets := map[string]string{}
	for _, name := range names {
		if err := checkIfName(name, false); err != nil {
			v.errorf(path+"."+name, "%s", err)
			continue
		}
		target := netDeviceName(name, l.NetDevices[name])
		if err := checkIfName(target, true); err != nil {
			v.errorf(path+"."+name+".name", "%s", err)
			continue
		}
		if other, dup := targets[target]; dup && !strings.Contains(target, "%d") {
			v.errorf(path+"."+name+".name", "%q: %s is moved under that name too", target, other)
		}
		targets[target] = name
	}
}

// intelRdt checks linux.intelRdt's values, then that the host can honour
// it at all.
func (v *validator) intelRdt(r *specs.LinuxIntelRdt) {
	if r == nil {
		return
	}
	const path = "linux.intelRdt"
	if id := r.ClosID; id != "/" && (id == "." || id == ".." || strings.ContainsAny(id, "/\n")) {
		v.errorf(path+".closID", "%q: must be a directory name, or \"/\" for the default class", id)
	}
	if r.MemBwSchema != "" && !strings.HasPrefix(r.MemBwSchema, "MB:") {
		v.errorf(path+".memBwSchema", "%q: must start with \"MB:\"", r.MemBwSchema)
	}
	if strings.Contains(r.L3CacheSchema, "\n") || strings.Contains(r.MemBwSchema, "\n") {
		v.errorf(path, "a schema must not contain a newline")
	}
	for i, s := range r.Schemata {
		if strings.Contains(s, "\n") {
			v.errorf(fmt.Sprintf("%s.schemata[%d]", path, i), "must not contain a newline")
		}
	}
	if resctrlMount() == "" {
		v.errs = append(v.errs, errNoResctrl)
	}
}
