package cgroups

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setIO: weight → io.bfq.weight when BFQ is there (same 1..1000 scale),
// else io.weight (1..10000, converted); weightDevice per device the same
// way; throttle*Device → io.max (0 removes a limit). Leaf weights are a
// cgroup v1 notion and are refused.
func setIO(s *setter, b *specs.LinuxBlockIO) error {
	if b == nil {
		return nil
	}
	if b.LeafWeight != nil {
		return fieldErr("blockIO.leafWeight", "leaf weights are a cgroup v1 feature; cgroup v2 has none")
	}
	if b.Weight != nil && *b.Weight != 0 {
		if err := setIOWeight(s, "blockIO.weight", "", *b.Weight); err != nil {
			return err
		}
	}
	for i, d := range b.WeightDevice {
		field := fmt.Sprintf("blockIO.weightDevice[%d]", i)
		if d.LeafWeight != nil {
			return fieldErr(field+".leafWeight", "leaf weights are a cgroup v1 feature; cgroup v2 has none")
		}
		if d.Weight != nil {
			if err := setIOWeight(s, field, fmt.Sprintf("%d:%d ", d.Major, d.Minor), *d.Weight); err != nil {
				return err
			}
		}
	}
	throttles := []struct {
		name, key string
		list      []specs.LinuxThrottleDevice
	}{
		{"throttleReadBpsDevice", "rbps", b.ThrottleReadBpsDevice},
		{"throttleWriteBpsDevice", "wbps", b.ThrottleWriteBpsDevice},
		{"throttleReadIOPSDevice", "riops", b.ThrottleReadIOPSDevice},
		{"throttleWriteIOPSDevice", "wiops", b.ThrottleWriteIOPSDevice},
	}
	for _, t := range throttles {
		for i, d := range t.list {
			rate := "max"
			if d.Rate != 0 {
				rate = fmt.Sprint(d.Rate)
			}
			v := fmt.Sprintf("%d:%d %s=%s", d.Major, d.Minor, t.key, rate)
			if err := s.write("io", fmt.Sprintf("blockIO.%s[%d]", t.name, i), "io.max", v); err != nil {
				return err
			}
		}
	}
	return nil
}

func setIOWeight(s *setter, field, device string, weight uint16) error {
	if s.exists("io.bfq.weight") {
		return s.write("io", field, "io.bfq.weight", device+fmt.Sprint(weight))
	}
	return s.write("io", field, "io.weight", device+fmt.Sprint(BlkioWeightToIOWeight(weight)))
}

// BlkioWeightToIOWeight maps blkio.weight [10, 1000] linearly onto
// io.weight [1, 10000].
func BlkioWeightToIOWeight(w uint16) uint64 {
	if w < 10 {
		w = 10
	}
	return 1 + (uint64(w)-10)*9999/990
}
