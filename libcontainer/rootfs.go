package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/trace"
)

// prepareRootfs builds the container's filesystem from root.path and
// mounts[]. It runs in init, in the container's mount namespace; then
// the createRuntime and createContainer hooks run, then enterRoot.
func prepareRootfs(b *bootstrap) error {
	defer trace.T.Begin("rootfs")()
	spec := b.Spec
	// In the runtime's mount namespace the parent made rootfs a private
	// mount point already (bindRootfsOnHost); "/" is the host's.
	if !inHostMountNS(spec) {
		if err := setRootPropagation(b.Rootfs, spec.Linux.RootfsPropagation); err != nil {
			return err
		}
		// pivot_root needs new_root to be a mount point.
		if err := unix.Mount(b.Rootfs, b.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return &mountError{op: "binding rootfs", source: b.Rootfs, target: b.Rootfs, err: err}
		}
	}
	root, err := os.OpenFile(b.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening rootfs: %w", err)
	}
	defer root.Close()
	for i, m := range spec.Mounts {
		if err := mountEntry(root, b, i, m); err != nil {
			return &SpecError{Path: fmt.Sprintf("mounts[%d]", i), Err: fmt.Errorf("%s: %w", m.Destination, err)}
		}
	}
	if !bindsHostDev(spec.Mounts) {
		return createDevices(root, spec.Linux.Devices)
	}
	return nil
}

// setFinalPropagation applies linux.rootfsPropagation to the new "/". It
// runs after pivot_root, so that a shared rootfs never propagates the
// container's own mounts to the host, and last, because an unbindable
// tree could no longer be bound for masked and read-only paths.
func setFinalPropagation(propagation string) error {
	if p := propagationFlags[propagation]; p != 0 && p&unix.MS_PRIVATE == 0 {
		if err := unix.Mount("", "/", "", p, ""); err != nil {
			return &mountError{op: "setting propagation", target: "/", err: err}
		}
	}
	return nil
}

// setRootPropagation makes the whole mount tree a slave of the host's (or
// what linux.rootfsPropagation asks), so nothing the container mounts
// reaches the host. If rootfs's parent mount is still shared (a shared or
// non-recursive propagation, and a bundle on a shared mount, as "/" is
// under systemd), it is made private: the bind of rootfs and every mount
// on it would otherwise propagate to the host, and pivot_root refuses a
// shared parent.
func setRootPropagation(rootfs, propagation string) error {
	defer trace.T.Begin("propagation")()
	flag := uintptr(unix.MS_SLAVE | unix.MS_REC)
	// An unbindable mount cannot be bound: rootfs is bound onto itself
	// first, and "/" made unbindable after pivot_root.
	if p, ok := propagationFlags[propagation]; ok && p&unix.MS_UNBINDABLE == 0 {
		flag = p
	}
	if err := unix.Mount("", "/", "", flag, ""); err != nil {
		return &mountError{op: "setting propagation", target: "/", err: err}
	}
	if flag&unix.MS_REC != 0 && flag&unix.MS_SHARED == 0 {
		return nil // no mount is shared any more: no need to read mountinfo
	}
	parent, err := mountOf(rootfs)
	if err != nil {
		return err
	}
	if !strings.Contains(parent.Optional, "shared:") {
		return nil
	}
	if err := unix.Mount("", parent.Mountpoint, "", unix.MS_PRIVATE, ""); err != nil {
		return &mountError{op: "making rootfs parent private", target: parent.Mountpoint, err: err}
	}
	return nil
}

