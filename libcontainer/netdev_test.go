package libcontainer

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestCheckIfName(t *testing.T) {
	for _, ok := range []string{"eth0", "a", "abcdefghijklmno", "veth-1.2_x"} {
		if err := checkIfName(ok, false); err != nil {
			t.Errorf("checkIfName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "a:b", "a b", "a\tb", "abcdefghijklmnop", "eth%d"} {
		if err := checkIfName(bad, false); err == nil {
			t.Errorf("checkIfName(%q) accepted", bad)
		}
	}
	if err := checkIfName("ctr%d", true); err != nil {
		t.Errorf("template refused: %v", err)
	}
	for _, bad := range []string{"c%dx", "%d%d", "c%s"} {
		if err := checkIfName(bad, true); err == nil {
			t.Errorf("checkIfName(%q, template) accepted", bad)
		}
	}
}

// An address keeps what defines it; a label named after the device
// follows the device's new name, any other label is dropped (the kernel
// then names it after the device).
func TestAddrAttrs(t *testing.T) {
	a := addr{family: unix.AF_INET, prefixLen: 24, attrs: []nlAttr{
		{unix.IFA_ADDRESS, []byte{10, 0, 0, 1}},
		{unix.IFA_LOCAL, []byte{10, 0, 0, 1}},
		strAttr(unix.IFA_LABEL, "eth0:web"),
		{unix.IFA_CACHEINFO, make([]byte, 16)},
	}}
	got := addrAttrs(a, "eth0", "ctr0")
	if len(got) != 3 || got[2].typ != unix.IFA_LABEL || string(got[2].data) != "ctr0:web\x00" {
		t.Errorf("addrAttrs = %v", got)
	}
	a.attrs[2] = strAttr(unix.IFA_LABEL, "eth0x")
	if got := addrAttrs(a, "eth0", "ctr0"); len(got) != 2 {
		t.Errorf("foreign label kept: %v", got)
	}
	if d := describeAddr(a); d != "10.0.0.1/24" {
		t.Errorf("describeAddr = %s", d)
	}
}
