package libcontainer

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// personalityDomains maps linux.personality.domain to personality(2)'s
// execution domains (PER_LINUX, PER_LINUX32 from <sys/personality.h>).
// The spec defines no flags ("Currently no flag values are supported"),
// so any flag is refused at validation.
var personalityDomains = map[specs.LinuxPersonalityDomain]uintptr{
	specs.PerLinux:   0x0000,
	specs.PerLinux32: 0x0008,
}

// setPersonality applies linux.personality. The personality is kept
// across execve (LINUX32 makes uname report a 32-bit machine), so it is
// set by init before ready, for the container's process and for every
// process husk exec starts in it.
func setPersonality(p *specs.LinuxPersonality) error {
	if p == nil {
		return nil
	}
	_, _, errno := unix.Syscall(unix.SYS_PERSONALITY, personalityDomains[p.Domain], 0, 0)
	if errno != 0 {
		return fmt.Errorf("linux.personality: personality(%s): %w", p.Domain, errno)
	}
	return nil
}
