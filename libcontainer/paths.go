package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/trace"
)

// maskPaths hides linux.maskedPaths: files are covered by /dev/null, and
// directories by an empty read-only tmpfs. Paths that do not exist are
// skipped. Runs after pivot_root, so "/" is the container's root.
func maskPaths(paths []string) error {
	defer trace.T.Begin("masked paths")()
	if len(paths) == 0 {
		return nil
	}
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer root.Close()
	var null *os.File
	defer func() {
		if null != nil {
			null.Close()
		}
	}()
	for _, p := range paths {
		target, err := openInRoot(root, p, unix.O_PATH)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fmt.Errorf("masking %s: %w", p, err)
		}
		var st unix.Stat_t
		err = unix.Fstat(int(target.Fd()), &st)
		if err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			err = mountAt("tmpfs", target, "tmpfs", unix.MS_RDONLY, "")
		} else if err == nil {
			if null == nil {
				null, err = openDevNull(root)
			}
			if err == nil {
				err = bindMount(int(null.Fd()), "", target, false, nil, nil)
			}
		}
		target.Close()
		if err != nil {
			return fmt.Errorf("masking %s: %w", p, err)
		}
	}
	return unix.Chdir("/")
}

// openDevNull opens the container's /dev/null after checking that it is
// the real null device, so a rootfs cannot make masking bind something
// else over the masked files.
func openDevNull(root *os.File) (*os.File, error) {
	f, err := openInRoot(root, "/dev/null", unix.O_PATH)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		f.Close()
		return nil, errors.New("/dev/null is not the null device")
	}
	return f, nil
}

// readonlyPaths implements linux.readonlyPaths: each existing path gets a
// recursive read-only bind of itself.
func readonlyPaths(paths []string) error {
	defer trace.T.Begin("readonly paths")()
	if len(paths) == 0 {
		return nil
	}
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer root.Close()
	ro := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	for _, p := range paths {
		target, err := openInRoot(root, p, unix.O_PATH)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err == nil {
			err = bindMount(int(target.Fd()), "", target, true, nil, ro)
			target.Close()
		}
		if err != nil {
			return fmt.Errorf("making %s read-only: %w", p, err)
		}
	}
	return nil
}

// setHostnames implements hostname and domainname (validation made sure
// the UTS namespace is the container's, new or joined).
func setHostnames(spec *specs.Spec) error {
	defer trace.T.Begin("hostname")()
	if spec.Hostname != "" {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return fmt.Errorf("setting hostname %q: %w", spec.Hostname, err)
		}
	}
	if spec.Domainname != "" {
		if err := unix.Setdomainname([]byte(spec.Domainname)); err != nil {
			return fmt.Errorf("setting domainname %q: %w", spec.Domainname, err)
		}
	}
	return nil
}

// writeSysctls implements linux.sysctl through the container's own /proc
// (validation allowed only keys its namespaces make private).
func writeSysctls(sysctl map[string]string) error {
	defer trace.T.Begin("sysctl")()
	if len(sysctl) == 0 {
		return nil
	}
	for key, value := range sysctl {
		f, err := openProcfs("sys/"+strings.ReplaceAll(key, ".", "/"), unix.O_WRONLY)
		if err != nil {
			return fmt.Errorf("setting sysctl %s: %w", key, err)
		}
		_, err = f.WriteString(value)
		f.Close()
		if err != nil {
			return fmt.Errorf("writing %q to sysctl %s: %w", value, key, err)
		}
	}
	return nil
}

// procRootIno is the inode number of a procfs's root directory
// (PROC_ROOT_INO).
const procRootIno = 1

// openProcfs opens name ("self/oom_score_adj") under the calling process's
// /proc, which must be a procfs mounted at its root, without crossing any
// mount on the way (CVE-2025-52881). A checked filesystem type alone is
// not enough: a bind of another procfs file (core_pattern, another
// process's attr) over the target is procfs too. So /proc is opened inside
// "/" and must be the root of a procfs (statfs PROC_SUPER_MAGIC, inode
// 1), and name is resolved from it with openat2 RESOLVE_BENEATH |
// RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS: a mount over any component, a
// symlink out, or a magic link is refused.
func openProcfs(name string, flags int) (*os.File, error) {
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	proc, err := openInRoot(root, "/proc", unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	defer proc.Close()
	if err := checkProcRoot(proc); err != nil {
		return nil, err
	}
	path := "/proc/" + name
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC | unix.O_NOFOLLOW),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(int(proc.Fd()), name, &how)
		switch {
		case err == unix.EINTR || err == unix.EAGAIN:
			continue
		case err == unix.EXDEV:
			return nil, fmt.Errorf("%s is not on procfs: a mount covers it", path)
		case err != nil:
			return nil, &os.PathError{Op: "openat2", Path: path, Err: err}
		}
		f := os.NewFile(uintptr(fd), path)
		// Belt and braces: what was opened is procfs.
		if err := checkProcfs(f); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}
}

// checkProcRoot makes sure dir is the root of a procfs, not another
// filesystem, nor a procfs subdirectory bound at /proc.
func checkProcRoot(dir *os.File) error {
	if err := checkProcfs(dir); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(dir.Fd()), &st); err != nil {
		return &os.PathError{Op: "fstat", Path: dir.Name(), Err: err}
	}
	if st.Ino != procRootIno {
		return fmt.Errorf("%s is not on procfs: not the root of a procfs (inode %d)", dir.Name(), st.Ino)
	}
	return nil
}

// checkProcfs makes sure f lives on a procfs, not on something a rootfs
// put at /proc to catch our writes.
func checkProcfs(f *os.File) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return &os.PathError{Op: "fstatfs", Path: f.Name(), Err: err}
	}
	if st.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("%s is not on procfs", f.Name())
	}
	return nil
}

// loopbackUp brings "lo" up in a new network namespace, as runc does.
func loopbackUp() error {
	defer trace.T.Begin("loopback")()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		// No IPv4 in this kernel: nothing to bring up this way.
		return nil
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("reading lo flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	return nil
}