// mountOf returns the mount holding path (the topmost at the deepest
// mount point above it).
func mountOf(path string) (*mountinfo.Info, error) {
	mounts, err := mountinfo.GetMounts(mountinfo.ParentsFilter(path))
	if err != nil {
		return nil, fmt.Errorf("reading mountinfo: %w", err)
	}
	var best *mountinfo.Info
	for _, m := range mounts {
		if best == nil || len(m.Mountpoint) >= len(best.Mountpoint) {
			best = m
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no mount holds %s", path)
	}
	return best, nil
}

// mountEntry performs one mounts[] entry. The destination is resolved and
// created inside root, never by a host path.
func mountEntry(root *os.File, b *bootstrap, index int, m specs.Mount) error {
	defer trace.T.BeginOn("mount", m.Destination)()
	opts, err := parseMountOptions(m.Options)
	if err != nil {
		return err
	}
	dest := "/" + strings.TrimLeft(m.Destination, "/")
	var target *os.File
	switch {
	case isBind(m):
		tree, prepared := b.MountFDs[index]
		if !prepared {
			tree = -1
		}
		target, err = bindEntry(root, b, m, dest, opts, tree)
	case m.Type == "cgroup" || m.Type == "cgroup2":
		target, err = cgroupEntry(root, b, dest, opts)
	default:
		target, err = mkdirInRoot(root, dest, 0o755)
		switch {
		case err == nil && opts.tmpcopyup:
			if l := b.Spec.Linux.MountLabel; l != "" && selinuxEnabled() {
				opts.data = append(opts.data, "context="+l)
			}
			err = mountTmpcopyup(target, opts)
		case err == nil:
			data := mountLabelData(m.Type, strings.Join(opts.data, ","), b.Spec.Linux.MountLabel)
			err = mountFS(root, m.Source, target, dest, m.Type, opts.flags, data)
		}
		if err == nil && (opts.recSet|opts.recClear != 0 || opts.recAtime != nil) {
			err = setAttrAt(root, dest, unix.AT_RECURSIVE, opts.recAttr())
		}
	}
	if target != nil {
		target.Close()
	}
	if err != nil {
		return err
	}
	for _, p := range opts.propagation {
		flags := 0
		if p&unix.MS_REC != 0 {
			flags = unix.AT_RECURSIVE
		}
		if err := setAttrAt(root, dest, flags, &unix.MountAttr{Propagation: uint64(p &^ unix.MS_REC)}); err != nil {
			return err
		}
	}
	return nil
}

// bindEntry binds a host path (bundle-relative when relative) at dest, or
// attaches the detached mount tree the parent prepared, unless it is -1.
func bindEntry(root *os.File, b *bootstrap, m specs.Mount, dest string, opts mountOpts, tree int) (*os.File, error) {
	src := m.Source
	if !filepath.IsAbs(src) {
		src = filepath.Join(b.Bundle, src)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("bind source: %w", err)
	}
	var target *os.File
	if fi.IsDir() {
		target, err = mkdirInRoot(root, dest, 0o755)
	} else {
		target, err = createFileInRoot(root, dest)
	}
	if err != nil {
		return nil, err
	}
	if tree >= 0 {
		err := unix.MoveMount(tree, "", int(target.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
		if err != nil {
			return target, &mountError{op: "attaching idmapped bind", source: src, target: dest, err: err}
		}
		return target, nil
	}
	recursive := opts.flags&unix.MS_REC != 0
	err = bindMount(unix.AT_FDCWD, src, target, recursive, attrFromFlags(opts.flags, opts.clear), opts.recAttr())
	return target, err
}

// cgroupEntry mounts the container's cgroup at dest: a fresh cgroup2 mount
// inside a cgroup namespace (which shows the container's cgroup as its
// root), or a bind of the container's own cgroup directory without one,
// so the host's tree is never exposed.
func cgroupEntry(root *os.File, b *bootstrap, dest string, opts mountOpts) (*os.File, error) {
	target, err := mkdirInRoot(root, dest, 0o755)
	if err != nil {
		return nil, err
	}
	flags := opts.flags &^ (unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT)
	if planNamespaces(b.Spec.Linux.Namespaces).isNew(specs.CgroupNamespace) {
		err := mountFS(root, "cgroup2", target, dest, "cgroup2", flags, "")
		// Some kernels refuse a new cgroup2 mount from a cgroup namespace
		// owned by another user namespace than the host's cgroup2
		// superblock (EBUSY), or without the right capabilities (EPERM);
		// a bind of the container's own cgroup shows the same tree.
		if !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.EPERM) {
			return target, err
		}
	}
	return target, bindMount(unix.AT_FDCWD, b.CgroupPath, target, false, attrFromFlags(flags, opts.clear), nil)
}

// mountFS mounts a filesystem at target and makes the new mount read-only
// if asked. Read-only is a mount attribute, not passed to mount(2): that
// would ask for a read-only superblock, which the kernel refuses with
// EBUSY when the superblock is shared and writable (cgroup2 has one for
// the whole host; proc has one per pid namespace).
func mountFS(root *os.File, source string, target *os.File, dest, fstype string, flags uintptr, data string) error {
	flags &^= unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT
	if err := mountAt(source, target, fstype, flags&^unix.MS_RDONLY, data); err != nil {
		return err
	}
	if flags&unix.MS_RDONLY == 0 {
		return nil
	}
	return setAttrAt(root, dest, 0, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY})
}

// setAttrAt applies mount attributes or propagation to the mount now on
// top of path (re-resolved, since the fd used to mount points below it).
func setAttrAt(root *os.File, path string, flags int, attr *unix.MountAttr) error {
	f, err := openInRoot(root, path, unix.O_PATH)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.MountSetattr(int(f.Fd()), "", uint(unix.AT_EMPTY_PATH|flags), attr); err != nil {
		return &mountError{op: "setting mount attributes", target: path, err: err}
	}
	return nil
}

func bindsHostDev(mounts []specs.Mount) bool {
	for _, m := range mounts {
		if filepath.Clean("/"+m.Destination) == "/dev" && isBind(m) {
			return true
		}
	}
	return false
}

// enterRoot makes rootfs the root: pivot_root, or with --no-pivot (and on
// an initramfs, where pivot_root is impossible) MS_MOVE plus chroot. In the
// runtime's mount namespace, chroot alone: the host's root stays as it is.
func enterRoot(rootfs string, noPivot, hostMountNS bool) error {
	if hostMountNS {
		return chrootInto(rootfs)
	}
	if !noPivot && !onRamfs() {
		return pivotRoot(rootfs)
	}
	if err := unix.Chdir(rootfs); err != nil {
		return &os.PathError{Op: "chdir", Path: rootfs, Err: err}
	}
	if err := unix.Mount(rootfs, "/", "", unix.MS_MOVE, ""); err != nil {
		return &mountError{op: "moving rootfs", source: rootfs, target: "/", err: err}
	}
	if err := unix.Chroot("."); err != nil {
		return os.NewSyscallError("chroot", err)
	}
	return unix.Chdir("/")
}

func onRamfs() bool {
	var st unix.Statfs_t
	return unix.Statfs("/", &st) == nil && st.Type == unix.RAMFS_MAGIC
}

// pivotRoot uses pivot_root(".", "."): the old root ends up stacked on the
// new one, where it is made a slave (so the unmount cannot propagate to
// the host) and detached.
func pivotRoot(rootfs string) error {
	defer trace.T.Begin("pivot_root")()
	oldroot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: "/", Err: err}
	}
	defer unix.Close(oldroot)
	if err := unix.Chdir(rootfs); err != nil {
		return &os.PathError{Op: "chdir", Path: rootfs, Err: err}
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return &os.PathError{Op: "pivot_root", Path: rootfs, Err: err}
	}
	if err := unix.Fchdir(oldroot); err != nil {
		return os.NewSyscallError("fchdir", err)
	}
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return &mountError{op: "making old root a slave", target: "/", err: err}
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return &mountError{op: "detaching old root", target: "/", err: err}
	}
	return unix.Chdir("/")
}

