package cgroups

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Stats is a snapshot of the cgroup's accounting, in the JSON shape runc's
// `events --stats` prints (containerd and tools read it by these names).
type Stats struct {
	CPU     CPUStats                `json:"cpu"`
	Memory  MemoryStats             `json:"memory"`
	Pids    PidsStats               `json:"pids"`
	Blkio   BlkioStats              `json:"blkio"`
	Hugetlb map[string]HugetlbStats `json:"hugetlb"`
}

type CPUStats struct {
	Usage      CPUUsage   `json:"usage"`
	Throttling Throttling `json:"throttling"`
}

// CPUUsage is in nanoseconds.
type CPUUsage struct {
	Total  uint64 `json:"total"`
	Kernel uint64 `json:"kernel"`
	User   uint64 `json:"user"`
}

type Throttling struct {
	Periods          uint64 `json:"periods,omitempty"`
	ThrottledPeriods uint64 `json:"throttledPeriods,omitempty"`
	ThrottledTime    uint64 `json:"throttledTime,omitempty"`
}

type MemoryStats struct {
	Cache uint64            `json:"cache,omitempty"`
	Usage MemoryEntry       `json:"usage"`
	Swap  MemoryEntry       `json:"swap"`
	Raw   map[string]uint64 `json:"raw,omitempty"`
}

type MemoryEntry struct {
	Limit   uint64 `json:"limit"`
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

type PidsStats struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

type BlkioStats struct {
	IoServiceBytesRecursive []BlkioEntry `json:"ioServiceBytesRecursive,omitempty"`
	IoServicedRecursive     []BlkioEntry `json:"ioServicedRecursive,omitempty"`
}

type BlkioEntry struct {
	Major uint64 `json:"major"`
	Minor uint64 `json:"minor"`
	Op    string `json:"op"`
	Value uint64 `json:"value"`
}

type HugetlbStats struct {
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// Stats reads what the cgroup's controllers account. Files of controllers
// that are not enabled are skipped: their fields stay zero.
func (m *Manager) Stats() (*Stats, error) {
	if m == nil {
		return nil, ErrNoCgroup
	}
	st := &Stats{Hugetlb: map[string]HugetlbStats{}}
	if data, err := os.ReadFile(filepath.Join(m.Path, "cpu.stat")); err == nil {
		kv := keyValues(data)
		st.CPU.Usage = CPUUsage{Total: kv["usage_usec"] * 1000, Kernel: kv["system_usec"] * 1000, User: kv["user_usec"] * 1000}
		st.CPU.Throttling = Throttling{Periods: kv["nr_periods"], ThrottledPeriods: kv["nr_throttled"], ThrottledTime: kv["throttled_usec"] * 1000}
	} else {
		return nil, err // cpu.stat is always there: the cgroup is gone
	}
	if data, err := os.ReadFile(filepath.Join(m.Path, "memory.stat")); err == nil {
		st.Memory.Raw = keyValues(data)
		st.Memory.Cache = st.Memory.Raw["file"]
		st.Memory.Usage = MemoryEntry{
			Usage: m.readUint("memory.current"), Max: m.readUint("memory.peak"),
			Limit: m.readUint("memory.max"), Failcnt: m.Events()["max"],
		}
		swap := m.readUint("memory.swap.current")
		st.Memory.Swap = MemoryEntry{Usage: swap + st.Memory.Usage.Usage, Limit: addCapped(m.readUint("memory.swap.max"), st.Memory.Usage.Limit)}
	}
	st.Pids = PidsStats{Current: m.readUint("pids.current"), Limit: m.readUint("pids.max")}
	if st.Pids.Limit == math.MaxUint64 {
		st.Pids.Limit = 0
	}
	st.Blkio = m.ioStats()
	matches, _ := filepath.Glob(filepath.Join(m.Path, "hugetlb.*.current"))
	for _, f := range matches {
		size := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "hugetlb."), ".current")
		if strings.Contains(size, ".") {
			continue // hugetlb.<size>.rsvd.current
		}
		events, _ := os.ReadFile(filepath.Join(m.Path, "hugetlb."+size+".events"))
		st.Hugetlb[size] = HugetlbStats{
			Usage: m.readUint("hugetlb." + size + ".current"), Max: m.readUint("hugetlb." + size + ".max"),
			Failcnt: keyValues(events)["max"],
		}
	}
	return st, nil
}

// Events returns memory.events: counts of "low", "high", "max", "oom",
// "oom_kill", ... An OOM kill shows as a rising "oom_kill".
func (m *Manager) Events() map[string]uint64 {
	if m == nil {
		return map[string]uint64{}
	}
	data, err := os.ReadFile(filepath.Join(m.Path, "memory.events"))
	if err != nil {
		return map[string]uint64{}
	}
	return keyValues(data)
}

// readUint reads a one-number file; "max" reads as the largest uint64.
func (m *Manager) readUint(name string) uint64 {
	s, err := readFile(m.Path, name)
	if err != nil {
		return 0
	}
	if s == "max" {
		return math.MaxUint64
	}
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

func addCapped(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

// ioStats turns io.stat lines ("8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...")
// into runc's blkio entries.
func (m *Manager) ioStats() BlkioStats {
	var st BlkioStats
	data, err := os.ReadFile(filepath.Join(m.Path, "io.stat"))
	if err != nil {
		return st
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		majStr, minStr, _ := strings.Cut(fields[0], ":")
		major, _ := strconv.ParseUint(majStr, 10, 64)
		minor, _ := strconv.ParseUint(minStr, 10, 64)
		for _, kv := range fields[1:] {
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.ParseUint(v, 10, 64)
			e := BlkioEntry{Major: major, Minor: minor, Value: n}
			switch k {
			case "rbytes":
				e.Op = "Read"
				st.IoServiceBytesRecursive = append(st.IoServiceBytesRecursive, e)
			case "wbytes":
				e.Op = "Write"
				st.IoServiceBytesRecursive = append(st.IoServiceBytesRecursive, e)
			case "rios":
				e.Op = "Read"
				st.IoServicedRecursive = append(st.IoServicedRecursive, e)
			case "wios":
				e.Op = "Write"
				st.IoServicedRecursive = append(st.IoServicedRecursive, e)
			}
		}
	}
	return st
}
