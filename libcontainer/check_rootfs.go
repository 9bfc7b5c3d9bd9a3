package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// husk check, the bundle's side: the programs create and start would run
// (hooks, the entrypoint), the cwd and the user, looked up where init
// will look them up.

// errUnknown: the path is under a mount check cannot look into.
var errUnknown = errors.New("under a mount that check cannot look into")

// hooks whose program is missing or not executable fail create (or, for
// poststart and poststop, only warn).
func (c *checker) hooks() {
	h := c.spec.Hooks
	if h == nil {
		return
	}
	for _, f := range []field[[]specs.Hook]{{"prestart", h.Prestart}, {"createRuntime", h.CreateRuntime}, {"createContainer", h.CreateContainer}, {"poststart", h.Poststart}, {"poststop", h.Poststop}} {
		name, list := f.name, f.val
		severity := "error"
		if name == "poststart" || name == "poststop" {
			severity = "warning"
		}
		for i, hook := range list {
			if err := unix.Access(hook.Path, unix.X_OK); err != nil && filepath.IsAbs(hook.Path) {
				c.r.add(severity, fmt.Sprintf("hooks.%s[%d].path", name, i), fmt.Sprintf("%s: %v", hook.Path, err), "")
			}
		}
	}
	// startContainer hooks run inside the container: resolve in the rootfs.
	for i, hook := range h.StartContainer {
		if err := c.executableInRoot(hook.Path); err != nil {
			c.r.add("error", fmt.Sprintf("hooks.startContainer[%d].path", i), err.Error(), "startContainer hooks run inside the container")
		}
	}
}

// entrypoint: process.args[0] found and executable in the rootfs, with
// the process's PATH, as init's lookPath will look for it. A bind mount
// that covers a candidate is looked into, a tmpfs starts empty; another
// mount cannot be looked into, and makes a miss a warning.
func (c *checker) entrypoint() {
	p := c.spec.Process
	if len(p.Args) == 0 || p.Args[0] == "" {
		return
	}
	file := p.Args[0]
	var cands []string
	switch {
	case strings.Contains(file, "/") && filepath.IsAbs(file):
		cands = []string{file}
	case strings.Contains(file, "/"):
		cands = []string{filepath.Join(p.Cwd, file)}
	default:
		path := envValue(p.Env, "PATH")
		if path == "" {
			path = defaultPath
		}
		for _, dir := range filepath.SplitList(path) {
			if dir == "" {
				dir = p.Cwd
			}
			cands = append(cands, filepath.Join(dir, file))
		}
	}
	var firstErr error
	unknown := false
	for _, cand := range cands {
		err := c.executableInContainer(cand)
		if err == nil {
			return
		}
		unknown = unknown || errors.Is(err, errUnknown)
		if firstErr == nil || (errors.Is(err, unix.EACCES) && !errors.Is(firstErr, unix.EACCES)) {
			firstErr = err
		}
	}
	msg := fmt.Sprintf("exec: %q: executable file not found in $PATH", file)
	if strings.Contains(file, "/") || errors.Is(firstErr, unix.EACCES) {
		msg = fmt.Sprintf("exec: %q: %v", file, firstErr)
	}
	if unknown {
		c.r.add("warning", "process.args[0]", msg+" (in the rootfs; a mount may provide it)", "")
		return
	}
	c.r.add("error", "process.args[0]", msg, "put the program in the rootfs, or fix process.env's PATH")
}

// executableInContainer checks path where the container will see it: in
// a bind mount's source if one covers it, else in the rootfs.
func (c *checker) executableInContainer(path string) error {
	m, rest, ok := c.coveringMount(path)
	switch {
	case !ok || (m.Type == "tmpfs" && hasOption(m, "tmpcopyup")):
		return c.executableInRoot(path)
	case isBind(m):
		src := m.Source
		if !filepath.IsAbs(src) {
			src = filepath.Join(c.bundle, src)
		}
		return executableAt(nil, filepath.Join(src, rest), path)
	case m.Type == "tmpfs":
		return fmt.Errorf("%s: %w (under a tmpfs)", path, unix.ENOENT)
	}
	return fmt.Errorf("%s: %w", path, errUnknown)
}

// coveringMount is the last mounts[] entry whose destination holds path
// (the one on top), and path below it.
func (c *checker) coveringMount(path string) (specs.Mount, string, bool) {
	path = filepath.Clean("/" + path)
	for i := len(c.spec.Mounts) - 1; i >= 0; i-- {
		m := c.spec.Mounts[i]
		if m.Destination == "" {
			continue // validation reported it
		}
		dest := filepath.Clean("/" + m.Destination)
		if rel, err := filepath.Rel(dest, path); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return m, rel, true
		}
	}
	return specs.Mount{}, "", false
}

func hasOption(m specs.Mount, opt string) bool {
	for _, o := range m.Options {
		if o == opt {
			return true
		}
	}
	return false
}

