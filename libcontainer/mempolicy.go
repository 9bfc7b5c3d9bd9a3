package libcontainer

import (
	"fmt"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// memPolicyModes maps linux.memoryPolicy.mode to set_mempolicy(2)'s modes.
var memPolicyModes = map[specs.MemoryPolicyModeType]int{
	specs.MpolDefault:            unix.MPOL_DEFAULT,
	specs.MpolPreferred:          unix.MPOL_PREFERRED,
	specs.MpolBind:               unix.MPOL_BIND,
	specs.MpolInterleave:         unix.MPOL_INTERLEAVE,
	specs.MpolLocal:              unix.MPOL_LOCAL,
	specs.MpolPreferredMany:      unix.MPOL_PREFERRED_MANY,
	specs.MpolWeightedInterleave: unix.MPOL_WEIGHTED_INTERLEAVE,
}

// memPolicyFlags maps linux.memoryPolicy.flags to the mode flags.
var memPolicyFlags = map[specs.MemoryPolicyFlagType]int{
	specs.MpolFNumaBalancing: unix.MPOL_F_NUMA_BALANCING,
	specs.MpolFRelativeNodes: unix.MPOL_F_RELATIVE_NODES,
	specs.MpolFStaticNodes:   unix.MPOL_F_STATIC_NODES,
}

// memPolicyNeedsNodes says which modes take a node list: "Some modes
// require that there are no nodes, e.g. MPOL_DEFAULT and MPOL_LOCAL.
// Others that there is at least one node" (MPOL_PREFERRED may have none:
// it then means local allocation).
func memPolicyNeedsNodes(mode specs.MemoryPolicyModeType) (none, some bool) {
	switch mode {
	case specs.MpolDefault, specs.MpolLocal:
		return true, false
	case specs.MpolPreferred:
		return false, false
	}
	return false, true
}

// setMemoryPolicy applies linux.memoryPolicy with set_mempolicy(2) to
// the calling thread, the one that will execve: the policy is kept
// across execve and inherited by children, so it is the policy of the
// container's process and of every process husk exec starts. The node
// list was checked at validation.
func setMemoryPolicy(p *specs.LinuxMemoryPolicy) error {
	if p == nil {
		return nil
	}
	mode := memPolicyModes[p.Mode]
	var names []string
	for _, f := range p.Flags {
		mode |= memPolicyFlags[f]
		names = append(names, string(f))
	}
	nodes, err := parseList(p.Nodes)
	if err != nil {
		return fmt.Errorf("linux.memoryPolicy.nodes: %w", err)
	}
	var mask *unix.CPUSet // a NULL nodemask for an empty list
	if nodes.Count() > 0 {
		mask = nodes
	}
	if err := unix.SetMemPolicy(mode, mask); err != nil {
		return fmt.Errorf("linux.memoryPolicy: set_mempolicy(%s, nodes %q, flags [%s]): %w",
			p.Mode, p.Nodes, strings.Join(names, " "), err)
	}
	return nil
}

// MemoryPolicyModes lists the linux.memoryPolicy modes husk knows, sorted.
func MemoryPolicyModes() []string {
	var out []string
	for m := range memPolicyModes {
		out = append(out, string(m))
	}
	sort.Strings(out)
	return out
}

// MemoryPolicyFlags lists the linux.memoryPolicy flags husk knows, sorted.
func MemoryPolicyFlags() []string {
	var out []string
	for f := range memPolicyFlags {
		out = append(out, string(f))
	}
	sort.Strings(out)
	return out
}
