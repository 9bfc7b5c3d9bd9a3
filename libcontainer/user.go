package libcontainer

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/trace"
)

// setRlimits implements process.rlimits. It runs before the uid changes,
// while raising a hard limit is still allowed. syscall.Setrlimit (not
// x/sys) is used so Go does not restore its own RLIMIT_NOFILE at exec.
func setRlimits(rlimits []specs.POSIXRlimit) error {
	defer trace.T.Begin("rlimits")()
	for _, r := range rlimits {
		lim := syscall.Rlimit{Cur: r.Soft, Max: r.Hard}
		if err := syscall.Setrlimit(rlimitTypes[r.Type], &lim); err != nil {
			return fmt.Errorf("setting %s to %d/%d: %w", r.Type, r.Soft, r.Hard, err)
		}
	}
	return nil
}

// setUser switches to process.user and sets the capability sets. All of
// it acts on the calling thread, which is the one that will execve: init
// is locked to its main thread.
//
// Order: drop the bounding set while CAP_SETPCAP is held; keep permitted
// capabilities across the uid change (PR_SET_KEEPCAPS); change groups,
// gid, uid; then set effective/permitted/inheritable and raise ambient.
//
// holdAdmin is for a seccomp filter loaded without no_new_privs, which
// takes CAP_SYS_ADMIN: it stays effective and permitted until the filter
// is on, right before execve. setUser then returns the sets the process
// must end with (nil: it keeps what it has), for execFiltered to apply.
// The bounding set is final already; it does not limit what stays
// permitted.
func setUser(p *specs.Process, warn func(string), holdAdmin bool) (*capSets, error) {
	defer trace.T.Begin("user")()
	caps := buildCapSets(p.Capabilities)
	if len(caps.unknown) > 0 {
		warn(fmt.Sprintf("capabilities unknown to this kernel are ignored: %s", strings.Join(caps.unknown, ", ")))
	}
	// Without process.capabilities a non-root user ends with none; to
	// hold CAP_SYS_ADMIN it must survive the uid change all the same.
	keep := p.Capabilities != nil || holdAdmin && p.User.UID != 0
	if p.Capabilities != nil {
		for n := 0; n <= lastCap(); n++ {
			if caps.bounding.has(n) {
				continue
			}
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(n), 0, 0, 0); err != nil {
				return nil, fmt.Errorf("dropping capability %d from the bounding set: %w", n, err)
			}
		}
	}
	if keep {
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
			return nil, os.NewSyscallError("prctl(PR_SET_KEEPCAPS)", err)
		}
	}
	if err := setIDs(p.User); err != nil {
		return nil, err
	}
	if !keep {
		return nil, nil
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return nil, os.NewSyscallError("prctl(PR_SET_KEEPCAPS)", err)
	}
	if p.Capabilities == nil {
		// What the uid change leaves without KEEPCAPS: the inheritable set.
		cur, err := currentCaps()
		if err != nil {
			return nil, err
		}
		caps = capSets{inheritable: cur.inheritable}
	}
	if !holdAdmin || caps.effective.has(capSysAdmin) {
		return nil, applyCaps(caps)
	}
	held := caps
	held.effective |= 1 << capSysAdmin
	held.permitted |= 1 << capSysAdmin
	if err := applyCaps(held); err != nil {
		return nil, err
	}
	return &caps, nil
}

func setIDs(u specs.User) error {
	defer trace.T.Begin("setuid")()
	groups := make([]int, len(u.AdditionalGids))
	for i, g := range u.AdditionalGids {
		groups[i] = int(g)
	}
	if err := unix.Setgroups(groups); err != nil {
		// A user namespace with setgroups denied cannot change groups;
		// that only matters when groups were asked for.
		if len(groups) > 0 || err != unix.EPERM {
			return fmt.Errorf("setting additional groups %v: %w", u.AdditionalGids, err)
		}
	}
	if err := unix.Setresgid(int(u.GID), int(u.GID), int(u.GID)); err != nil {
		return fmt.Errorf("setting gid %d: %w", u.GID, err)
	}
	if err := unix.Setresuid(int(u.UID), int(u.UID), int(u.UID)); err != nil {
		return fmt.Errorf("setting uid %d: %w", u.UID, err)
	}
	return nil
}

// capSysAdmin is CAP_SYS_ADMIN's number.
const capSysAdmin = 21

// capsetArgs is capset(2)'s header and data for c.
func capsetArgs(c capSets) (unix.CapUserHeader, [2]unix.CapUserData) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := range data {
		shift := uint(32 * i)
		data[i].Effective = uint32(c.effective >> shift)
		data[i].Permitted = uint32(c.permitted >> shift)
		data[i].Inheritable = uint32(c.inheritable >> shift)
	}
	return hdr, data
}

// currentCaps reads the thread's effective, permitted and inheritable sets.
func currentCaps() (capSets, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return capSets{}, os.NewSyscallError("capget", err)
	}
	var c capSets
	for i, d := range data {
		shift := uint(32 * i)
		c.effective |= capSet(d.Effective) << shift
		c.permitted |= capSet(d.Permitted) << shift
		c.inheritable |= capSet(d.Inheritable) << shift
	}
	return c, nil
}

func applyCaps(c capSets) error {
	defer trace.T.Begin("capabilities")()
	hdr, data := capsetArgs(c)
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("setting capabilities: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", err)
	}
	for n := 0; n <= lastCap(); n++ {
		if !c.ambient.has(n) {
			continue
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(n), 0, 0); err != nil {
			return fmt.Errorf("raising ambient capability %d: %w", n, err)
		}
	}
	return nil
}

// homeDir finds uid's home in the container's /etc/passwd, for HOME when
// process.env does not set it. It falls back to "/".
func homeDir(uid uint32) string {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return "/"
	}
	defer f.Close()
	want := strconv.FormatUint(uint64(uid), 10)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) >= 6 && fields[2] == want && fields[5] != "" {
			return fields[5]
		}
	}
	return "/"
}
