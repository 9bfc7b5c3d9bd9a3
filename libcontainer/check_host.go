package libcontainer

import (
	"bufio"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/cgroups"
	"github.com/husk-runtime/husk/seccomp"
)

// husk check, the host's side: what the kernel, libseccomp, the cgroup
// tree and the id delegation can honour. Each check runs the code create
// runs, stopped short of making anything that outlives it.

// userNamespaces: disabled, or mappings this user may not write.
func (c *checker) userNamespaces() {
	plan := planNamespaces(c.spec.Linux.Namespaces)
	if !plan.isNew(specs.UserNamespace) {
		return
	}
	if !c.r.Host.UserNS {
		c.r.add("error", "linux.namespaces", "user namespaces are disabled here (user.max_user_namespaces is 0)", "")
	}
	if !c.r.Host.Rootless || ownIDsOnly(c.spec.Linux) {
		return
	}
	for _, tool := range []string{"newuidmap", "newgidmap"} {
		if _, err := lookPathHost(tool); err != nil {
			c.r.add("error", "linux.uidMappings", "mapping ranges rootless needs "+tool+", which is not installed", "install the uidmap package, or map only your own ids")
		}
	}
	c.delegated("linux.uidMappings", "/etc/subuid", os.Geteuid(), c.spec.Linux.UIDMappings)
	c.delegated("linux.gidMappings", "/etc/subgid", os.Getegid(), c.spec.Linux.GIDMappings)
}

// delegated reports each mapping that neither maps the caller's own id
// nor lies in a range file (/etc/subuid, /etc/subgid) gives the caller:
// newuidmap and newgidmap would refuse it.
func (c *checker) delegated(path, file string, own int, maps []specs.LinuxIDMapping) {
	ranges := subIDRanges(file, os.Geteuid())
	for i, m := range maps {
		if m.Size == 1 && m.HostID == uint32(own) {
			continue
		}
		ok := false
		for _, r := range ranges {
			ok = ok || (uint64(m.HostID) >= r[0] && uint64(m.HostID)+uint64(m.Size) <= r[0]+r[1])
		}
		if !ok {
			c.r.add("error", fmt.Sprintf("%s[%d]", path, i),
				fmt.Sprintf("host ids %d-%d are not delegated to this user in %s", m.HostID, uint64(m.HostID)+uint64(m.Size)-1, file),
				"add a range to "+file+" (usermod --add-subuids), or map only your own id")
		}
	}
}

// subIDRanges returns the [start, count] ranges file gives uid, by name
// or by number.
func subIDRanges(file string, uid int) [][2]uint64 {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	names := map[string]bool{strconv.Itoa(uid): true}
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		names[u.Username] = true
	}
	var out [][2]uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(fields) != 3 || !names[fields[0]] {
			continue
		}
		start, err1 := strconv.ParseUint(fields[1], 10, 32)
		count, err2 := strconv.ParseUint(fields[2], 10, 32)
		if err1 == nil && err2 == nil {
			out = append(out, [2]uint64{start, count})
		}
	}
	return out
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

// cgroup: the path, each limit's controller at the target, rootless
// writability, and whether the device filter loads.
func (c *checker) cgroup() {
	res := c.spec.Linux.Resources
	id := filepath.Base(c.bundle)
	m, err := cgroups.New(c.spec.Linux.CgroupsPath, id)
	if err != nil {
		// create fails the same way, with the same path.
		c.r.add("error", "linux.cgroupsPath", err.Error(), "husk needs cgroup v2 and a cgroupfs path")
		return
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

// seccomp compiles the profile as create does (validation already ran
// seccomp.Check): what only libseccomp can refuse is an error, and the
// syscall names it does not know, which create skips, are warnings.
func (c *checker) seccomp() {
	s := c.spec.Linux.Seccomp
	if s == nil || !seccomp.Enabled || seccomp.Check(s) != nil {
		return
	}
	prog, err := seccomp.Compile(s)
	if err != nil {
		c.r.addErr("error", seccompError(err), "")
		return
	}
	skipped := map[string]bool{}
	for _, name := range prog.Skipped {
		skipped[name] = true
	}
	for i, sc := range s.Syscalls {
		for j, name := range sc.Names {
			if skipped[name] {
				c.r.add("warning", fmt.Sprintf("linux.seccomp.syscalls[%d].names[%d]", i, j),
					fmt.Sprintf("%q is unknown to libseccomp %s: its rule will be skipped", name, seccomp.Version()), "a newer libseccomp knows more syscalls")
			}
		}
	}
}

// idmappedMounts makes each idmapped bind as create does, detached, and
// drops it: whether the source's filesystem takes an idmap.
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