// remountRootReadonly implements root.readonly, on the new "/".
func remountRootReadonly() error {
	defer trace.T.Begin("readonly root")()
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, attr); err != nil {
		return &mountError{op: "making root read-only", target: "/", err: err}
	}
	return nil
}

// runtime-spec: if a namespace type is not specified in the namespaces
// array, the container MUST inherit the runtime namespace of that type.
//
// inHostMountNS reports whether the container has no mount namespace of
// its own: its mounts are then made in the runtime's, under rootfs, and
// it is chrooted into rootfs rather than pivoted.
func inHostMountNS(spec *specs.Spec) bool {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.MountNamespace {
			return false
		}
	}
	return true
}

// bindRootfsOnHost makes rootfs a mount point of its own in the runtime's
// mount namespace, private, for a container without a mount namespace:
// the container's mounts go under it and never propagate to the host's
// other mounts, chroot's "/" is a mount that root.readonly can change
// without touching the host's, and delete removes the lot by detaching
// it (unbindRootfs). It returns the mount's id, which delete checks.
func bindRootfsOnHost(rootfs string) (uint64, error) {
	if err := unix.Mount(rootfs, rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return 0, &mountError{op: "binding rootfs", source: rootfs, target: rootfs, err: err}
	}
	id, err := mountID(rootfs)
	if err == nil {
		err = unix.Mount("", rootfs, "", unix.MS_PRIVATE|unix.MS_REC, "")
		if err != nil {
			err = &mountError{op: "making rootfs private", target: rootfs, err: err}
		}
	}
	if err != nil {
		unix.Unmount(rootfs, unix.MNT_DETACH)
		return 0, err
	}
	return id, nil
}

// unbindRootfs detaches what bindRootfsOnHost made, with every mount the
// container made under it, if the topmost mount at rootfs is still that
// one (id): never a mount rootfs had before create.
func unbindRootfs(rootfs string, id uint64) error {
	if id == 0 {
		return nil
	}
	now, err := mountID(rootfs)
	if err != nil || now != id {
		return nil
	}
	if err := unix.Unmount(rootfs, unix.MNT_DETACH); err != nil {
		return &mountError{op: "detaching rootfs", target: rootfs, err: err}
	}
	return nil
}

func mountID(path string) (uint64, error) {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &st); err != nil {
		return 0, &os.PathError{Op: "statx", Path: path, Err: err}
	}
	if st.Mask&unix.STATX_MNT_ID == 0 {
		return 0, &os.PathError{Op: "statx", Path: path, Err: errors.New("no mount id (kernel older than 5.8)")}
	}
	return st.Mnt_id, nil
}

// chrootInto makes rootfs the root of this process only.
func chrootInto(rootfs string) error {
	if err := unix.Chdir(rootfs); err != nil {
		return &os.PathError{Op: "chdir", Path: rootfs, Err: err}
	}
	if err := unix.Chroot("."); err != nil {
		return os.NewSyscallError("chroot", err)
	}
	return unix.Chdir("/")
}
