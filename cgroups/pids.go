package cgroups

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setPids: limit → pids.max. A positive limit is the maximum; 0 and -1
// mean no limit ("max"), as the spec long said and engines send.
func setPids(s *setter, p *specs.LinuxPids) error {
	if p == nil || p.Limit == nil {
		return nil
	}
	v := "max"
	if *p.Limit > 0 {
		v = fmt.Sprint(*p.Limit)
	}
	return s.write("pids", "pids.limit", "pids.max", v)
}
