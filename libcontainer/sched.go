package libcontainer

import (
	"fmt"
	"os"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// schedPolicies maps process.scheduler.policy to sched_setattr's policy
// numbers. SCHED_ISO is in the spec's list but Linux never merged it (4
// is reserved): it is refused at validation rather than left to EINVAL.
var schedPolicies = map[specs.LinuxSchedulerPolicy]uint32{
	specs.SchedOther:    0,
	specs.SchedFIFO:     1,
	specs.SchedRR:       2,
	specs.SchedBatch:    3,
	specs.SchedIdle:     5,
	specs.SchedDeadline: 6,
}

// schedFlags maps process.scheduler.flags to sched_attr.sched_flags bits.
var schedFlags = map[specs.LinuxSchedulerFlag]uint64{
	specs.SchedFlagResetOnFork:  unix.SCHED_FLAG_RESET_ON_FORK,
	specs.SchedFlagReclaim:      unix.SCHED_FLAG_RECLAIM,
	specs.SchedFlagDLOverrun:    unix.SCHED_FLAG_DL_OVERRUN,
	specs.SchedFlagKeepPolicy:   unix.SCHED_FLAG_KEEP_POLICY,
	specs.SchedFlagKeepParams:   unix.SCHED_FLAG_KEEP_PARAMS,
	specs.SchedFlagUtilClampMin: unix.SCHED_FLAG_UTIL_CLAMP_MIN,
	specs.SchedFlagUtilClampMax: unix.SCHED_FLAG_UTIL_CLAMP_MAX,
}

// schedAttr converts process.scheduler (already validated) to the
// kernel's sched_attr. "If not set, the runtime must use the value 0":
// the zero values of the spec's fields are exactly that.
func schedAttr(s *specs.Scheduler) *unix.SchedAttr {
	attr := &unix.SchedAttr{
		Policy:   schedPolicies[s.Policy],
		Nice:     s.Nice,
		Priority: uint32(s.Priority),
		Runtime:  s.Runtime,
		Deadline: s.Deadline,
		Period:   s.Period,
	}
	for _, f := range s.Flags {
		attr.Flags |= schedFlags[f]
	}
	return attr
}

// setScheduler applies process.scheduler to the calling thread, the one
// that will execve (its policy survives the exec). It runs before the
// capabilities are dropped: real-time and deadline policies need
// CAP_SYS_NICE.
//
// A SCHED_DEADLINE task cannot fork or clone (EAGAIN) unless it has
// SCHED_FLAG_RESET_ON_FORK, and init is a Go program whose runtime may
// start threads until the execve. So when deadline is asked for without
// that flag, the flag is added here, and the exact attributes are set
// again right before execve: the returned attr, for execProcess.
func setScheduler(s *specs.Scheduler) (final *unix.SchedAttr, err error) {
	if s == nil {
		return nil, nil
	}
	attr := schedAttr(s)
	if attr.Policy == schedPolicies[specs.SchedDeadline] && attr.Flags&unix.SCHED_FLAG_RESET_ON_FORK == 0 {
		final = schedAttr(s)
		attr.Flags |= unix.SCHED_FLAG_RESET_ON_FORK
	}
	if err := unix.SchedSetAttr(0, attr, 0); err != nil {
		return nil, fmt.Errorf("process.scheduler: sched_setattr(%s): %w", describeSched(s), err)
	}
	return final, nil
}

// checkFinalScheduler makes sure the second sched_setattr of a deadline
// task (see setScheduler) will be allowed once the process has its own
// capabilities: clearing SCHED_FLAG_RESET_ON_FORK of a deadline task
// needs CAP_SYS_NICE. Failing here fails create, not start.
func checkFinalScheduler(final *unix.SchedAttr) error {
	if final == nil {
		return nil
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return os.NewSyscallError("capget", err)
	}
	const sysNice = 23 // CAP_SYS_NICE
	if data[0].Effective&(1<<sysNice) == 0 {
		return fmt.Errorf("process.scheduler: SCHED_DEADLINE without SCHED_FLAG_RESET_ON_FORK needs CAP_SYS_NICE " +
			"in the process's effective capabilities (husk's init is multi-threaded and must set the policy again just before exec)")
	}
	return nil
}

// describeSched renders the scheduler for error messages.
func describeSched(s *specs.Scheduler) string {
	flags := make([]string, len(s.Flags))
	for i, f := range s.Flags {
		flags[i] = string(f)
	}
	sort.Strings(flags)
	return fmt.Sprintf("policy %s, nice %d, priority %d, flags %v, runtime %d, deadline %d, period %d",
		s.Policy, s.Nice, s.Priority, flags, s.Runtime, s.Deadline, s.Period)
}

// ioprioClasses maps process.ioPriority.class to the kernel's class.
var ioprioClasses = map[specs.IOPriorityClass]int{
	specs.IOPRIO_CLASS_RT:   1,
	specs.IOPRIO_CLASS_BE:   2,
	specs.IOPRIO_CLASS_IDLE: 3,
}

const (
	ioprioClassShift = 13
	ioprioWhoProcess = 1
)

// setIOPriority applies process.ioPriority with ioprio_set(2) to the
// calling thread, the one that will execve; its children inherit it.
// The realtime class needs CAP_SYS_NICE or CAP_SYS_ADMIN, so this runs
// before the capabilities are dropped.
func setIOPriority(p *specs.LinuxIOPriority) error {
	if p == nil {
		return nil
	}
	prio := ioprioClasses[p.Class]<<ioprioClassShift | p.Priority
	_, _, errno := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, uintptr(prio))
	if errno != 0 {
		return fmt.Errorf("process.ioPriority: ioprio_set(%s, %d): %w", p.Class, p.Priority, errno)
	}
	return nil
}
