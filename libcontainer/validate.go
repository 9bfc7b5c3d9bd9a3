package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/trace"
	"github.com/husk-runtime/husk/seccomp"
)

// Validate checks everything in spec that can be checked before anything
// is created, and returns the first problem as a *SpecError naming the
// field's JSON path. bundle is the absolute bundle directory.
func Validate(spec *specs.Spec, bundle string) error {
	defer trace.T.Begin("validate")()
	if errs := validateAll(spec, bundle); len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// ValidateProcess checks a process on its own, as husk exec gets it.
func ValidateProcess(p *specs.Process) error {
	v := &validator{spec: &specs.Spec{Process: p}}
	v.process()
	if len(v.errs) > 0 {
		return v.errs[0]
	}
	return nil
}

// validateAll returns every problem found, in config order.
func validateAll(spec *specs.Spec, bundle string) []error {
	v := &validator{spec: spec, bundle: bundle}
	v.version()
	v.root()
	v.process()
	v.namespaces()
	v.idMappings()
	v.hostname()
	v.mounts()
	v.linux()
	v.hooks()
	v.linuxExtras()
	v.seccompFilter()
	v.unsupported()
	return v.errs
}

type validator struct {
	spec   *specs.Spec
	bundle string
	errs   []error
}

func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, specErrorf(path, format, args...))
}

func (v *validator) version() {
	ver := v.spec.Version
	if ver == "" {
		v.errorf("ociVersion", "must be set")
		return
	}
	if !strings.HasPrefix(ver, "1.") {
		v.errorf("ociVersion", "unsupported version %q (husk implements %s)", ver, specs.Version)
	}
}

func (v *validator) root() {
	if v.spec.Root == nil || v.spec.Root.Path == "" {
		v.errorf("root.path", "must be set")
		return
	}
	p := rootfsPath(v.bundle, v.spec)
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		v.errorf("root.path", "%s: %s", p, reason(err))
	case !fi.IsDir():
		v.errorf("root.path", "%s: not a directory", p)
	}
}

func (v *validator) process() {
	p := v.spec.Process
	if p == nil {
		v.errorf("process", "must be set")
		return
	}
	if len(p.Args) == 0 || p.Args[0] == "" {
		v.errorf("process.args", "must name a program to run")
	}
	if p.Cwd == "" || !filepath.IsAbs(p.Cwd) {
		v.errorf("process.cwd", "%q: must be an absolute path", p.Cwd)
	}
	for i, kv := range p.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			v.errorf(fmt.Sprintf("process.env[%d]", i), "%q: must be KEY=VALUE", kv)
		}
	}
	v.capabilities(p.Capabilities)
	v.rlimits(p.Rlimits)
	if a := p.OOMScoreAdj; a != nil && (*a < -1000 || *a > 1000) {
		v.errorf("process.oomScoreAdj", "%d: must be between -1000 and 1000", *a)
	}
	v.processExtras(p)
}

func (v *validator) capabilities(c *specs.LinuxCapabilities) {
	if c == nil {
		return
	}
	sets := []struct {
		name  string
		names []string
	}{
		{"bounding", c.Bounding}, {"effective", c.Effective}, {"inheritable", c.Inheritable},
		{"permitted", c.Permitted}, {"ambient", c.Ambient},
	}
	for _, set := range sets {
		for i, name := range set.names {
			if _, ok := capNames[strings.ToUpper(name)]; !ok {
				v.errorf(fmt.Sprintf("process.capabilities.%s[%d]", set.name, i), "%q: unknown capability", name)
			}
		}
	}
}

// rlimitTypes maps process.rlimits[].type to the resource number.
var rlimitTypes = map[string]int{
	"RLIMIT_CPU": unix.RLIMIT_CPU, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_STACK": unix.RLIMIT_STACK,
	"RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_AS": unix.RLIMIT_AS,
	"RLIMIT_LOCKS": unix.RLIMIT_LOCKS, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
}

