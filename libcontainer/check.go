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
	"github.com/husk-runtime/husk/seccomp"
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
	c.seccomp()
	c.mountTypes()
	c.idmappedMounts()
	c.entrypoint()
	c.cwd()
	c.newDirs()
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

// splitPathMsg splits "linux.resources.memory.limit: msg" into path and msg.
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
	h.Seccomp = "not compiled in"
	if v := seccomp.Version(); v != "" {
		h.Seccomp = "libseccomp " + v
	}
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
