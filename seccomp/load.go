package seccomp

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Program is a compiled filter, as the parent hands it to init.
type Program struct {
	// BPF is libseccomp's struct sock_filter[], in native byte order.
	BPF []byte `json:"bpf"`
	// Flags are the SECCOMP_FILTER_FLAG_* bits for seccomp(2).
	Flags uint `json:"flags"`
	// Skipped are syscall names libseccomp does not know (not sent).
	Skipped []string `json:"-"`
}

// maxInstructions is what the kernel accepts (BPF_MAXINSNS) less the
// prologue Load puts in front.
const maxInstructions = 4096 - prologueLen

// loadFlags derives the seccomp(2) flags from the spec's.
func loadFlags(p *specs.LinuxSeccomp) uint {
	var flags uint
	for _, f := range p.Flags {
		flags |= flagValues[f]
	}
	if !usesNotify(p) {
		// It only concerns a listener, and the kernel refuses it without
		// one (libseccomp drops it too).
		return flags &^ unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
	}
	flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	if flags&unix.SECCOMP_FILTER_FLAG_TSYNC != 0 {
		// Both return a value; the kernel wants ESRCH for a failed sync.
		flags |= unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
	}
	return flags
}

func usesNotify(p *specs.LinuxSeccomp) bool {
	for _, sc := range p.Syscalls {
		if sc.Action == specs.ActNotify {
			return true
		}
	}
	return false
}

// Filter is a loaded filter, seen from the process that loaded it.
type Filter struct {
	// Listener is the notify fd (close-on-exec), or -1 without one.
	Listener int
	key      [3]uintptr
}

// Load installs the program on the calling thread (every thread with
// TSYNC) behind a prologue that lets through the runtime's own last
// syscalls, those made with Filter.Syscall. It needs no_new_privs or
// CAP_SYS_ADMIN.
func (p *Program) Load() (*Filter, error) {
	body, err := p.instructions()
	if err != nil {
		return nil, err
	}
	f := &Filter{Listener: -1}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("making the exemption key: %w", err)
	}
	for i := range f.key {
		f.key[i] = uintptr(binary.NativeEndian.Uint64(raw[8*i:]))
	}
	pro, err := prologue(f.key)
	if err != nil {
		return nil, err
	}
	insns := append(pro, body...)
	fprog := unix.SockFprog{Len: uint16(len(insns)), Filter: &insns[0]}
	r, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(p.Flags), uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(insns)
	switch {
	case errno != 0:
		return nil, os.NewSyscallError("seccomp", errno)
	case p.Flags&unix.SECCOMP_FILTER_FLAG_NEW_LISTENER != 0:
		f.Listener = int(r)
	case p.Flags&unix.SECCOMP_FILTER_FLAG_TSYNC != 0 && r != 0:
		return nil, fmt.Errorf("seccomp: thread %d could not be synchronised", r)
	}
	return f, nil
}

// instructions decodes BPF.
func (p *Program) instructions() ([]unix.SockFilter, error) {
	n := len(p.BPF) / 8
	if n == 0 || len(p.BPF)%8 != 0 || n > maxInstructions {
		return nil, fmt.Errorf("seccomp: malformed program of %d bytes", len(p.BPF))
	}
	out := make([]unix.SockFilter, n)
	for i := range out {
		b := p.BPF[8*i:]
		out[i] = unix.SockFilter{
			Code: binary.NativeEndian.Uint16(b), Jt: b[2], Jf: b[3],
			K: binary.NativeEndian.Uint32(b[4:]),
		}
	}
	return out, nil
}

// Syscall makes one of the runtime's last syscalls (execve, capset,
// sendmsg, recvmsg: see exempt), which the filter lets through whatever
// its rules say: the key rides in arguments 3 to 5, which these syscalls
// ignore. The key exists only in this process's memory, so the program
// that execve starts cannot present it.
//
//go:uintptrescapes
func (f *Filter) Syscall(trap, a1, a2, a3 uintptr) (uintptr, unix.Errno) {
	r, _, errno := unix.RawSyscall6(trap, a1, a2, a3, f.key[0], f.key[1], f.key[2])
	return r, errno
}

// exempt are the syscalls init still makes once the filter is on: the
// listener handover to husk (sendmsg, recvmsg), dropping the
// CAP_SYS_ADMIN kept to load the filter (capset), and execve. Only with
// the key do they bypass the filter.
var exempt = []uint32{unix.SYS_EXECVE, unix.SYS_CAPSET, unix.SYS_SENDMSG, unix.SYS_RECVMSG}

// prologueLen is len(prologue(...)): arch check (2), nr checks (1 +
// len(exempt)), key checks (12), allow (1).
const prologueLen = 2 + 1 + 4 + 12 + 1

// struct seccomp_data offsets.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// prologue is cBPF that returns ALLOW for an exempt syscall of the
// native architecture whose arguments 3..5 equal key, and otherwise
// falls through to the program that follows (libseccomp's jumps are
// relative, so it runs unchanged).
func prologue(key [3]uintptr) ([]unix.SockFilter, error) {
	arch, ok := auditArch[runtime.GOARCH]
	if !ok {
		return nil, errors.New("seccomp: no audit architecture known for " + runtime.GOARCH)
	}
	var p []unix.SockFilter
	var toEnd []int // jumps whose false branch leaves the prologue
	load := func(off uint32) {
		p = append(p, unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off})
	}
	mustEqual := func(k uint32) {
		p = append(p, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: k})
		toEnd = append(toEnd, len(p)-1)
	}
	load(offArch)
	mustEqual(arch)
	load(offNr)
	for i, nr := range exempt {
		if i == len(exempt)-1 {
			mustEqual(nr)
			break
		}
		// Equal: jump past the rest of the list to the key checks.
		p = append(p, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: nr, Jt: uint8(len(exempt) - 1 - i)})
	}
	lo, hi := uint32(0), uint32(4)
	if binary.NativeEndian.Uint16([]byte{0, 1}) == 1 { // big endian
		lo, hi = 4, 0
	}
	for i, k := range key {
		off := uint32(offArgs + 8*(3+i))
		load(off + lo)
		mustEqual(uint32(uint64(k)))
		load(off + hi)
		mustEqual(uint32(uint64(k) >> 32))
	}
	p = append(p, unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW})
	for _, at := range toEnd {
		p[at].Jf = uint8(len(p) - at - 1)
	}
	return p, nil
}

// auditArch is the AUDIT_ARCH_* seccomp_data.arch holds for Go's native
// system call ABI.
var auditArch = map[string]uint32{
	"386": unix.AUDIT_ARCH_I386, "amd64": unix.AUDIT_ARCH_X86_64,
	"arm": unix.AUDIT_ARCH_ARM, "arm64": unix.AUDIT_ARCH_AARCH64,
	"loong64": unix.AUDIT_ARCH_LOONGARCH64, "mips": unix.AUDIT_ARCH_MIPS,
	"mipsle": unix.AUDIT_ARCH_MIPSEL, "mips64": unix.AUDIT_ARCH_MIPS64,
	"mips64le": unix.AUDIT_ARCH_MIPSEL64, "ppc64": unix.AUDIT_ARCH_PPC64,
	"ppc64le": unix.AUDIT_ARCH_PPC64LE, "riscv64": unix.AUDIT_ARCH_RISCV64,
	"s390x": unix.AUDIT_ARCH_S390X,
}
