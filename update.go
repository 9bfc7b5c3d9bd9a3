package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
)

var updateCommand = &cli.Command{
	Name:      "update",
	Usage:     "change the resource limits of a running container",
	ArgsUsage: "ID",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: "linux.resources JSON from this file, or - for stdin"},
		&cli.StringFlag{Name: "memory", Usage: "memory limit in bytes (k, m, g suffixes; -1 unlimited)"},
		&cli.StringFlag{Name: "memory-reservation", Usage: "memory soft limit in bytes"},
		&cli.StringFlag{Name: "memory-swap", Usage: "memory+swap limit in bytes (-1 unlimited)"},
		&cli.StringFlag{Name: "kernel-memory", Usage: "ignored: obsolete"},
		&cli.StringFlag{Name: "kernel-memory-tcp", Usage: "TCP buffer limit (refused on cgroup v2)"},
		&cli.StringFlag{Name: "pids-limit", Usage: "maximum number of tasks (-1 or 0 unlimited)"},
		&cli.StringFlag{Name: "cpu-period", Usage: "CPU CFS period in microseconds"},
		&cli.StringFlag{Name: "cpu-quota", Usage: "CPU CFS quota in microseconds (-1 unlimited)"},
		&cli.StringFlag{Name: "cpu-share", Aliases: []string{"cpu-shares"}, Usage: "CPU shares (converted to cpu.weight)"},
		&cli.StringFlag{Name: "cpu-burst", Usage: "CPU burst in microseconds"},
		&cli.StringFlag{Name: "cpu-idle", Usage: "1 to make the cgroup SCHED_IDLE"},
		&cli.StringFlag{Name: "cpu-rt-period", Usage: "refused: cgroup v1 only"},
		&cli.StringFlag{Name: "cpu-rt-runtime", Usage: "refused: cgroup v1 only"},
		&cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs to run on (0-3,5)"},
		&cli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes to use"},
		&cli.StringFlag{Name: "blkio-weight", Usage: "block IO weight (10-1000)"},
		&cli.StringFlag{Name: "l3-cache-schema", Usage: "refused: Intel RDT is not supported"},
		&cli.StringFlag{Name: "mem-bw-schema", Usage: "refused: Intel RDT is not supported"},
	},
	Action: func(c *cli.Context) error {
		res, err := updateResources(c)
		if err != nil {
			return err
		}
		ctr, err := loadContainer(c)
		if err != nil {
			return err
		}
		defer ctr.Close()
		return ctr.Update(res)
	},
}

// updateResources reads --resources, then lets each flag override.
func updateResources(c *cli.Context) (*specs.LinuxResources, error) {
	res := &specs.LinuxResources{}
	if path := c.String("resources"); path != "" {
		var data []byte
		var err error
		if path == "-" {
			data, err = io.ReadAll(os.Stdin)
		} else {
			data, err = os.ReadFile(path)
		}
		if err != nil {
			return nil, fmt.Errorf("reading --resources: %w", err)
		}
		if err := json.Unmarshal(data, res); err != nil {
			return nil, fmt.Errorf("parsing --resources: %w", err)
		}
	}
	for _, f := range []string{"l3-cache-schema", "mem-bw-schema"} {
		if c.IsSet(f) {
			return nil, fmt.Errorf("--%s: Intel RDT is not supported", f)
		}
	}
	p := flagParser{c: c}
	mem := func() *specs.LinuxMemory {
		if res.Memory == nil {
			res.Memory = &specs.LinuxMemory{}
		}
		return res.Memory
	}
	cpu := func() *specs.LinuxCPU {
		if res.CPU == nil {
			res.CPU = &specs.LinuxCPU{}
		}
		return res.CPU
	}
	if v, ok := p.bytes("memory"); ok {
		mem().Limit = &v
	}
	if v, ok := p.bytes("memory-reservation"); ok {
		mem().Reservation = &v
	}
	if v, ok := p.bytes("memory-swap"); ok {
		mem().Swap = &v
	}
	if v, ok := p.bytes("kernel-memory-tcp"); ok {
		mem().KernelTCP = &v
	}
	if v, ok := p.int("pids-limit"); ok {
		res.Pids = &specs.LinuxPids{Limit: &v}
	}
	if v, ok := p.uint("cpu-period"); ok {
		cpu().Period = &v
	}
	if v, ok := p.int("cpu-quota"); ok {
		cpu().Quota = &v
	}
	if v, ok := p.uint("cpu-share"); ok {
		cpu().Shares = &v
	}
	if v, ok := p.uint("cpu-burst"); ok {
		cpu().Burst = &v
	}
	if v, ok := p.int("cpu-idle"); ok {
		cpu().Idle = &v
	}
	if v, ok := p.uint("cpu-rt-period"); ok {
		cpu().RealtimePeriod = &v
	}
	if v, ok := p.int("cpu-rt-runtime"); ok {
		cpu().RealtimeRuntime = &v
	}
	if c.IsSet("cpuset-cpus") {
		cpu().Cpus = c.String("cpuset-cpus")
	}
	if c.IsSet("cpuset-mems") {
		cpu().Mems = c.String("cpuset-mems")
	}
	if v, ok := p.uint("blkio-weight"); ok {
		w := uint16(v)
		res.BlockIO = &specs.LinuxBlockIO{Weight: &w}
	}
	return res, p.err
}

// flagParser parses numeric flags, keeping the first error.
type flagParser struct {
	c   *cli.Context
	err error
}

func (p *flagParser) raw(name string) (string, bool) {
	if !p.c.IsSet(name) || p.err != nil {
		return "", false
	}
	return p.c.String(name), true
}

func (p *flagParser) int(name string) (int64, bool) {
	s, ok := p.raw(name)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		p.err = fmt.Errorf("--%s: %q is not a number", name, s)
		return 0, false
	}
	return v, true
}

func (p *flagParser) uint(name string) (uint64, bool) {
	s, ok := p.raw(name)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		p.err = fmt.Errorf("--%s: %q is not a non-negative number", name, s)
		return 0, false
	}
	return v, true
}

// bytes parses a size: a number with an optional k, m, g or t suffix
// (powers of 1024, an optional trailing b), or -1 for unlimited.
func (p *flagParser) bytes(name string) (int64, bool) {
	s, ok := p.raw(name)
	if !ok {
		return 0, false
	}
	v, err := parseBytes(s)
	if err != nil {
		p.err = fmt.Errorf("--%s: %w", name, err)
		return 0, false
	}
	return v, true
}

func parseBytes(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	t := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "b")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		}
		if mult != 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	return v * mult, nil
}