func (v *validator) rlimits(rl []specs.POSIXRlimit) {
	seen := map[string]bool{}
	for i, r := range rl {
		path := fmt.Sprintf("process.rlimits[%d]", i)
		if _, ok := rlimitTypes[r.Type]; !ok {
			v.errorf(path+".type", "%q: unknown rlimit", r.Type)
			continue
		}
		if seen[r.Type] {
			v.errorf(path+".type", "%s: given twice", r.Type)
		}
		seen[r.Type] = true
		if r.Soft > r.Hard {
			v.errorf(path, "%s: soft limit %d is above hard limit %d", r.Type, r.Soft, r.Hard)
		}
	}
}

func (v *validator) namespaces() {
	if v.spec.Linux == nil {
		v.errorf("linux", "must be set")
		return
	}
	seen := map[specs.LinuxNamespaceType]bool{}
	for i, ns := range v.spec.Linux.Namespaces {
		path := fmt.Sprintf("linux.namespaces[%d]", i)
		kind, ok := nsKinds[ns.Type]
		if !ok {
			v.errorf(path+".type", "%q: unknown namespace type", ns.Type)
			continue
		}
		if seen[ns.Type] {
			v.errorf(path+".type", "%q: namespace given twice", ns.Type)
		}
		seen[ns.Type] = true
		if !namespaceSupported(kind) {
			v.errorf(path+".type", "%q: this kernel has no %s namespaces", ns.Type, ns.Type)
		}
		if ns.Path != "" {
			v.namespacePath(path+".path", ns)
		}
	}
	plan := planNamespaces(v.spec.Linux.Namespaces)
	// Without a mount namespace the mounts are made in the runtime's (see
	// bindRootfsOnHost), which init could not do from a user namespace
	// of its own.
	if !seen[specs.MountNamespace] && plan.isNew(specs.UserNamespace) {
		v.errorf("linux.namespaces", "a new user namespace needs a mount namespace")
	}
	if plan.isNew(specs.UserNamespace) && (plan.join[specs.MountNamespace] != "" || plan.join[specs.TimeNamespace] != "") {
		v.errorf("linux.namespaces", "creating a user namespace while joining a mount or time namespace is not supported")
	}
	if len(v.spec.Linux.TimeOffsets) > 0 && !plan.isNew(specs.TimeNamespace) {
		v.errorf("linux.timeOffsets", "requires a new time namespace")
	}
	for clock := range v.spec.Linux.TimeOffsets {
		if _, ok := timeClocks[clock]; !ok {
			v.errorf("linux.timeOffsets."+clock, "unknown clock (want monotonic or boottime)")
		}
	}
}

// openNamespace opens a namespace file for NS_GET_NSTYPE. It is looked at
// through O_PATH first, and opened for reading only if it is on nsfs: a
// FIFO would block the open forever, and opening a device can have
// effects of its own (a watchdog, a tape that rewinds).
func openNamespace(name string) (*os.File, error) {
	fd, err := unix.Open(name, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return nil, &os.PathError{Op: "fstatfs", Path: name, Err: err}
	}
	if st.Type != unix.NSFS_MAGIC {
		return nil, fmt.Errorf("%s: not a namespace file", name)
	}
	// The same inode, now readable.
	rfd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(rfd), name), nil
}

// namespaceSupported reports whether this kernel has the namespace type.
func namespaceSupported(k nsKind) bool {
	_, err := os.Stat("/proc/self/ns/" + k.procName)
	return err == nil
}

// namespacePath checks that a namespace path exists and is of the right type.
func (v *validator) namespacePath(path string, ns specs.LinuxNamespace) {
	f, err := openNamespace(ns.Path)
	if err != nil {
		v.errorf(path, "%s", errorText(err))
		return
	}
	defer f.Close()
	got, err := nsTypeOf(f)
	if err != nil {
		v.errorf(path, "%s", errorText(err))
		return
	}
	if got != ns.Type {
		v.errorf(path, "%s: is a %s namespace, not %s", ns.Path, got, ns.Type)
	}
}

