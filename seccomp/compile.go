//go:build cgo && seccomp

package seccomp

import (
	"fmt"
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Enabled reports whether husk was built with seccomp support.
const Enabled = true

// Version is the libseccomp version husk runs with.
func Version() string {
	major, minor, micro := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", major, minor, micro)
}

var archValues = map[specs.Arch]libseccomp.ScmpArch{
	specs.ArchX86: libseccomp.ArchX86, specs.ArchX86_64: libseccomp.ArchAMD64,
	specs.ArchX32: libseccomp.ArchX32, specs.ArchARM: libseccomp.ArchARM,
	specs.ArchAARCH64: libseccomp.ArchARM64, specs.ArchMIPS: libseccomp.ArchMIPS,
	specs.ArchMIPS64: libseccomp.ArchMIPS64, specs.ArchMIPS64N32: libseccomp.ArchMIPS64N32,
	specs.ArchMIPSEL: libseccomp.ArchMIPSEL, specs.ArchMIPSEL64: libseccomp.ArchMIPSEL64,
	specs.ArchMIPSEL64N32: libseccomp.ArchMIPSEL64N32, specs.ArchPPC: libseccomp.ArchPPC,
	specs.ArchPPC64: libseccomp.ArchPPC64, specs.ArchPPC64LE: libseccomp.ArchPPC64LE,
	specs.ArchS390: libseccomp.ArchS390, specs.ArchS390X: libseccomp.ArchS390X,
	specs.ArchPARISC: libseccomp.ArchPARISC, specs.ArchPARISC64: libseccomp.ArchPARISC64,
	specs.ArchRISCV64: libseccomp.ArchRISCV64, specs.ArchLOONGARCH64: libseccomp.ArchLOONGARCH64,
	specs.ArchM68K: libseccomp.ArchM68K, specs.ArchSH: libseccomp.ArchSH,
	specs.ArchSHEB: libseccomp.ArchSHEB,
}

var operatorValues = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual: libseccomp.CompareNotEqual, specs.OpLessThan: libseccomp.CompareLess,
	specs.OpLessEqual: libseccomp.CompareLessOrEqual, specs.OpEqualTo: libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual, specs.OpGreaterThan: libseccomp.CompareGreater,
	specs.OpMaskedEqual: libseccomp.CompareMaskedEqual,
}

// SupportedArchitectures lists the spec's architectures this libseccomp
// can build filters for.
func SupportedArchitectures() []string {
	f, err := libseccomp.NewFilter(libseccomp.ActAllow)
	if err != nil {
		return nil
	}
	defer f.Release()
	var out []string
	for _, a := range Architectures {
		if f.AddArch(archValues[a]) == nil {
			out = append(out, string(a))
		}
	}
	return out
}

// Compile turns p, which Check accepted, into a BPF program. Syscall
// names libseccomp does not know are skipped and listed in
// Program.Skipped, so that profiles written for newer kernels load here.
func Compile(p *specs.LinuxSeccomp) (*Program, error) {
	def := action(p.DefaultAction, p.DefaultErrnoRet)
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, &FieldError{Path: "defaultAction", Err: err}
	}
	defer f.Release()
	// The native architecture is always in a new filter.
	for i, a := range p.Architectures {
		if err := f.AddArch(archValues[a]); err != nil {
			return nil, fieldErrorf(fmt.Sprintf("architectures[%d]", i), "%q: libseccomp %s cannot add it to a filter for this machine: %w", a, Version(), err)
		}
	}
	prog := &Program{Flags: loadFlags(p)}
	for i, sc := range p.Syscalls {
		if err := addRules(f, def, fmt.Sprintf("syscalls[%d]", i), sc, &prog.Skipped); err != nil {
			return nil, err
		}
	}
	if prog.BPF, err = exportBPF(f); err != nil {
		return nil, err
	}
	if n := len(prog.BPF) / 8; n > maxInstructions {
		return nil, fmt.Errorf("the filter has %d instructions, more than the kernel's limit of %d", n, maxInstructions)
	}
	return prog, nil
}

// action maps a spec action to libseccomp's; ERRNO and TRACE carry
// errnoRet, EPERM by default.
func action(a specs.LinuxSeccompAction, errnoRet *uint) libseccomp.ScmpAction {
	ret := int16(unix.EPERM)
	if errnoRet != nil {
		ret = int16(*errnoRet)
	}
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return libseccomp.ActKillThread
	case specs.ActKillProcess:
		return libseccomp.ActKillProcess
	case specs.ActTrap:
		return libseccomp.ActTrap
	case specs.ActErrno:
		return libseccomp.ActErrno.SetReturnCode(ret)
	case specs.ActTrace:
		return libseccomp.ActTrace.SetReturnCode(ret)
	case specs.ActAllow:
		return libseccomp.ActAllow
	case specs.ActLog:
		return libseccomp.ActLog
	case specs.ActNotify:
		return libseccomp.ActNotify
	}
	return libseccomp.ActInvalid
}

// addRules adds one rule per name of sc; its args are ANDed.
func addRules(f *libseccomp.ScmpFilter, def libseccomp.ScmpAction, path string, sc specs.LinuxSyscall, skipped *[]string) error {
	act := action(sc.Action, sc.ErrnoRet)
	if act == def {
		// libseccomp refuses a rule that does what the default does; it
		// would change nothing (runc skips it too).
		return nil
	}
	var conds []libseccomp.ScmpCondition
	for k, arg := range sc.Args {
		values := []uint64{arg.Value}
		if arg.Op == specs.OpMaskedEqual {
			values = append(values, arg.ValueTwo) // (arg & value) == valueTwo
		}
		c, err := libseccomp.MakeCondition(arg.Index, operatorValues[arg.Op], values...)
		if err != nil {
			return fieldErrorf(fmt.Sprintf("%s.args[%d]", path, k), "%w", err)
		}
		conds = append(conds, c)
	}
	for j, name := range sc.Names {
		nr, err := libseccomp.GetSyscallFromName(name)
		if err != nil {
			*skipped = append(*skipped, name)
			continue
		}
		if len(conds) == 0 {
			err = f.AddRule(nr, act)
		} else {
			err = f.AddRuleConditional(nr, act, conds)
		}
		if err != nil {
			return fieldErrorf(fmt.Sprintf("%s.names[%d]", path, j), "%q: adding rule: %w", name, err)
		}
	}
	return nil
}

// exportBPF renders the filter as struct sock_filter[] in native byte
// order, through a memfd (ExportBPFMem needs libseccomp 2.6).
func exportBPF(f *libseccomp.ScmpFilter) ([]byte, error) {
	fd, err := unix.MemfdCreate("husk-seccomp", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("memfd_create", err)
	}
	file := os.NewFile(uintptr(fd), "husk-seccomp")
	defer file.Close()
	if err := f.ExportBPF(file); err != nil {
		return nil, fmt.Errorf("exporting the filter: %w", err)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(file)
}
