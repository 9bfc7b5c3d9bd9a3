package libcontainer

import (
	"errors"
	"os"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountOpts is mounts[].options sorted into what the kernel takes
// separately: mount(2) flags, propagation, recursive attributes for
// mount_setattr(2), and the filesystem's own data string.
type mountOpts struct {
	flags       uintptr // MS_* to set
	clear       uintptr // MS_* an option cleared (rw, suid, ...)
	propagation []uintptr
	recSet      uint64 // MOUNT_ATTR_* to set recursively (rro, rnosuid, ...)
	recClear    uint64
	recAtime    *uint64 // an access-time mode set recursively (ratime, rnoatime, ...)
	tmpcopyup   bool    // a tmpfs that starts with a copy of what it covers
	idmap       bool    // an idmapped bind mount ("idmap", or "ridmap" with rec)
	idmapRec    bool
	data        []string
}

var mountFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"async": {true, unix.MS_SYNCHRONOUS}, "atime": {true, unix.MS_NOATIME},
	"bind": {false, unix.MS_BIND}, "defaults": {false, 0},
	"dev": {true, unix.MS_NODEV}, "diratime": {true, unix.MS_NODIRATIME},
	"dirsync": {false, unix.MS_DIRSYNC}, "exec": {true, unix.MS_NOEXEC},
	"iversion": {false, unix.MS_I_VERSION}, "lazytime": {false, unix.MS_LAZYTIME},
	"loud": {true, unix.MS_SILENT}, "mand": {false, unix.MS_MANDLOCK},
	"noatime": {false, unix.MS_NOATIME}, "nodev": {false, unix.MS_NODEV},
	"nodiratime": {false, unix.MS_NODIRATIME}, "noexec": {false, unix.MS_NOEXEC},
	"noiversion": {true, unix.MS_I_VERSION}, "nolazytime": {true, unix.MS_LAZYTIME},
	"nomand": {true, unix.MS_MANDLOCK}, "norelatime": {true, unix.MS_RELATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME}, "nosuid": {false, unix.MS_NOSUID},
	"nosymfollow": {false, unix.MS_NOSYMFOLLOW}, "relatime": {false, unix.MS_RELATIME},
	"rbind":   {false, unix.MS_BIND | unix.MS_REC},
	"remount": {false, unix.MS_REMOUNT}, "ro": {false, unix.MS_RDONLY},
	"rw": {true, unix.MS_RDONLY}, "silent": {false, unix.MS_SILENT},
	"strictatime": {false, unix.MS_STRICTATIME}, "suid": {true, unix.MS_NOSUID},
	"symfollow": {true, unix.MS_NOSYMFOLLOW}, "sync": {false, unix.MS_SYNCHRONOUS},
}