func (v *validator) idMappings() {
	l := v.spec.Linux
	if l == nil {
		return
	}
	plan := planNamespaces(l.Namespaces)
	hasMaps := len(l.UIDMappings) > 0 || len(l.GIDMappings) > 0
	switch {
	case plan.isNew(specs.UserNamespace) && len(l.UIDMappings) == 0:
		v.errorf("linux.uidMappings", "required with a new user namespace")
	case plan.isNew(specs.UserNamespace) && len(l.GIDMappings) == 0:
		v.errorf("linux.gidMappings", "required with a new user namespace")
	case !plan.isNew(specs.UserNamespace) && hasMaps:
		v.errorf("linux.uidMappings", "given without a new user namespace")
	}
	for _, f := range []field[[]specs.LinuxIDMapping]{{"linux.uidMappings", l.UIDMappings}, {"linux.gidMappings", l.GIDMappings}} {
		name, maps := f.name, f.val
		for i, m := range maps {
			if m.Size == 0 {
				v.errorf(fmt.Sprintf("%s[%d].size", name, i), "must be at least 1")
			}
		}
		if plan.isNew(specs.UserNamespace) && len(maps) > 0 && !mapsID(maps, 0) {
			v.errorf(name, "must map the container's root (id 0): husk's init runs as it")
		}
	}
}

func mapsID(maps []specs.LinuxIDMapping, id uint32) bool {
	for _, m := range maps {
		if id >= m.ContainerID && id-m.ContainerID < m.Size {
			return true
		}
	}
	return false
}

func (v *validator) hostname() {
	if v.spec.Linux == nil {
		return
	}
	// A new uts namespace, or one joined by path (as runc and crun do):
	// never the runtime's own.
	plan := planNamespaces(v.spec.Linux.Namespaces)
	own := plan.isNew(specs.UTSNamespace) || plan.join[specs.UTSNamespace] != ""
	if v.spec.Hostname != "" && !own {
		v.errorf("hostname", "setting the hostname requires a uts namespace (new or joined)")
	}
	if v.spec.Domainname != "" && !own {
		v.errorf("domainname", "setting the domain name requires a uts namespace (new or joined)")
	}
}

func (v *validator) mounts() {
	for i, m := range v.spec.Mounts {
		path := fmt.Sprintf("mounts[%d]", i)
		if m.Destination == "" {
			v.errorf(path+".destination", "must be set")
		}
		opts, err := parseMountOptions(m.Options)
		if err != nil {
			v.errorf(path+".options", "%s", errorText(err))
		}
		v.idmappedMount(path, m, opts)
		if isBind(m) && m.Source == "" {
			v.errorf(path+".source", "a bind mount needs a source")
		}
	}
}

// idmappedMount checks mounts[].uidMappings/gidMappings and the idmap
// options: binds only; both mappings or neither (then the container's own
// user namespace mappings are used).
func (v *validator) idmappedMount(path string, m specs.Mount, opts mountOpts) {
	hasMaps := len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0
	if !hasMaps && !opts.idmap {
		return
	}
	switch {
	case !isBind(m):
		v.errorf(path, "idmapped mounts are supported for bind mounts only")
	case len(m.UIDMappings) == 0 != (len(m.GIDMappings) == 0):
		v.errorf(path+".uidMappings", "uidMappings and gidMappings go together")
	case !hasMaps && (v.spec.Linux == nil || len(v.spec.Linux.UIDMappings) == 0):
		v.errorf(path+".options", "idmap without mounts[].uidMappings needs the container's user namespace mappings")
	}
	for _, f := range []field[[]specs.LinuxIDMapping]{{".uidMappings", m.UIDMappings}, {".gidMappings", m.GIDMappings}} {
		name, maps := f.name, f.val
		for i, mp := range maps {
			if mp.Size == 0 {
				v.errorf(fmt.Sprintf("%s%s[%d].size", path, name, i), "must be at least 1")
			}
		}
	}
}

// sysctlNamespaces says which namespace makes a sysctl key private.
func sysctlNamespace(key string) (specs.LinuxNamespaceType, bool) {
	switch key {
	case "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
		"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced":
		return specs.IPCNamespace, true
	case "kernel.hostname", "kernel.domainname":
		return specs.UTSNamespace, true
	}
	switch {
	case strings.HasPrefix(key, "fs.mqueue."):
		return specs.IPCNamespace, true
	case strings.HasPrefix(key, "net."):
		return specs.NetworkNamespace, true
	}
	return "", false
}

