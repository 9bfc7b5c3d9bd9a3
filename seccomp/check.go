package seccomp

import (
	"errors"
	"fmt"
	"path/filepath"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ErrSeccompNotEnabled is returned when a config asks for seccomp and
// husk was built without it.
var ErrSeccompNotEnabled = errors.New("husk was built without seccomp support")

// FieldError is a problem with one field of linux.seccomp. Path is
// relative to linux.seccomp: "syscalls[3].args[0].op".
type FieldError struct {
	Path string
	Err  error
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErrorf(path, format string, args ...any) error {
	return &FieldError{Path: path, Err: fmt.Errorf(format, args...)}
}

// Actions, Operators and Architectures are the names the runtime spec
// (v1.3) defines, in its order.
var (
	Actions = []string{
		string(specs.ActKill), string(specs.ActKillProcess), string(specs.ActKillThread),
		string(specs.ActTrap), string(specs.ActErrno), string(specs.ActTrace),
		string(specs.ActAllow), string(specs.ActLog), string(specs.ActNotify),
	}
	Operators = []string{
		string(specs.OpNotEqual), string(specs.OpLessThan), string(specs.OpLessEqual),
		string(specs.OpEqualTo), string(specs.OpGreaterEqual), string(specs.OpGreaterThan),
		string(specs.OpMaskedEqual),
	}
)

// Architectures are the spec's names; libseccomp may not know them all
// (see SupportedArchitectures).
var Architectures = []specs.Arch{
	specs.ArchX86, specs.ArchX86_64, specs.ArchX32, specs.ArchARM, specs.ArchAARCH64,
	specs.ArchMIPS, specs.ArchMIPS64, specs.ArchMIPS64N32, specs.ArchMIPSEL,
	specs.ArchMIPSEL64, specs.ArchMIPSEL64N32, specs.ArchPPC, specs.ArchPPC64,
	specs.ArchPPC64LE, specs.ArchS390, specs.ArchS390X, specs.ArchPARISC,
	specs.ArchPARISC64, specs.ArchRISCV64, specs.ArchLOONGARCH64, specs.ArchM68K,
	specs.ArchSH, specs.ArchSHEB,
}

func knownArch(a specs.Arch) bool {
	for _, k := range Architectures {
		if a == k {
			return true
		}
	}
	return false
}

// actionValues are the kernel's SECCOMP_RET_* for each action, used to
// ask the kernel whether it has them. SCMP_ACT_KILL is KILL_THREAD.
var actionValues = map[specs.LinuxSeccompAction]uint32{
	specs.ActKill: unix.SECCOMP_RET_KILL_THREAD, specs.ActKillProcess: unix.SECCOMP_RET_KILL_PROCESS,
	specs.ActKillThread: unix.SECCOMP_RET_KILL_THREAD, specs.ActTrap: unix.SECCOMP_RET_TRAP,
	specs.ActErrno: unix.SECCOMP_RET_ERRNO, specs.ActTrace: unix.SECCOMP_RET_TRACE,
	specs.ActAllow: unix.SECCOMP_RET_ALLOW, specs.ActLog: unix.SECCOMP_RET_LOG,
	specs.ActNotify: unix.SECCOMP_RET_USER_NOTIF,
}

// flagValues maps linux.seccomp.flags to SECCOMP_FILTER_FLAG_*.
var flagValues = map[specs.LinuxSeccompFlag]uint{
	"SECCOMP_FILTER_FLAG_TSYNC":            unix.SECCOMP_FILTER_FLAG_TSYNC,
	specs.LinuxSeccompFlagLog:              unix.SECCOMP_FILTER_FLAG_LOG,
	specs.LinuxSeccompFlagSpecAllow:        unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
	specs.LinuxSeccompFlagWaitKillableRecv: unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
}

// KnownFlags are the filter flags husk understands, in the spec's order.
var KnownFlags = []string{
	"SECCOMP_FILTER_FLAG_TSYNC", string(specs.LinuxSeccompFlagLog),
	string(specs.LinuxSeccompFlagSpecAllow), string(specs.LinuxSeccompFlagWaitKillableRecv),
}

// SupportedFlags are the known flags the running kernel accepts.
func SupportedFlags() []string {
	var out []string
	for _, name := range KnownFlags {
		if flagSupported(flagValues[specs.LinuxSeccompFlag(name)]) {
			out = append(out, name)
		}
	}
	return out
}

// flagSupported asks the kernel as libseccomp does: with a NULL program,
// a known flag fails with EFAULT, an unknown one with EINVAL.
// WAIT_KILLABLE_RECV is only valid with a listener.
func flagSupported(flag uint) bool {
	if flag == unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV {
		flag |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flag), 0)
	return errno == unix.EFAULT
}

// actionSupported asks the kernel whether it has the action.
func actionSupported(a specs.LinuxSeccompAction) bool {
	v := actionValues[a]
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&v)))
	return errno == 0
}

// maxErrno is the largest errno the kernel returns (MAX_ERRNO); it clamps
// larger SCMP_ACT_ERRNO data to it. TRACE data is a 16-bit message.
const (
	maxErrno    = 4095
	maxTraceMsg = 32767
)