var propagationFlags = map[string]uintptr{
	"private": unix.MS_PRIVATE, "rprivate": unix.MS_PRIVATE | unix.MS_REC,
	"shared": unix.MS_SHARED, "rshared": unix.MS_SHARED | unix.MS_REC,
	"slave": unix.MS_SLAVE, "rslave": unix.MS_SLAVE | unix.MS_REC,
	"unbindable": unix.MS_UNBINDABLE, "runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// recursiveAttrs are the mount_setattr options (runc's "rro" family).
var recursiveAttrs = map[string]struct {
	clear bool
	attr  uint64
}{
	"rro": {false, unix.MOUNT_ATTR_RDONLY}, "rrw": {true, unix.MOUNT_ATTR_RDONLY},
	"rnosuid": {false, unix.MOUNT_ATTR_NOSUID}, "rsuid": {true, unix.MOUNT_ATTR_NOSUID},
	"rnodev": {false, unix.MOUNT_ATTR_NODEV}, "rdev": {true, unix.MOUNT_ATTR_NODEV},
	"rnoexec": {false, unix.MOUNT_ATTR_NOEXEC}, "rexec": {true, unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime": {false, unix.MOUNT_ATTR_NODIRATIME}, "rdiratime": {true, unix.MOUNT_ATTR_NODIRATIME},
	"rrelatime": {false, unix.MOUNT_ATTR_RELATIME}, "rnorelatime": {true, unix.MOUNT_ATTR_RELATIME},
	"rnoatime": {false, unix.MOUNT_ATTR_NOATIME}, "ratime": {true, unix.MOUNT_ATTR_NOATIME},
	"rstrictatime": {false, unix.MOUNT_ATTR_STRICTATIME}, "rnostrictatime": {true, unix.MOUNT_ATTR_STRICTATIME},
	"rnosymfollow": {false, unix.MOUNT_ATTR_NOSYMFOLLOW}, "rsymfollow": {true, unix.MOUNT_ATTR_NOSYMFOLLOW},
}

func parseMountOptions(options []string) (mountOpts, error) {
	var o mountOpts
	for _, opt := range options {
		if f, ok := mountFlags[opt]; ok {
			if f.clear {
				o.flags &^= f.flag
				o.clear |= f.flag
			} else {
				o.flags |= f.flag
				o.clear &^= f.flag
			}
			continue
		}
		if p, ok := propagationFlags[opt]; ok {
			o.propagation = append(o.propagation, p)
			continue
		}
		if a, ok := recursiveAttrs[opt]; ok {
			if a.attr&unix.MOUNT_ATTR__ATIME != 0 || opt == "rrelatime" || opt == "ratime" {
				mode := a.attr
				if a.clear {
					mode = unix.MOUNT_ATTR_RELATIME
				}
				o.recAtime = &mode
				continue
			}
			// The last of rro/rrw (and the like) wins, as for ro/rw.
			if a.clear {
				o.recClear |= a.attr
				o.recSet &^= a.attr
			} else {
				o.recSet |= a.attr
				o.recClear &^= a.attr
			}
			continue
		}
		switch opt {
		case "idmap", "ridmap":
			o.idmap, o.idmapRec = true, opt == "ridmap"
			continue
		case "tmpcopyup":
			o.tmpcopyup = true
			continue
		}
		o.data = append(o.data, opt)
	}
	return o, nil
}

func isBind(m specs.Mount) bool {
	if m.Type == "bind" {
		return true
	}
	for _, o := range m.Options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

// mountError says which mount failed and how, like moby/sys's mount.Error.
type mountError struct {
	op     string
	source string
	target string
	fstype string
	flags  uintptr
	data   string
	err    error
}

func (e *mountError) Error() string {
	s := e.op + " "
	if e.source != "" {
		s += e.source + " "
	}
	s += "on " + e.target
	if e.fstype != "" {
		s += " (" + e.fstype
		if e.data != "" {
			s += ", " + e.data
		}
		s += ")"
	}
	return s + ": " + e.err.Error()
}

func (e *mountError) Unwrap() error { return e.err }

// openInRoot resolves path inside the directory root as if root were "/"
// (openat2 RESOLVE_IN_ROOT): ".." and absolute symlinks stop at root, so
// nothing in the container's filesystem can send us outside it. It returns
// an O_PATH fd.
func openInRoot(root *os.File, path string, flags int) (*os.File, error) {
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	rel := strings.TrimLeft(path, "/")
	if rel == "" {
		rel = "."
	}
	for {
		fd, err := unix.Openat2(int(root.Fd()), rel, &how)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "openat2", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}

// maxLinks bounds how many dangling symlinks creating one path may
// follow (the kernel's own limit), so a loop fails instead of recursing.
const maxLinks = 40

// mkdirInRoot creates path and its missing parents inside root, each
// component resolved in root, and returns the final directory (O_PATH).
// A symlink on the way whose target is missing gets its target created,
// resolved in root like the rest (as runc's MkdirAllInRoot does).
func mkdirInRoot(root *os.File, path string, mode uint32) (*os.File, error) {
	return mkdirInRootLinks(root, path, mode, 0)
}

func mkdirInRootLinks(root *os.File, path string, mode uint32, links int) (*os.File, error) {
	f, err := openInRoot(root, path, unix.O_PATH|unix.O_DIRECTORY)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return f, err
	}
	parent := "/"
	for _, part := range strings.Split(strings.Trim(path, "/"), "/") {
		if part == "" || part == "." {
			continue
		}
		dir, err := openInRoot(root, parent, unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return nil, err
		}
		err = unix.Mkdirat(int(dir.Fd()), part, mode)
		if err == unix.EEXIST {
			err = mkdirLinkTarget(root, dir, parent, part, mode, links)
		}
		dir.Close()
		if err != nil {
			return nil, &os.PathError{Op: "mkdir", Path: parent + part, Err: err}
		}
		parent = strings.TrimSuffix(parent, "/") + "/" + part + "/"
	}
	return openInRoot(root, path, unix.O_PATH|unix.O_DIRECTORY)
}

// mkdirLinkTarget is called for an existing entry name in dir (at path
// parent): if it is a symlink, its target is created as a directory.
func mkdirLinkTarget(root, dir *os.File, parent, name string, mode uint32, links int) error {
	target, ok, err := linkTarget(dir, parent, name, links)
	if !ok {
		return err
	}
	f, err := mkdirInRootLinks(root, target, mode, links+1)
	if err != nil {
		return err
	}
	return f.Close()
}

// linkTarget returns the target of the symlink name in dir (at path
// parent) as a path for openInRoot, or ok false if name is no symlink.
func linkTarget(dir *os.File, parent, name string, links int) (string, bool, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(int(dir.Fd()), name, buf)
	if err == unix.EINVAL {
		return "", false, nil // not a symlink
	}
	if err != nil {
		return "", false, err
	}
	if links >= maxLinks {
		return "", false, unix.ELOOP
	}
	target := string(buf[:n])
	if !strings.HasPrefix(target, "/") {
		target = strings.TrimSuffix(parent, "/") + "/" + target
	}
	return target, true, nil
}

// createFileInRoot makes sure path exists as a file (a bind target for a
// file source) and returns it (O_PATH). If path is a symlink whose target
// is missing, the target is created, resolved in root.
func createFileInRoot(root *os.File, path string) (*os.File, error) {
	return createFileInRootLinks(root, path, 0)
}

func createFileInRootLinks(root *os.File, path string, links int) (*os.File, error) {
	f, err := openInRoot(root, path, unix.O_PATH)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return f, err
	}
	dfd, base, err := parentDirInRoot(root, path)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Openat(dfd, base, unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err == unix.ELOOP {
		dir, _ := splitPath(path)
		d := os.NewFile(uintptr(dfd), dir)
		target, ok, lerr := linkTarget(d, dir, base, links)
		d.Close()
		if !ok {
			if lerr == nil {
				lerr = err
			}
			return nil, &os.PathError{Op: "create", Path: path, Err: lerr}
		}
		f, err := createFileInRootLinks(root, target, links+1)
		if err != nil {
			return nil, err
		}
		f.Close()
		return openInRoot(root, path, unix.O_PATH)
	}
	unix.Close(dfd)
	if err != nil && err != unix.EEXIST {
		return nil, &os.PathError{Op: "create", Path: path, Err: err}
	}
	if err == nil {
		unix.Close(fd)
	}
	return openInRoot(root, path, unix.O_PATH)
}

// parentDirInRoot creates path's parent directories inside root and
// returns the parent as a directory fd (usable with *at calls that create
// entries, which O_PATH fds are not) plus path's last component.
func parentDirInRoot(root *os.File, path string) (dfd int, base string, err error) {
	dir, base := splitPath(path)
	parent, err := mkdirInRoot(root, dir, 0o755)
	if err != nil {
		return -1, "", err
	}
	defer parent.Close()
	dfd, err = unix.Openat(int(parent.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return dfd, base, nil
}

func splitPath(path string) (dir, base string) {
	path = "/" + strings.Trim(path, "/")
	i := strings.LastIndexByte(path, '/')
	return path[:i+1], path[i+1:]
}

// bindMount clones the mount tree at source (recursively for rbind),
// applies attrs to the detached copy, then attaches it on target. The
// copy is never visible half-configured: a read-only bind is read-only
// from the moment it appears.
func bindMount(sourceDir int, source string, target *os.File, recursive bool, attr *unix.MountAttr, recAttr *unix.MountAttr) error {
	flags := unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	if source == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	tree, err := unix.OpenTree(sourceDir, source, uint(flags))
	if err != nil {
		return &mountError{op: "binding", source: source, target: target.Name(), err: err}
	}
	defer unix.Close(tree)
	if attr != nil && attr.Attr_set|attr.Attr_clr != 0 {
		if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, attr); err != nil {
			return &mountError{op: "setting attributes of bind", source: source, target: target.Name(), err: err}
		}
	}
	if recAttr != nil && recAttr.Attr_set|recAttr.Attr_clr != 0 {
		if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, recAttr); err != nil {
			return &mountError{op: "setting recursive attributes of bind", source: source, target: target.Name(), err: err}
		}
	}
	err = unix.MoveMount(tree, "", int(target.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	if err != nil {
		return &mountError{op: "attaching bind", source: source, target: target.Name(), err: err}
	}
	return nil
}

// mountAt mounts a filesystem on the directory target. mount(2) takes a
// path, so the target is reached as "." after fchdir to its fd: the path
// that was resolved in the rootfs is exactly the one mounted on.
func mountAt(source string, target *os.File, fstype string, flags uintptr, data string) error {
	if err := unix.Fchdir(int(target.Fd())); err != nil {
		return &mountError{op: "mounting", source: source, target: target.Name(), fstype: fstype, err: err}
	}
	if err := unix.Mount(source, ".", fstype, flags, data); err != nil {
		return &mountError{op: "mounting", source: source, target: target.Name(), fstype: fstype, data: data, err: err}
	}
	return nil
}

// attrFromFlags converts MS_* flags to mount_setattr attributes.
func attrFromFlags(set, clear uintptr) *unix.MountAttr {
	var a unix.MountAttr
	conv := []struct {
		ms   uintptr
		attr uint64
	}{
		{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY}, {unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID},
		{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV}, {unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
		{unix.MS_NODIRATIME, unix.MOUNT_ATTR_NODIRATIME}, {unix.MS_NOSYMFOLLOW, unix.MOUNT_ATTR_NOSYMFOLLOW},
	}
	for _, c := range conv {
		if set&c.ms != 0 {
			a.Attr_set |= c.attr
		}
		if clear&c.ms != 0 {
			a.Attr_clr |= c.attr
		}
	}
	// Access-time modes are one field: setting one means clearing the mask.
	switch {
	case set&unix.MS_NOATIME != 0:
		a.Attr_set |= unix.MOUNT_ATTR_NOATIME
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
	case set&unix.MS_STRICTATIME != 0:
		a.Attr_set |= unix.MOUNT_ATTR_STRICTATIME
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
	case set&unix.MS_RELATIME != 0:
		a.Attr_set |= unix.MOUNT_ATTR_RELATIME
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
	}
	return &a
}

// recAttr is the mount_setattr argument for the r* options.
func (o mountOpts) recAttr() *unix.MountAttr {
	a := &unix.MountAttr{Attr_set: o.recSet, Attr_clr: o.recClear}
	if o.recAtime != nil {
		a.Attr_set |= *o.recAtime
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
	}
	return a
}

// MountOptions lists every mounts[].options word husk understands (others
// are passed to the filesystem as data), for `husk features`.
func MountOptions() []string {
	var out []string
	for o := range mountFlags {
		out = append(out, o)
	}
	for o := range propagationFlags {
		out = append(out, o)
	}
	for o := range recursiveAttrs {
		out = append(out, o)
	}
	out = append(out, "tmpcopyup", "idmap", "ridmap")
	sort.Strings(out)
	return out
}
