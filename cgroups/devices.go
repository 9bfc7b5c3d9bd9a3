package cgroups

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Device access control on cgroup v2 is an eBPF program
// (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the cgroup. The kernel calls
// it for each open/mknod of a device node with the device type, major,
// minor and the access asked for; it returns 1 to allow, 0 to deny.

// Access and type bits of struct bpf_cgroup_dev_ctx.
const (
	devTypeBlock = 1 // BPF_DEVCG_DEV_BLOCK
	devTypeChar  = 2 // BPF_DEVCG_DEV_CHAR
	accMknod     = 1 // BPF_DEVCG_ACC_MKNOD
	accRead      = 2 // BPF_DEVCG_ACC_READ
	accWrite     = 4 // BPF_DEVCG_ACC_WRITE
)

// standardDevices are allowed in every container, after the config's own
// rules, as runc does: the devices the runtime spec makes every container
// have, plus the terminal devices, and mknod of any node (opening one
// still needs a rule).
var standardDevices = []specs.LinuxDeviceCgroup{
	rule("c", -1, -1, "m"), rule("b", -1, -1, "m"),
	rule("c", 1, 3, "rwm"), rule("c", 1, 5, "rwm"), rule("c", 1, 7, "rwm"), // null zero full
	rule("c", 1, 8, "rwm"), rule("c", 1, 9, "rwm"), rule("c", 5, 0, "rwm"), // random urandom tty
	rule("c", 5, 1, "rwm"), rule("c", 5, 2, "rwm"), rule("c", 136, -1, "rwm"), // console ptmx pts
}

func rule(typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
	r := specs.LinuxDeviceCgroup{Allow: true, Type: typ, Access: access}
	if major >= 0 {
		r.Major = &major
	}
	if minor >= 0 {
		r.Minor = &minor
	}
	return r
}

// DeviceRules is the full, ordered rule list for a container: the
// config's rules, then its linux.devices, then the standard devices.
// Later rules win; anything no rule matches is denied.
func DeviceRules(rules []specs.LinuxDeviceCgroup, devices []specs.LinuxDevice) []specs.LinuxDeviceCgroup {
	out := append([]specs.LinuxDeviceCgroup{}, rules...)
	for _, d := range devices {
		t := d.Type
		if t == "u" {
			t = "c"
		}
		if t == "p" {
			continue // FIFOs are not device-controlled
		}
		out = append(out, rule(t, d.Major, d.Minor, "rwm"))
	}
	return append(out, standardDevices...)
}

// setDevices compiles the rules and attaches the program, replacing any
// program attached before without a moment where all is allowed: the new
// one is attached next to the old (with BPF_F_ALLOW_MULTI the kernel
// requires every program to allow), then the old ones are detached.
func (m *Manager) setDevices(rules []specs.LinuxDeviceCgroup, devices []specs.LinuxDevice) error {
	insns, err := compileDeviceRules(DeviceRules(rules, devices))
	if err != nil {
		return err
	}
	dir, err := os.OpenFile(m.Path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening cgroup: %w", err)
	}
	defer dir.Close()
	prog, err := loadDeviceProgram(insns)
	if err != nil {
		return fmt.Errorf("linux.resources.devices: loading the device filter: %w", err)
	}
	defer unix.Close(prog)
	old, err := attachedDevicePrograms(int(dir.Fd()))
	if err != nil {
		return err
	}
	if err := attachDeviceProgram(int(dir.Fd()), prog); err != nil {
		return fmt.Errorf("linux.resources.devices: attaching the device filter: %w", err)
	}
	for _, id := range old {
		if err := detachDeviceProgram(int(dir.Fd()), id); err != nil {
			return fmt.Errorf("linux.resources.devices: detaching the previous device filter: %w", err)
		}
	}
	return nil
}

// compileDeviceRules builds the program. The rules are tested last to
// first and the first match decides: that is "later rules win". An allow
// rule matches when it grants every access asked for; a deny rule when it
// forbids any of them.
//
// A rule with nothing to test (allow "a *:* rwm", as --privileged
// containers have) matches everything: the program ends with it, since
// the verifier rejects the unreachable rules before it and the default.
func compileDeviceRules(rules []specs.LinuxDeviceCgroup) ([]bpfInsn, error) {
	prog := []bpfInsn{
		ldxW(regType, regCtx, 0),        // r2 = ctx->access_type
		aluImm(aluAnd, regType, 0xffff), // r2 &= 0xffff: device type
		ldxW(regAccess, regCtx, 0),      // r3 = ctx->access_type
		aluImm(aluRsh, regAccess, 16),   // r3 >>= 16: access asked for
		ldxW(regMajor, regCtx, 4),       // r4 = ctx->major
		ldxW(regMinor, regCtx, 8),       // r5 = ctx->minor
	}
	decided := false
	for i := len(rules) - 1; i >= 0; i-- {
		block, err := ruleBlock(rules[i]) // shadowed rules are still checked
		if err != nil {
			return nil, fmt.Errorf("linux.resources.devices[%d]: %w", i, err)
		}
		if !decided {
			prog = append(prog, block...)
			decided = len(block) == 2 // no test: just the verdict and exit
		}
	}
	if decided {
		return prog, nil
	}
	return append(prog, movImm(regRet, 0), exit()), nil
}

// ruleBlock tests one rule: each failed test jumps past the block's end.
func ruleBlock(r specs.LinuxDeviceCgroup) ([]bpfInsn, error) {
	var tests []bpfInsn
	switch r.Type {
	case "", "a":
	case "c":
		tests = append(tests, jneImm(regType, devTypeChar))
	case "b":
		tests = append(tests, jneImm(regType, devTypeBlock))
	default:
		return nil, fmt.Errorf("type %q: want a, b or c", r.Type)
	}
	acc, err := accessBits(r.Access)
	if err != nil {
		return nil, err
	}
	if acc != accMknod|accRead|accWrite || !r.Allow {
		tests = append(tests, movReg(regTmp, regAccess))
		if r.Allow { // asked ⊆ granted: nothing outside acc
			tests = append(tests, aluImm(aluAnd, regTmp, int32(^acc&7)), jneImm(regTmp, 0))
		} else { // asked ∩ forbidden ≠ ∅
			tests = append(tests, aluImm(aluAnd, regTmp, int32(acc)), jeqImm(regTmp, 0))
		}
	}
	if r.Major != nil && *r.Major >= 0 {
		tests = append(tests, jneImm(regMajor, int32(*r.Major)))
	}
	if r.Minor != nil && *r.Minor >= 0 {
		tests = append(tests, jneImm(regMinor, int32(*r.Minor)))
	}
	verdict := int32(0)
	if r.Allow {
		verdict = 1
	}
	block := append(tests, movImm(regRet, verdict), exit())
	for i := range tests {
		if tests[i].isJump() {
			block[i].off = int16(len(block) - 1 - i) // to the first insn after the block
		}
	}
	return block, nil
}

func accessBits(access string) (uint32, error) {
	if access == "" {
		return accMknod | accRead | accWrite, nil
	}
	var bits uint32
	for _, c := range access {
		switch c {
		case 'r':
			bits |= accRead
		case 'w':
			bits |= accWrite
		case 'm':
			bits |= accMknod
		default:
			return 0, fmt.Errorf("access %q: want a combination of r, w and m", access)
		}
	}
	return bits, nil
}
