package libcontainer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// mountTmpcopyup mounts a tmpfs at target that starts with a copy of what
// target held (the "tmpcopyup" option podman puts on --tmpfs and
// --read-only mounts). The tmpfs is made detached (fsopen/fsmount), filled
// by fd from the directory it will cover, and only then attached, so the
// container never sees it empty or half-copied.
func mountTmpcopyup(target *os.File, opts mountOpts) error {
	mnt, err := newTmpfs(opts)
	if err != nil {
		return &mountError{op: "making tmpfs for", target: target.Name(), fstype: "tmpfs", err: err}
	}
	defer unix.Close(mnt)
	src, err := unix.Openat(int(target.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: target.Name(), Err: err}
	}
	err = copyTree(src, mnt, target.Name())
	unix.Close(src)
	if err != nil {
		return fmt.Errorf("copying %s up into its tmpfs: %w", target.Name(), err)
	}
	if opts.flags&unix.MS_RDONLY != 0 {
		ro := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(mnt, "", unix.AT_EMPTY_PATH, ro); err != nil {
			return &mountError{op: "making tmpfs read-only on", target: target.Name(), err: err}
		}
	}
	err = unix.MoveMount(mnt, "", int(target.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	if err != nil {
		return &mountError{op: "attaching tmpfs", target: target.Name(), err: err}
	}
	return nil
}

// newTmpfs returns a detached tmpfs mount configured with the options'
// filesystem data (size=, mode=, ...) and per-mount flags.
func newTmpfs(opts mountOpts) (int, error) {
	fs, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, os.NewSyscallError("fsopen", err)
	}
	defer unix.Close(fs)
	for _, d := range opts.data {
		k, v, hasValue := strings.Cut(d, "=")
		if hasValue {
			err = unix.FsconfigSetString(fs, k, v)
		} else {
			err = unix.FsconfigSetFlag(fs, k)
		}
		if err != nil {
			return -1, fmt.Errorf("option %q: %w", d, err)
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, os.NewSyscallError("fsconfig", err)
	}
	attr := attrFromFlags(opts.flags&^unix.MS_RDONLY, 0).Attr_set
	mnt, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, int(attr))
	if err != nil {
		return -1, os.NewSyscallError("fsmount", err)
	}
	return mnt, nil
}

// copyTree copies the contents of directory src into dst (directory
// fds; dst may be the O_PATH fd of a detached mount, whose own mode and
// owner come from the tmpfs options), keeping types, modes and owners. Nothing is followed: symlinks are copied as
// links, and every name is opened relative to its parent's fd.
func copyTree(src, dst int, name string) error {
	dup, err := unix.Dup(src) // src belongs to the caller; the File closes its copy
	if err != nil {
		return os.NewSyscallError("dup", err)
	}
	f := os.NewFile(uintptr(dup), name)
	entries, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := copyEntry(src, dst, e.Name(), name+"/"+e.Name()); err != nil {
			return err
		}
	}
	return nil
}

func copyEntry(src, dst int, base, name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(src, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "stat", Path: name, Err: err}
	}
	perm := st.Mode & 0o7777
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := unix.Mkdirat(dst, base, 0o700); err != nil {
			return &os.PathError{Op: "mkdir", Path: name, Err: err}
		}
		if err := copySubtree(src, dst, base, name); err != nil {
			return err
		}
	case unix.S_IFREG:
		if err := copyFile(src, dst, base, name, perm); err != nil {
			return err
		}
	case unix.S_IFLNK:
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(src, base, buf)
		if err != nil {
			return &os.PathError{Op: "readlink", Path: name, Err: err}
		}
		if err := unix.Symlinkat(string(buf[:n]), dst, base); err != nil {
			return &os.PathError{Op: "symlink", Path: name, Err: err}
		}
	default: // devices, fifos, sockets
		if err := unix.Mknodat(dst, base, st.Mode, int(st.Rdev)); err != nil {
			return &os.PathError{Op: "mknod", Path: name, Err: err}
		}
	}
	if err := unix.Fchownat(dst, base, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "chown", Path: name, Err: err}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return nil
	}
	return unix.Fchmodat(dst, base, perm, 0)
}

func copySubtree(src, dst int, base, name string) error {
	s, err := unix.Openat(src, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: name, Err: err}
	}
	defer unix.Close(s)
	d, err := unix.Openat(dst, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: name, Err: err}
	}
	defer unix.Close(d)
	return copyTree(s, d, name)
}

func copyFile(src, dst int, base, name string, perm uint32) error {
	in, err := unix.Openat(src, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: name, Err: err}
	}
	r := os.NewFile(uintptr(in), name)
	defer r.Close()
	out, err := unix.Openat(dst, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	if err != nil {
		return &os.PathError{Op: "create", Path: name, Err: err}
	}
	w := os.NewFile(uintptr(out), name)
	_, err = io.Copy(w, r)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("copying %s: %w", name, err)
	}
	return nil
}
