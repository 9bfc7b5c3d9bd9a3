package libcontainer

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/trace"
)

// defaultDevices are created in every container whose /dev is not bound
// from the host, as the runtime spec requires.
var defaultDevices = []specs.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0},
}

// devLinks are the symlinks every /dev has.
var devLinks = [][2]string{
	{"/proc/self/fd", "/dev/fd"},
	{"/proc/self/fd/0", "/dev/stdin"},
	{"/proc/self/fd/1", "/dev/stdout"},
	{"/proc/self/fd/2", "/dev/stderr"},
}

// createDevices makes the default devices and linux.devices (which win
// on the same path), then the /dev symlinks and /dev/ptmx.
func createDevices(root *os.File, devices []specs.LinuxDevice) error {
	defer trace.T.Begin("devices")()
	all := make([]specs.LinuxDevice, 0, len(defaultDevices)+len(devices))
	for _, d := range defaultDevices {
		if !hasDevice(devices, d.Path) {
			all = append(all, d)
		}
	}
	all = append(all, devices...)
	for _, d := range all {
		if err := createDevice(root, d); err != nil {
			return fmt.Errorf("creating device %s: %w", d.Path, err)
		}
	}
	for _, l := range devLinks {
		if err := symlinkInRoot(root, l[0], l[1]); err != nil {
			return err
		}
	}
	// /dev/ptmx must be the container's own devpts multiplexer.
	if pts, err := openInRoot(root, "/dev/pts/ptmx", unix.O_PATH); err == nil {
		pts.Close()
		dfd, base, err := parentDirInRoot(root, "/dev/ptmx")
		if err != nil {
			return err
		}
		err = unix.Unlinkat(dfd, base, 0)
		unix.Close(dfd)
		if err != nil && err != unix.ENOENT {
			return &os.PathError{Op: "unlink", Path: "/dev/ptmx", Err: err}
		}
		return symlinkInRoot(root, "pts/ptmx", "/dev/ptmx")
	}
	return nil
}

func hasDevice(devices []specs.LinuxDevice, path string) bool {
	for _, d := range devices {
		if d.Path == path {
			return true
		}
	}
	return false
}

// createDevice makes one device node with mknod, or, where mknod is not
// permitted (a user namespace), binds the host's node of the same path.
func createDevice(root *os.File, d specs.LinuxDevice) error {
	mode, err := deviceMode(d)
	if err != nil {
		return err
	}
	perm := uint32(0o666)
	if d.FileMode != nil {
		perm = uint32(*d.FileMode) & 0o7777
	}
	dfd, base, err := parentDirInRoot(root, d.Path)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	err = unix.Mknodat(dfd, base, mode|perm, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor))))
	switch err {
	case nil:
	case unix.EEXIST:
		return nil // the image brought its own node: keep it, as runc does
	case unix.EPERM:
		return bindHostDevice(root, d.Path)
	default:
		return os.NewSyscallError("mknod", err)
	}
	var uid, gid int
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	if err := unix.Fchownat(dfd, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return os.NewSyscallError("chown", err)
	}
	return nil
}

// bindHostDevice binds the host's device node at the same path.
func bindHostDevice(root *os.File, path string) error {
	target, err := createFileInRoot(root, path)
	if err != nil {
		return err
	}
	defer target.Close()
	return bindMount(unix.AT_FDCWD, path, target, false, nil, nil)
}

// symlinkInRoot creates link -> target inside root unless link exists.
func symlinkInRoot(root *os.File, target, link string) error {
	dfd, base, err := parentDirInRoot(root, link)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	if err := unix.Symlinkat(target, dfd, base); err != nil && err != unix.EEXIST {
		return &os.PathError{Op: "symlink", Path: link, Err: err}
	}
	return nil
}
