package cgroups

import (
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The few bpf(2) calls the device filter needs, written out rather than
// pulling a general eBPF library into every husk invocation.

// bpfInsn is struct bpf_insn.
type bpfInsn struct {
	code uint8
	regs uint8 // dst in the low nibble, src in the high one
	off  int16
	imm  int32
}

const (
	regRet    = 0 // r0: verdict
	regCtx    = 1 // r1: struct bpf_cgroup_dev_ctx *
	regType   = 2
	regAccess = 3
	regMajor  = 4
	regMinor  = 5
	regTmp    = 6

	aluAnd = 0x50
	aluRsh = 0x70
)

func ldxW(dst, src uint8, off int16) bpfInsn {
	return bpfInsn{code: unix.BPF_LDX | unix.BPF_MEM | unix.BPF_W, regs: dst | src<<4, off: off}
}
func aluImm(op uint8, dst uint8, imm int32) bpfInsn {
	return bpfInsn{code: unix.BPF_ALU | op | unix.BPF_K, regs: dst, imm: imm}
}
func movImm(dst uint8, imm int32) bpfInsn {
	return bpfInsn{code: unix.BPF_ALU64 | unix.BPF_MOV | unix.BPF_K, regs: dst, imm: imm}
}
func movReg(dst, src uint8) bpfInsn {
	return bpfInsn{code: unix.BPF_ALU64 | unix.BPF_MOV | unix.BPF_X, regs: dst | src<<4}
}
func jneImm(dst uint8, imm int32) bpfInsn {
	return bpfInsn{code: unix.BPF_JMP | unix.BPF_JNE | unix.BPF_K, regs: dst, imm: imm}
}
func jeqImm(dst uint8, imm int32) bpfInsn {
	return bpfInsn{code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, regs: dst, imm: imm}
}
func exit() bpfInsn { return bpfInsn{code: unix.BPF_JMP | unix.BPF_EXIT} }

func (i bpfInsn) isJump() bool {
	return i.code&0x07 == unix.BPF_JMP && i.code != unix.BPF_JMP|unix.BPF_EXIT
}

func bpf(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// loadDeviceProgram loads the program and returns its fd. The kernel's
// verifier log is asked for only when a load failed, to explain why.
// EAGAIN is transient (the kernel ran short of memory while verifying):
// it is retried, as libbpf does.
func loadDeviceProgram(insns []bpfInsn) (int, error) {
	var err error
	for try := 0; try < 5; try++ {
		var fd int
		if fd, err = progLoad(insns, nil); err != unix.EAGAIN {
			if err != nil {
				logBuf := make([]byte, 1<<16)
				if _, err2 := progLoad(insns, logBuf); err2 != nil {
					if n := indexNUL(logBuf); n > 0 {
						return -1, fmt.Errorf("%w: %s", err, logBuf[:n])
					}
				}
				return -1, err
			}
			return fd, nil
		}
	}
	return -1, err
}

func progLoad(insns []bpfInsn, logBuf []byte) (int, error) {
	license := []byte("Apache-2.0\x00")
	attr := struct {
		progType, insnCnt        uint32
		insns, license           uint64
		logLevel, logSize        uint32
		logBuf                   uint64
		kernVersion, progFlags   uint32
		progName                 [16]byte
		ifindex, expectedAttType uint32
	}{
		progType:        unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		insnCnt:         uint32(len(insns)),
		insns:           uint64(uintptr(unsafe.Pointer(&insns[0]))),
		license:         uint64(uintptr(unsafe.Pointer(&license[0]))),
		expectedAttType: unix.BPF_CGROUP_DEVICE,
	}
	if len(logBuf) > 0 {
		attr.logLevel, attr.logSize = 1, uint32(len(logBuf))
		attr.logBuf = uint64(uintptr(unsafe.Pointer(&logBuf[0])))
	}
	copy(attr.progName[:], "husk_devices")
	fd, err := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(insns)
	runtime.KeepAlive(license)
	runtime.KeepAlive(logBuf)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	return fd, err
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}

type progAttach struct {
	targetFd, attachBpfFd, attachType, attachFlags, replaceBpfFd uint32
}

func attachDeviceProgram(cgroupFd, prog int) error {
	attr := progAttach{targetFd: uint32(cgroupFd), attachBpfFd: uint32(prog),
		attachType: unix.BPF_CGROUP_DEVICE, attachFlags: unix.BPF_F_ALLOW_MULTI}
	_, err := bpf(unix.BPF_PROG_ATTACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	return err
}

// attachedDevicePrograms lists the ids of device programs attached
// directly to the cgroup.
func attachedDevicePrograms(cgroupFd int) ([]uint32, error) {
	ids := make([]uint32, 64)
	attr := struct {
		targetFd, attachType, queryFlags, attachFlags uint32
		progIds                                       uint64
		progCnt                                       uint32
		_                                             uint32
	}{targetFd: uint32(cgroupFd), attachType: unix.BPF_CGROUP_DEVICE,
		progIds: uint64(uintptr(unsafe.Pointer(&ids[0]))), progCnt: uint32(len(ids))}
	_, err := bpf(unix.BPF_PROG_QUERY, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(ids)
	if err != nil {
		return nil, os.NewSyscallError("bpf(BPF_PROG_QUERY)", err)
	}
	return ids[:attr.progCnt], nil
}

func detachDeviceProgram(cgroupFd int, id uint32) error {
	get := struct{ progID, nextID, openFlags uint32 }{progID: id}
	prog, err := bpf(unix.BPF_PROG_GET_FD_BY_ID, unsafe.Pointer(&get), unsafe.Sizeof(get))
	if err != nil {
		return os.NewSyscallError("bpf(BPF_PROG_GET_FD_BY_ID)", err)
	}
	defer unix.Close(prog)
	attr := progAttach{targetFd: uint32(cgroupFd), attachBpfFd: uint32(prog), attachType: unix.BPF_CGROUP_DEVICE}
	_, err = bpf(unix.BPF_PROG_DETACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	return err
}
