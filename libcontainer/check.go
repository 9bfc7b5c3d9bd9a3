package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/cgroups"
)

// husk check: will this bundle run here, and why not. Check runs create's
// own validation (so the two never disagree) and then the checks create
// can only make by trying: what the host and the rootfs can honour.

// Finding is one thing check found about a field.
type Finding struct {
	Severity string `json:"severity"` // "error": create would fail; "warning": ignored or degraded
	Path     string `json:"path"`     // the field's JSON path
	Message  string `json:"message"`
	Hint     string `json:"hint,omitempty"`
}

// HostInfo is what check reports about the host itself.
type HostInfo struct {
	Kernel     string `json:"kernel"`
	Cgroup     string `json:"cgroup"` // "v2", "hybrid (cgroup2 at ...)" or "v1 only"
	Controller string `json:"controllers"`
	UserNS     bool   `json:"userNamespaces"`
	Rootless   bool   `json:"rootless"`
	AppArmor   bool   `json:"apparmor"`
	SELinux    bool   `json:"selinux"`
	Seccomp    string `json:"seccomp"`
}

// Report is husk check's whole answer.
type Report struct {
	Bundle   string    `json:"bundle"`
	Host     HostInfo  `json:"host"`
	Findings []Finding `json:"findings"`
}

// OK reports whether create would succeed (no error findings).
func (r *Report) OK() bool {
	for _, f := range r.Findings {
		if f.Severity == "error" {
			return false
		}
	}
	return true
}

// Check examines the bundle without creating anything.
func Check(bundle string) *Report {
	r := &Report{Bundle: bundle, Host: hostInfo()}
	spec, err := LoadSpec(bundle)
	if err != nil {
		r.add("error", "config.json", err.Error(), "fix the file; husk spec writes a valid one")
		return r
	}
	for _, err := range validateAll(spec, bundle) {
		r.addErr("error", err, "")
	}
	if spec.Process == nil || spec.Linux == nil || spec.Root == nil {
		return r
	}
	c := &checker{r: r, spec: spec, bundle: bundle}
	c.capabilities()
	c.lsm()
	c.hooks()
	c.userNamespaces()
	c.cgroup()
	c.mountTypes()
	c.idmappedMounts()
	c.entrypoint()
	c.user()
	return r
}

func (r *Report) add(severity, path, msg, hint string) {
	r.Findings = append(r.Findings, Finding{Severity: severity, Path: path, Message: msg, Hint: hint})
}

// addErr adds err, split into path and message when it is a *SpecError.
func (r *Report) addErr(severity string, err error, hint string) {
	var se *SpecError
	if errors.As(err, &se) {
		r.add(severity, se.Path, se.Err.Error(), hint)
		return
	}
	path, msg := splitPathMsg(err.Error())
	r.add(severity, path, msg, hint)
}

// splitPath splits "linux.resources.memory.limit: msg" into path and msg.
func splitPathMsg(s string) (string, string) {
	if p, rest, ok := strings.Cut(s, ": "); ok && !strings.ContainsAny(p, " \t") {
		return p, rest
	}
	return "", s
}

func hostInfo() HostInfo {
	var h HostInfo
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	root, err := cgroups.UnifiedRoot()
	switch {
	case err != nil:
		h.Cgroup = "v1 only (husk needs cgroup v2)"
	case cgroups.Hybrid():
		h.Cgroup = "hybrid (cgroup2 at " + root + ")"
	default:
		h.Cgroup = "v2"
	}
	if root != "" {
		data, _ := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
		h.Controller = strings.TrimSpace(string(data))
	}
	data, _ := os.ReadFile("/proc/sys/user/max_user_namespaces")
	h.UserNS = strings.TrimSpace(string(data)) != "0"
	h.Rootless = os.Geteuid() != 0
	h.AppArmor, h.SELinux = apparmorEnabled(), selinuxEnabled()
	return h
}

type checker struct {
	r      *Report
	spec   *specs.Spec
	bundle string
}

// capabilities: names this kernel does not know are dropped at create.
func (c *checker) capabilities() {
	caps := c.spec.Process.Capabilities
	if caps == nil {
		return
	}
	last := lastCap()
	for _, f := range []field[[]string]{{"bounding", caps.Bounding}, {"effective", caps.Effective}, {"inheritable", caps.Inheritable}, {"permitted", caps.Permitted}, {"ambient", caps.Ambient}} {
		set, names := f.name, f.val
		for i, name := range names {
			if n, ok := capNames[strings.ToUpper(name)]; ok && n > last {
				c.r.add("warning", fmt.Sprintf("process.capabilities.%s[%d]", set, i),
					fmt.Sprintf("%s is unknown to this kernel (last capability %d): it will be ignored", name, last), "")
			}
		}
	}
}

// lsm: labels for modules that are off are ignored.
func (c *checker) lsm() {
	p := c.spec.Process
	if p.ApparmorProfile != "" && !c.r.Host.AppArmor {
		c.r.add("warning", "process.apparmorProfile", "AppArmor is off here: the profile will be ignored", "")
	}
	if p.SelinuxLabel != "" && !c.r.Host.SELinux {
		c.r.add("warning", "process.selinuxLabel", "SELinux is off here: the label will be ignored", "")
	}
	if c.spec.Linux.MountLabel != "" && !c.r.Host.SELinux {
		c.r.add("warning", "linux.mountLabel", "SELinux is off here: the label will be ignored", "")
	}
}

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

