package libcontainer

import (
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/selinux/go-selinux"
	"github.com/opencontainers/selinux/go-selinux/label"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/trace"
)

// Linux security modules: an AppArmor profile and an SELinux label for the
// process, an SELinux label for the container's own filesystems. Where
// the module is off, husk ignores the labels, as runc does, and says so
// at debug level; where it is on, a profile that is not loaded is a
// config error.

func apparmorEnabled() bool {
	data, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && strings.HasPrefix(string(data), "Y")
}

func selinuxEnabled() bool { return selinux.GetEnabled() }

// apparmorLoaded reports whether the kernel has the profile (checked in the
// parent, which sees securityfs).
func apparmorLoaded(profile string) bool {
	data, err := os.ReadFile("/sys/kernel/security/apparmor/profiles")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if name, _, ok := strings.Cut(line, " ("); ok && name == profile {
			return true
		}
	}
	return false
}

// setExecLabels makes the next execve of this thread enter the process's
// AppArmor profile and SELinux label. It runs in init, on the thread that
// will exec.
func setExecLabels(p *specs.Process, debug func(string)) error {
	defer trace.T.Begin("LSM labels")()
	if p.ApparmorProfile != "" {
		if !apparmorEnabled() {
			debug(fmt.Sprintf("AppArmor is off: process.apparmorProfile %q ignored", p.ApparmorProfile))
		} else if err := writeThreadAttr("apparmor/exec", "exec "+p.ApparmorProfile); err != nil {
			return fmt.Errorf("setting AppArmor profile %q: %w", p.ApparmorProfile, err)
		}
	}
	if p.SelinuxLabel != "" {
		if !selinuxEnabled() {
			debug(fmt.Sprintf("SELinux is off: process.selinuxLabel %q ignored", p.SelinuxLabel))
		} else if err := selinux.SetExecLabel(p.SelinuxLabel); err != nil {
			return fmt.Errorf("setting SELinux label %q: %w", p.SelinuxLabel, err)
		}
	}
	return nil
}

// writeThreadAttr writes an LSM attribute of the calling thread through
// the container's procfs, checked to be one with nothing mounted over it.
func writeThreadAttr(name, value string) error {
	f, err := openProcfs("thread-self/attr/"+name, unix.O_WRONLY)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(value)
	return err
}

// mountLabelData adds linux.mountLabel (SELinux context=) to the data of
// the filesystems the container gets fresh: tmpfs, devpts, mqueue.
func mountLabelData(fstype, data, mountLabel string) string {
	if mountLabel == "" || !selinuxEnabled() {
		return data
	}
	switch fstype {
	case "tmpfs", "devpts", "mqueue":
		return label.FormatMountLabel(data, mountLabel)
	}
	return data
}
