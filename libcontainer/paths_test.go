package libcontainer

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openProcfs reaches the files husk writes through /proc/self and
// /proc/thread-self (plain symlinks, not magic links) and /proc/sys, and
// refuses to leave /proc. (A mount over the target is refused too:
// TestHardenSysctlProcfsOvermount, which needs root, tries it.)
func TestOpenProcfs(t *testing.T) {
	for _, name := range []string{"self/oom_score_adj", "thread-self/attr/current", "sys/kernel/ostype"} {
		f, err := openProcfs(name, unix.O_RDONLY)
		if err != nil {
			if name == "thread-self/attr/current" && os.IsNotExist(err) {
				continue // no LSM attrs in this kernel
			}
			t.Errorf("openProcfs(%q): %v", name, err)
			continue
		}
		f.Close()
	}
	for _, name := range []string{"../etc/passwd", "self/root/etc/passwd", "self/cwd", "/etc/passwd"} {
		if f, err := openProcfs(name, unix.O_RDONLY); err == nil {
			f.Close()
			t.Errorf("openProcfs(%q) opened %s", name, f.Name())
		} else if !strings.Contains(err.Error(), "/proc/") {
			t.Errorf("openProcfs(%q): %v does not name the file", name, err)
		}
	}
}