// Check validates p without compiling it, cheaply enough for every
// create: names, ranges and combinations the spec or the kernel forbid.
// Errors are *FieldError with the path below linux.seccomp.
func Check(p *specs.LinuxSeccomp) error {
	if p == nil {
		return nil
	}
	if !Enabled {
		return &FieldError{Err: ErrSeccompNotEnabled}
	}
	if err := checkAction("defaultAction", p.DefaultAction); err != nil {
		return err
	}
	if p.DefaultAction == specs.ActNotify {
		// Every syscall of init between loading the filter and execve,
		// Go's runtime included, would wait on an agent that has not yet
		// received the listener (runc refuses it too).
		return fieldErrorf("defaultAction", "SCMP_ACT_NOTIFY cannot be the default action")
	}
	if err := checkErrno("defaultErrnoRet", p.DefaultAction, p.DefaultErrnoRet); err != nil {
		return err
	}
	for i, a := range p.Architectures {
		if !knownArch(a) {
			return fieldErrorf(fmt.Sprintf("architectures[%d]", i), "%q: unknown architecture", a)
		}
	}
	for i, f := range p.Flags {
		path := fmt.Sprintf("flags[%d]", i)
		v, ok := flagValues[f]
		if !ok {
			return fieldErrorf(path, "%q: unknown flag", f)
		}
		if !flagSupported(v) {
			return fieldErrorf(path, "%q: not supported by this kernel", f)
		}
	}
	notify := -1
	for i, sc := range p.Syscalls {
		if err := checkSyscall(fmt.Sprintf("syscalls[%d]", i), sc); err != nil {
			return err
		}
		if sc.Action == specs.ActNotify && notify < 0 {
			notify = i
		}
	}
	return checkListener(p, notify)
}

func checkAction(path string, a specs.LinuxSeccompAction) error {
	if a == "" {
		return fieldErrorf(path, "must be set")
	}
	if _, ok := actionValues[a]; !ok {
		return fieldErrorf(path, "%q: unknown action", a)
	}
	if !actionSupported(a) {
		return fieldErrorf(path, "%q: not supported by this kernel", a)
	}
	return nil
}

// checkErrno: "When the action doesn't support an errno, the runtime
// MUST print and error and fail."
func checkErrno(path string, a specs.LinuxSeccompAction, errno *uint) error {
	switch {
	case errno == nil:
		return nil
	case a != specs.ActErrno && a != specs.ActTrace:
		return fieldErrorf(path, "%s takes no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)", a)
	case a == specs.ActErrno && *errno > maxErrno:
		return fieldErrorf(path, "%d: larger than the largest errno, %d", *errno, maxErrno)
	case a == specs.ActTrace && *errno > maxTraceMsg:
		return fieldErrorf(path, "%d: larger than %d", *errno, maxTraceMsg)
	}
	return nil
}

func checkSyscall(path string, sc specs.LinuxSyscall) error {
	if len(sc.Names) == 0 {
		return fieldErrorf(path+".names", "must name at least one syscall")
	}
	for j, name := range sc.Names {
		if name == "" {
			return fieldErrorf(fmt.Sprintf("%s.names[%d]", path, j), "empty syscall name")
		}
	}
	if err := checkAction(path+".action", sc.Action); err != nil {
		return err
	}
	if err := checkErrno(path+".errnoRet", sc.Action, sc.ErrnoRet); err != nil {
		return err
	}
	var seen [6]bool
	for k, arg := range sc.Args {
		argPath := fmt.Sprintf("%s.args[%d]", path, k)
		if arg.Index > 5 {
			return fieldErrorf(argPath+".index", "%d: syscalls have 6 arguments (0 to 5)", arg.Index)
		}
		if !knownOperator(arg.Op) {
			return fieldErrorf(argPath+".op", "%q: unknown operator", arg.Op)
		}
		// The spec ANDs the args of one rule; libseccomp cannot AND two
		// conditions on one argument (runc turns them into an OR).
		if seen[arg.Index] {
			return fieldErrorf(argPath+".index", "%d: a second condition on the same argument is not supported (libseccomp cannot AND them)", arg.Index)
		}
		seen[arg.Index] = true
	}
	return nil
}

// checkListener: listenerPath is needed by SCMP_ACT_NOTIFY, and
// "listenerMetadata ... MUST NOT be set if listenerPath is not set".
func checkListener(p *specs.LinuxSeccomp, notify int) error {
	if p.ListenerMetadata != "" && p.ListenerPath == "" {
		return fieldErrorf("listenerMetadata", "set without listenerPath")
	}
	if notify >= 0 && p.ListenerPath == "" {
		return fieldErrorf("listenerPath", "required by SCMP_ACT_NOTIFY in syscalls[%d]", notify)
	}
	if p.ListenerPath == "" || notify < 0 {
		return nil // "If the SCMP_ACT_NOTIFY action is not used this value is ignored."
	}
	if !filepath.IsAbs(p.ListenerPath) {
		return fieldErrorf("listenerPath", "%q: must be an absolute path", p.ListenerPath)
	}
	if len(p.ListenerPath) >= len(unix.RawSockaddrUnix{}.Path) {
		return fieldErrorf("listenerPath", "%q: longer than a unix socket path may be", p.ListenerPath)
	}
	return nil
}

func knownOperator(op specs.LinuxSeccompOperator) bool {
	for _, o := range Operators {
		if string(op) == o {
			return true
		}
	}
	return false
}
