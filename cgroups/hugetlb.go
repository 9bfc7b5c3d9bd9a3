package cgroups

import (
	"fmt"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setHugetlb: each limit → hugetlb.<pageSize>.max (and .rsvd.max where
// the kernel accounts reservations, so both agree).
func setHugetlb(s *setter, limits []specs.LinuxHugepageLimit) error {
	for i, l := range limits {
		field := fmt.Sprintf("hugepageLimits[%d]", i)
		file := "hugetlb." + l.Pagesize + ".max"
		if s.avail["hugetlb"] && !s.exists(file) {
			return fieldErr(field+".pageSize", "%q: this kernel has no such huge page size", l.Pagesize)
		}
		if err := s.write("hugetlb", field, file, fmt.Sprint(l.Limit)); err != nil {
			return err
		}
		if rsvd := "hugetlb." + l.Pagesize + ".rsvd.max"; s.exists(rsvd) {
			if err := s.write("hugetlb", field, rsvd, fmt.Sprint(l.Limit)); err != nil {
				return err
			}
		}
	}
	return nil
}

// setRdma: each device → one rdma.max line; an unset count is "max".
func setRdma(s *setter, rdma map[string]specs.LinuxRdma) error {
	devices := make([]string, 0, len(rdma))
	for dev := range rdma {
		devices = append(devices, dev)
	}
	sort.Strings(devices)
	for _, dev := range devices {
		r := rdma[dev]
		handles, objects := "max", "max"
		if r.HcaHandles != nil {
			handles = fmt.Sprint(*r.HcaHandles)
		}
		if r.HcaObjects != nil {
			objects = fmt.Sprint(*r.HcaObjects)
		}
		v := fmt.Sprintf("%s hca_handle=%s hca_object=%s", dev, handles, objects)
		if err := s.write("rdma", "rdma."+dev, "rdma.max", v); err != nil {
			return err
		}
	}
	return nil
}