func (v *validator) linux() {
	l := v.spec.Linux
	if l == nil {
		return
	}
	plan := planNamespaces(l.Namespaces)
	for key := range l.Sysctl {
		path := "linux.sysctl." + key
		ns, ok := sysctlNamespace(key)
		if !ok || strings.Contains(key, "..") || strings.Contains(key, "/") {
			v.errorf(path, "not a namespaced sysctl: it would change the host")
			continue
		}
		if !plan.isNew(ns) {
			v.errorf(path, "requires a new %s namespace", ns)
		}
	}
	switch l.RootfsPropagation {
	case "", "shared", "slave", "private", "rshared", "rslave", "rprivate", "unbindable", "runbindable":
	default:
		v.errorf("linux.rootfsPropagation", "%q: unknown propagation", l.RootfsPropagation)
	}
	for i, d := range l.Devices {
		path := fmt.Sprintf("linux.devices[%d]", i)
		if !filepath.IsAbs(d.Path) {
			v.errorf(path+".path", "%q: must be an absolute path", d.Path)
		}
		if _, err := deviceMode(d); err != nil {
			v.errorf(path+".type", "%s", errorText(err))
		}
	}
	for _, f := range []field[[]string]{{"linux.maskedPaths", l.MaskedPaths}, {"linux.readonlyPaths", l.ReadonlyPaths}} {
		name, list := f.name, f.val
		for i, p := range list {
			if !filepath.IsAbs(p) {
				v.errorf(fmt.Sprintf("%s[%d]", name, i), "%q: must be an absolute path", p)
			}
		}
	}
}

func (v *validator) hooks() {
	h := v.spec.Hooks
	if h == nil {
		return
	}
	for _, f := range []field[[]specs.Hook]{{"prestart", h.Prestart}, {"createRuntime", h.CreateRuntime}, {"createContainer", h.CreateContainer}, {"startContainer", h.StartContainer}, {"poststart", h.Poststart}, {"poststop", h.Poststop}} {
		name, list := f.name, f.val
		for i, hook := range list {
			path := fmt.Sprintf("hooks.%s[%d]", name, i)
			if !filepath.IsAbs(hook.Path) {
				v.errorf(path+".path", "%q: must be an absolute path", hook.Path)
			}
			if hook.Timeout != nil && *hook.Timeout <= 0 {
				v.errorf(path+".timeout", "%d: must be positive", *hook.Timeout)
			}
		}
	}
}

// seccompFilter checks linux.seccomp cheaply; compileSeccomp, still before
// anything is made, finds what only libseccomp can.
func (v *validator) seccompFilter() {
	if l := v.spec.Linux; l != nil {
		if err := seccomp.Check(l.Seccomp); err != nil {
			v.errs = append(v.errs, seccompError(err))
		}
	}
}

// unsupported rejects fields husk cannot honour yet: a field that would be
// silently dropped is a bug, so each one is named.
func (v *validator) unsupported() {
	s := v.spec
	if p := s.Process; p != nil {
		// Labels are ignored where the LSM is off, as runc does.
		if p.ApparmorProfile != "" && apparmorEnabled() && !apparmorLoaded(p.ApparmorProfile) {
			v.errorf("process.apparmorProfile", "%q: no such AppArmor profile is loaded", p.ApparmorProfile)
		}
	}
	l := s.Linux
	if l == nil {
		return
	}
}

// errorText returns err's message without the operation prefix
// os.PathError adds, keeping the path and reason.
func errorText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Path + ": " + pe.Err.Error()
	}
	return err.Error()
}

// reason returns only the cause of a path error ("no such file or directory").
func reason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// deviceMode returns the S_IF* bits for a linux.devices entry.
func deviceMode(d specs.LinuxDevice) (uint32, error) {
	switch d.Type {
	case "c", "u":
		return unix.S_IFCHR, nil
	case "b":
		return unix.S_IFBLK, nil
	case "p":
		return unix.S_IFIFO, nil
	}
	return 0, errors.New(strconv.Quote(d.Type) + ": unknown device type (want c, b, u or p)")
}

// field pairs a config field's name with its value, to loop over several
// fields in document order (a map would vary the order of the errors).
type field[T any] struct {
	name string
	val  T
}
