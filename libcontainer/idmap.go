package libcontainer

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Idmapped mounts (mounts[].uidMappings/gidMappings, "idmap"): the kernel
// takes the mapping as a user namespace fd (mount_setattr with
// MOUNT_ATTR_IDMAP), and only from a caller privileged over the source's
// filesystem, which init in a user namespace is not. So the parent makes
// each idmapped bind: a detached copy of the source (open_tree), with the
// mount's attributes and the mapping set, handed to init as an fd, which
// init attaches at the destination resolved in the rootfs. The user
// namespaces come from a holder process that lives only until its
// namespace is opened, one per distinct mapping.

// UsernsHoldArg is the hidden argument that makes husk a holder: it waits
// for stdin to close, and exits.
const UsernsHoldArg = "userns-hold"

// idmappedMounts returns, by mount index, a detached idmapped mount for
// each idmapped bind of spec. The caller closes the files.
func idmappedMounts(spec *specs.Spec, bundle string) (map[int]*os.File, error) {
	out := map[int]*os.File{}
	userns := map[string]*os.File{}
	defer closeAll(userns)
	for i, m := range spec.Mounts {
		opts, _ := parseMountOptions(m.Options)
		uid, gid := m.UIDMappings, m.GIDMappings
		if len(uid) == 0 && !opts.idmap {
			continue
		}
		if len(uid) == 0 {
			uid, gid = spec.Linux.UIDMappings, spec.Linux.GIDMappings
		}
		key := fmt.Sprint(uid, gid)
		if userns[key] == nil {
			f, err := newUserns(uid, gid)
			if err != nil {
				closeFiles(out)
				return nil, &SpecError{Path: fmt.Sprintf("mounts[%d]", i), Err: fmt.Errorf("making the user namespace of an idmapped mount: %w", err)}
			}
			userns[key] = f
		}
		tree, err := idmappedTree(m, bundle, opts, int(userns[key].Fd()))
		if err != nil {
			closeFiles(out)
			return nil, &SpecError{Path: fmt.Sprintf("mounts[%d]", i), Err: err}
		}
		out[i] = tree
	}
	return out, nil
}

// idmappedTree clones the bind's source and sets its attributes and the
// mapping on the detached copy.
func idmappedTree(m specs.Mount, bundle string, opts mountOpts, userns int) (*os.File, error) {
	src := m.Source
	if !filepath.IsAbs(src) {
		src = filepath.Join(bundle, src)
	}
	flags := unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC
	if opts.flags&unix.MS_REC != 0 {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, uint(flags))
	if err != nil {
		return nil, &mountError{op: "binding", source: src, target: m.Destination, err: err}
	}
	tree := os.NewFile(uintptr(fd), src)
	attr, recAttr := attrFromFlags(opts.flags, opts.clear), opts.recAttr()
	idmap := attr
	if opts.idmapRec {
		idmap = recAttr
	}
	idmap.Attr_set |= unix.MOUNT_ATTR_IDMAP
	idmap.Userns_fd = uint64(userns)
	for _, a := range []struct {
		attr  *unix.MountAttr
		flags uint
	}{{attr, unix.AT_EMPTY_PATH}, {recAttr, unix.AT_EMPTY_PATH | unix.AT_RECURSIVE}} {
		if a.attr.Attr_set|a.attr.Attr_clr == 0 {
			continue
		}
		if err := unix.MountSetattr(fd, "", a.flags, a.attr); err != nil {
			tree.Close()
			return nil, &mountError{op: "idmapping bind", source: src, target: m.Destination, err: err}
		}
	}
	return tree, nil
}

func closeFiles(files map[int]*os.File) {
	for _, f := range files {
		f.Close()
	}
}

func closeAll(files map[string]*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// newUserns returns a new user namespace with the mappings, as an fd.
func newUserns(uid, gid []specs.LinuxIDMapping) (*os.File, error) {
	cmd := exec.Command("/proc/self/exe", UsernsHoldArg)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER,
		UidMappings: idMaps(uid),
		GidMappings: idMaps(gid),
		Pdeathsig:   unix.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ns, err := os.Open("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/user")
	stdin.Close()
	cmd.Wait()
	return ns, err
}

// HoldUserns is the holder's whole life.
func HoldUserns() {
	var b [1]byte
	os.Stdin.Read(b[:])
	os.Exit(0)
}
