package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountTypes asks the kernel about each filesystem mount as far as it
// goes without making a superblock: fsopen(type), which loads the module
// that provides it if there is one, then fsconfig of each data option,
// which is where mount(2) would refuse an option too. Nothing is created.
func (c *checker) mountTypes() {
	for i, m := range c.spec.Mounts {
		if isBind(m) || m.Type == "" || m.Type == "cgroup" || m.Type == "cgroup2" {
			continue
		}
		opts, err := parseMountOptions(m.Options)
		if err != nil {
			continue // validation reported it
		}
		path := fmt.Sprintf("mounts[%d]", i)
		fd, err := unix.Fsopen(m.Type, unix.FSOPEN_CLOEXEC)
		switch {
		case errors.Is(err, unix.ENODEV):
			c.r.add("error", path+".type", fmt.Sprintf("%q: this kernel has no such filesystem, and no module provides it", m.Type), "see /proc/filesystems")
			continue
		case err != nil:
			// Rootless, or a kernel before 5.2: only the list is left.
			c.listedType(path, m)
			continue
		}
		c.mountData(path, m, fd, opts.data)
		unix.Close(fd)
	}
}

// mountData passes each data option to the filesystem context fd.
func (c *checker) mountData(path string, m specs.Mount, fd int, data []string) {
	for _, d := range data {
		key, val, hasVal := strings.Cut(d, "=")
		var err error
		if hasVal {
			err = unix.FsconfigSetString(fd, key, val)
		} else {
			err = unix.FsconfigSetFlag(fd, key)
		}
		if err != nil {
			c.r.add("error", path+".options", fmt.Sprintf("%q: %s refuses it: %v", d, m.Type, err), "see the filesystem's mount options in its man page")
		}
	}
}

// listedType warns about a type /proc/filesystems does not list (a
// module may still provide it on demand).
func (c *checker) listedType(path string, m specs.Mount) {
	data, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[len(f)-1] == m.Type {
			return
		}
	}
	c.r.add("warning", path+".type", fmt.Sprintf("%q is not in /proc/filesystems (a module may still provide it)", m.Type), "")
}