// userNamespaces: disabled, or mappings this user may not write.
func (c *checker) userNamespaces() {
	plan := planNamespaces(c.spec.Linux.Namespaces)
	if !plan.isNew(specs.UserNamespace) {
		return
	}
	if !c.r.Host.UserNS {
		c.r.add("error", "linux.namespaces", "user namespaces are disabled here (user.max_user_namespaces is 0)", "")
	}
	if c.r.Host.Rootless && !ownIDsOnly(c.spec.Linux) {
		for _, tool := range []string{"newuidmap", "newgidmap"} {
			if _, err := lookPathHost(tool); err != nil {
				c.r.add("error", "linux.uidMappings", "mapping ranges rootless needs "+tool+", which is not installed", "install the uidmap package, or map only your own ids")
			}
		}
	}
}

func lookPathHost(name string) (string, error) {
	for _, dir := range filepath.SplitList(defaultPath) {
		p := filepath.Join(dir, name)
		if unix.Access(p, unix.X_OK) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found", name)
}

// cgroup: each limit's controller at the target, rootless writability,
// and whether the device filter loads.
func (c *checker) cgroup() {
	res := c.spec.Linux.Resources
	id := filepath.Base(c.bundle)
	m, err := cgroups.New(c.spec.Linux.CgroupsPath, id)
	if err != nil {
		return // validation reported it
	}
	if c.r.Host.Rootless && !m.Writable() {
		if cgroups.HasLimits(res) {
			c.r.add("error", "linux.resources", "limits need a cgroup, and this user may not create "+m.Path, "run as root, or drop the limits")
		} else {
			c.r.add("warning", "linux.cgroupsPath", m.Path+" is not writable: the container will run without a cgroup (no pause, no kill --all)", "")
		}
		return
	}
	for _, err := range m.CheckControllers(res) {
		c.r.addErr("error", err, controllerHint())
	}
	if err := cgroups.CheckDeviceFilter(res, c.spec.Linux.Devices); err != nil {
		c.r.addErr("error", err, "")
	}
}

func controllerHint() string {
	if cgroups.Hybrid() {
		return "on a hybrid host cgroup v1 owns this controller; run on a cgroup v2 host, or drop the limit"
	}
	return "enable the controller in the parent cgroup's cgroup.subtree_control"
}

// mountTypes: filesystems the kernel does not list may still be loaded
// on demand, so this is a warning.
func (c *checker) mountTypes() {
	data, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return
	}
	known := map[string]bool{"bind": true, "none": true, "": true, "cgroup": true}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			known[f[len(f)-1]] = true
		}
	}
	for i, m := range c.spec.Mounts {
		if !isBind(m) && !known[m.Type] {
			c.r.add("warning", fmt.Sprintf("mounts[%d].type", i), fmt.Sprintf("%q is not in /proc/filesystems (a module may still provide it)", m.Type), "")
		}
	}
}

// idmappedMounts: whether each source's filesystem takes an idmap.
func (c *checker) idmappedMounts() {
	if c.r.Host.Rootless {
		return
	}
	trees, err := idmappedMounts(c.spec, c.bundle)
	if err != nil {
		c.r.addErr("error", err, "the source's filesystem may not support idmapped mounts")
		return
	}
	closeFiles(trees)
}

// entrypoint: process.args[0] found and executable in the rootfs, with
// the process's PATH (a mount could still provide it: then a warning).
func (c *checker) entrypoint() {
	p := c.spec.Process
	if len(p.Args) == 0 || p.Args[0] == "" {
		return
	}
	file := p.Args[0]
	cands := []string{file}
	if !strings.Contains(file, "/") {
		path := envValue(p.Env, "PATH")
		if path == "" {
			path = defaultPath
		}
		cands = nil
		for _, dir := range filepath.SplitList(path) {
			cands = append(cands, filepath.Join(dir, file))
		}
	} else if !filepath.IsAbs(file) {
		cands = []string{filepath.Join(p.Cwd, file)}
	}
	var firstErr error
	for _, cand := range cands {
		err := c.executableInRoot(cand)
		if err == nil {
			return
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	msg := fmt.Sprintf("exec: %q: executable file not found in $PATH", file)
	if strings.Contains(file, "/") {
		msg = firstErr.Error()
	}
	c.r.add("error", "process.args[0]", msg, "check the rootfs; a mount that provides it would make this a false alarm")
}

// executableInRoot resolves path in the rootfs and checks it is a regular
// file with an execute bit.
func (c *checker) executableInRoot(path string) error {
	root, err := os.OpenFile(rootfsPath(c.bundle, c.spec), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer root.Close()
	f, err := openInRoot(root, path, unix.O_PATH)
	if err != nil {
		return fmt.Errorf("%s: %w", path, unix.ENOENT)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o111 == 0 {
		return fmt.Errorf("%s: %w", path, unix.EACCES)
	}
	return nil
}

// user: a uid without an /etc/passwd entry in the rootfs runs fine, but
// gets HOME=/.
func (c *checker) user() {
	u := c.spec.Process.User
	if u.UID == 0 {
		return
	}
	data, err := os.ReadFile(filepath.Join(rootfsPath(c.bundle, c.spec), "etc", "passwd"))
	want := fmt.Sprintf(":%d:", u.UID)
	if err != nil || !strings.Contains(string(data), want) {
		c.r.add("warning", "process.user.uid", fmt.Sprintf("uid %d has no entry in the rootfs's /etc/passwd: HOME will be /", u.UID), "")
	}
}
