package libcontainer

import (
	"os"
	"strconv"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// capNames maps every capability name Linux has defined to its number.
// A name outside this table is a config error; a name in it that the
// running kernel does not know (number > cap_last_cap) is skipped with a
// warning, as runc does, so configs written for newer kernels still run.
var capNames = map[string]int{
	"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2,
	"CAP_FOWNER": 3, "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6,
	"CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_LINUX_IMMUTABLE": 9,
	"CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11, "CAP_NET_ADMIN": 12,
	"CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
	"CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18,
	"CAP_SYS_PTRACE": 19, "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21,
	"CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23, "CAP_SYS_RESOURCE": 24,
	"CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
	"CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30,
	"CAP_SETFCAP": 31, "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33,
	"CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35, "CAP_BLOCK_SUSPEND": 36,
	"CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
	"CAP_CHECKPOINT_RESTORE": 40,
}

// CapabilityNames lists every capability the running kernel supports, in
// number order.
func CapabilityNames() []string {
	last := lastCap()
	names := make([]string, last+1)
	for name, n := range capNames {
		if n <= last {
			names[n] = name
		}
	}
	return names
}

var lastCap = sync.OnceValue(func() int {
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 40
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 40
	}
	return n
})

// capSet is a 64-bit capability mask, as capset(2) takes it in two halves.
type capSet uint64

func (s capSet) has(n int) bool { return s&(1<<uint(n)) != 0 }

// capSets are the five sets of process.capabilities as masks, with the
// names the kernel does not know dropped (and reported in unknown).
type capSets struct {
	bounding, effective, inheritable, permitted, ambient capSet
	unknown                                              []string
}

func buildCapSets(c *specs.LinuxCapabilities) capSets {
	var s capSets
	last := lastCap()
	add := func(dst *capSet, names []string) {
		for _, name := range names {
			n, ok := capNames[strings.ToUpper(name)]
			if !ok || n > last {
				s.unknown = append(s.unknown, name)
				continue
			}
			*dst |= 1 << uint(n)
		}
	}
	if c == nil {
		return s
	}
	add(&s.bounding, c.Bounding)
	add(&s.effective, c.Effective)
	add(&s.inheritable, c.Inheritable)
	add(&s.permitted, c.Permitted)
	add(&s.ambient, c.Ambient)
	return s
}
