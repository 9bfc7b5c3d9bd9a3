// probe prints what the kernel reports about the calling process, one
// "key value" line each, for the integration tests to read from inside a
// container: sched_getattr(2), ioprio_get(2), get_mempolicy(2),
// personality(2) and sched_getaffinity(2). It is built static by the
// tests and copied into the container's rootfs. "probe PID" prints the
// scheduling and I/O priority of another process.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	// Every query is about this thread, the one that was exec'd; or, with
	// a pid argument, about that process (scheduling only: a deadline task
	// without reset-on-fork cannot run a Go program, whose runtime must
	// make threads).
	runtime.LockOSThread()
	pid := 0
	if len(os.Args) > 1 {
		var err error
		pid, err = strconv.Atoi(os.Args[1])
		check("pid argument", err)
	}
	attr, err := unix.SchedGetAttr(pid, 0)
	check("sched_getattr", err)
	fmt.Printf("policy %d\nflags %#x\nnice %d\npriority %d\nruntime %d\ndeadline %d\nperiod %d\nutil_min %d\nutil_max %d\n",
		attr.Policy, attr.Flags, attr.Nice, attr.Priority, attr.Runtime, attr.Deadline, attr.Period, attr.Util_min, attr.Util_max)

	const ioprioWhoProcess = 1
	prio, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, uintptr(pid), 0)
	check("ioprio_get", errnoErr(errno))
	fmt.Printf("ioprio_class %d\nioprio_level %d\n", prio>>13, prio&0x1fff)
	if pid != 0 {
		return
	}

	var mode int32
	var mask [16]uint64 // 1024 nodes
	_, _, errno = unix.Syscall6(unix.SYS_GET_MEMPOLICY, uintptr(unsafe.Pointer(&mode)),
		uintptr(unsafe.Pointer(&mask[0])), 1024+1, 0, 0, 0)
	check("get_mempolicy", errnoErr(errno))
	fmt.Printf("mempolicy_mode %#x\nmempolicy_nodes %#x\n", mode, mask[0])

	pers, _, errno := unix.Syscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
	check("personality", errnoErr(errno))
	fmt.Printf("personality %#x\n", pers)

	var cpus unix.CPUSet
	check("sched_getaffinity", unix.SchedGetaffinity(0, &cpus))
	fmt.Print("cpus")
	for i := 0; i < 1024; i++ {
		if cpus.IsSet(i) {
			fmt.Printf(" %d", i)
		}
	}
	fmt.Println()
}

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func check(what string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "probe: %s: %v\n", what, err)
		os.Exit(1)
	}
}