// executableInRoot resolves path in the rootfs and checks it is a regular
// file with an execute bit.
func (c *checker) executableInRoot(path string) error {
	root, err := os.OpenFile(rootfsPath(c.bundle, c.spec), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer root.Close()
	return executableAt(root, path, path)
}

// executableAt checks that path (in root, or on the host when root is
// nil) is a regular file with an execute bit; errors name it as shown.
func executableAt(root *os.File, path, shown string) error {
	var f *os.File
	var err error
	if root != nil {
		f, err = openInRoot(root, path, unix.O_PATH)
	} else {
		f, err = os.OpenFile(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", shown, unix.ENOENT)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o111 == 0 {
		return fmt.Errorf("%s: %w", shown, unix.EACCES)
	}
	return nil
}

// cwd: init creates a missing cwd, but not through a file; a cwd under
// a mount check cannot look into is left alone.
func (c *checker) cwd() {
	cwd := c.spec.Process.Cwd
	if !filepath.IsAbs(cwd) {
		return // validation reported it
	}
	if m, _, ok := c.coveringMount(cwd); ok && !(m.Type == "tmpfs" && hasOption(m, "tmpcopyup")) {
		return
	}
	root, err := os.OpenFile(rootfsPath(c.bundle, c.spec), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer root.Close()
	// The deepest part of cwd that exists must be a directory.
	for dir := filepath.Clean(cwd); ; dir = filepath.Dir(dir) {
		f, err := openInRoot(root, dir, unix.O_PATH)
		if err == nil {
			var st unix.Stat_t
			if unix.Fstat(int(f.Fd()), &st) == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
				c.r.add("error", "process.cwd", fmt.Sprintf("%s: %s is not a directory", cwd, dir), "")
			}
			f.Close()
			return
		}
		if dir == "/" {
			return
		}
	}
}

// user: a uid without an /etc/passwd entry in the rootfs runs fine, but
// gets HOME=/; user.username is for Windows, and ignored here.
func (c *checker) user() {
	u := c.spec.Process.User
	if u.Username != "" {
		c.r.add("warning", "process.user.username", fmt.Sprintf("%q: on Linux the user is given by uid and gid; the name is ignored", u.Username), "")
	}
	if u.UID == 0 {
		return
	}
	data, err := os.ReadFile(filepath.Join(rootfsPath(c.bundle, c.spec), "etc", "passwd"))
	if err != nil || !passwdHas(string(data), u.UID) {
		c.r.add("warning", "process.user.uid", fmt.Sprintf("uid %d has no entry in the rootfs's /etc/passwd: HOME will be /", u.UID), "")
	}
}

// passwdHas reports whether an /etc/passwd text has an entry for uid.
func passwdHas(passwd string, uid uint32) bool {
	for _, line := range strings.Split(passwd, "\n") {
		if f := strings.Split(line, ":"); len(f) > 2 && f[2] == fmt.Sprint(uid) {
			return true
		}
	}
	return false
}

// newDirs: in a new user namespace, init creates missing mount
// destinations and the cwd as the namespace's root, whom the kernel lets
// write only in directories whose owner and group the namespace maps, or
// that anyone may write.
func (c *checker) newDirs() {
	l := c.spec.Linux
	if !planNamespaces(l.Namespaces).isNew(specs.UserNamespace) {
		return
	}
	root, err := os.OpenFile(rootfsPath(c.bundle, c.spec), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer root.Close()
	for i, m := range c.spec.Mounts {
		if m.Destination == "" || c.coveredBefore(m.Destination, i) {
			continue
		}
		if err := creatableInRoot(root, m.Destination, l); err != nil {
			c.r.add("error", fmt.Sprintf("mounts[%d].destination", i), err.Error(), "create it in the rootfs, or chown the rootfs to the mapped ids")
		}
	}
	if cwd := c.spec.Process.Cwd; filepath.IsAbs(cwd) && !c.coveredBefore(cwd, len(c.spec.Mounts)) {
		if err := creatableInRoot(root, cwd, l); err != nil {
			c.r.add("error", "process.cwd", err.Error(), "create it in the rootfs, or chown the rootfs to the mapped ids")
		}
	}
}

// coveredBefore reports whether one of the first n mounts holds path.
func (c *checker) coveredBefore(path string, n int) bool {
	saved := c.spec.Mounts
	defer func() { c.spec.Mounts = saved }()
	c.spec.Mounts = saved[:n]
	_, _, ok := c.coveringMount(path)
	return ok
}

// creatableInRoot tells whether the user namespace's root could create
// path in root: fine if it exists; else its deepest existing directory
// must be the namespace's (owner and group mapped) or writable by all.
func creatableInRoot(root *os.File, path string, l *specs.Linux) error {
	path = filepath.Clean(path)
	for dir := path; ; dir = filepath.Dir(dir) {
		f, err := openInRoot(root, dir, unix.O_PATH)
		if err != nil {
			if dir == "/" {
				return nil
			}
			continue
		}
		defer f.Close()
		var st unix.Stat_t
		if dir == path || unix.Fstat(int(f.Fd()), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil
		}
		if (hostMapped(l.UIDMappings, st.Uid) && hostMapped(l.GIDMappings, st.Gid)) || st.Mode&0o003 == 0o003 {
			return nil
		}
		return fmt.Errorf("%s: cannot be created: %s belongs to host uid %d and gid %d, which the user namespace does not map", path, dir, st.Uid, st.Gid)
	}
}

// hostMapped reports whether maps give host id a container id.
func hostMapped(maps []specs.LinuxIDMapping, id uint32) bool {
	for _, m := range maps {
		if id >= m.HostID && id-m.HostID < m.Size {
			return true
		}
	}
	return false
}
