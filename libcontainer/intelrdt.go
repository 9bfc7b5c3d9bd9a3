package libcontainer

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// linux.intelRdt places the container in an Intel RDT class of service
// through the resctrl filesystem. The spec: "If no mounted resctrl
// pseudo-filesystem is available in the runtime mount namespace, the
// runtime MUST generate an error", which validation does.

// resctrlMount returns where resctrl is mounted in husk's mount
// namespace, or "" when it is not.
func resctrlMount() string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		for i, fld := range fields {
			if fld == "-" && i+1 < len(fields) && fields[i+1] == "resctrl" && len(fields) > 4 {
				return unescapeMountinfo(fields[4])
			}
		}
	}
	return ""
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// rdtGroup is the container's place in resctrl.
type rdtGroup struct {
	clos string // the CLOS directory
	mon  string // its monitoring group, or ""
	// owned: the CLOS directory is the container's own (no closID), to
	// be removed with it: "If closID is not set and the runtime has
	// created the sub-directory, the runtime MUST remove the
	// sub-directory when the container is deleted."
	owned bool
}

// rdtGroupOf works out the directories from the spec: closID "/" is the
// default CLOS, the root; no closID means a directory named after the
// container.
func rdtGroupOf(root, id string, r *specs.LinuxIntelRdt) *rdtGroup {
	g := &rdtGroup{clos: filepath.Join(root, r.ClosID)}
	if r.ClosID == "" {
		g.clos, g.owned = filepath.Join(root, id), true
	}
	if r.EnableMonitoring {
		g.mon = filepath.Join(g.clos, "mon_groups", id)
	}
	return g
}

// rdtSchemata lists the schemata lines in the order the spec wants them
// written: l3CacheSchema first, memBwSchema, then schemata.
func rdtSchemata(r *specs.LinuxIntelRdt) []string {
	var lines []string
	for _, l := range append([]string{r.L3CacheSchema, r.MemBwSchema}, r.Schemata...) {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// setup creates or checks the CLOS directory and writes the schemata,
// following the spec's rules, then adds pid.
func (g *rdtGroup) setup(r *specs.LinuxIntelRdt, pid int) error {
	lines := rdtSchemata(r)
	_, err := os.Stat(g.clos)
	exists := err == nil
	switch {
	case !exists && r.ClosID != "" && len(lines) == 0:
		// "runtime MUST check if corresponding pre-configured directory
		// closID is present ... and generate an error if directory does
		// not exist."
		return fmt.Errorf("linux.intelRdt.closID: %s: no such class of service", g.clos)
	case !exists:
		if err := os.Mkdir(g.clos, 0o755); err != nil {
			return fmt.Errorf("linux.intelRdt: creating %s: %w", g.clos, err)
		}
	case r.ClosID != "" && r.ClosID != "/":
		// "if closID directory ... exists, runtimes MUST compare
		// l3CacheSchema and/or memBwSchema value with schemata file, and
		// generate an error if doesn't match."
		if err := g.matchSchemata(r); err != nil {
			return err
		}
	}
	for _, l := range lines {
		if err := writeResctrl(g.clos, "schemata", l+"\n"); err != nil {
			return fmt.Errorf("linux.intelRdt: %w", err)
		}
	}
	return g.add(pid)
}

// add puts pid (a thread: the one that execs) into the CLOS and its
// monitoring group; its children inherit both.
func (g *rdtGroup) add(pid int) error {
	if err := writeResctrl(g.clos, "tasks", strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("linux.intelRdt: %w", err)
	}
	if g.mon == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Dir(g.mon)); err != nil {
		return fmt.Errorf("linux.intelRdt.enableMonitoring: this host's resctrl has no monitoring: %w", err)
	}
	if err := os.Mkdir(g.mon, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("linux.intelRdt.enableMonitoring: creating %s: %w", g.mon, err)
	}
	if err := writeResctrl(g.mon, "tasks", strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("linux.intelRdt.enableMonitoring: %w", err)
	}
	return nil
}

// matchSchemata compares l3CacheSchema and memBwSchema with the CLOS's
// schemata file, resource by resource and domain by domain.
func (g *rdtGroup) matchSchemata(r *specs.LinuxIntelRdt) error {
	data, err := os.ReadFile(filepath.Join(g.clos, "schemata"))
	if err != nil {
		return fmt.Errorf("linux.intelRdt: %w", err)
	}
	have := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		res, doms := parseSchemaLine(line)
		for d, v := range doms {
			have[res+":"+d] = v
		}
	}
	for _, f := range []field[string]{{"l3CacheSchema", r.L3CacheSchema}, {"memBwSchema", r.MemBwSchema}} {
		field, line := f.name, f.val
		res, doms := parseSchemaLine(line)
		for d, v := range doms {
			if have[res+":"+d] != v {
				return fmt.Errorf("linux.intelRdt.%s: %q does not match %s/schemata (%s:%s=%s)",
					field, line, g.clos, res, d, have[res+":"+d])
			}
		}
	}
	return nil
}

// parseSchemaLine reads "L3:0=fff;1=ff0" as L3 and {0: fff, 1: ff0},
// values lower-cased and without leading zeros, as the kernel prints
// them.
func parseSchemaLine(line string) (string, map[string]string) {
	res, rest, ok := strings.Cut(strings.Join(strings.Fields(line), ""), ":")
	if !ok {
		return "", nil
	}
	doms := map[string]string{}
	for _, d := range strings.Split(rest, ";") {
		if id, v, ok := strings.Cut(d, "="); ok {
			v = strings.TrimLeft(strings.ToLower(v), "0")
			if v == "" {
				v = "0"
			}
			doms[id] = v
		}
	}
	return strings.ToUpper(res), doms
}

// remove removes what the container owns: its monitoring group and its
// own CLOS directory. Removing a resctrl directory moves any task left in
// it back to the parent group.
func (g *rdtGroup) remove() error {
	for _, dir := range []string{g.mon, g.clos} {
		if dir == "" || (dir == g.clos && !g.owned) {
			continue
		}
		if err := unix.Rmdir(dir); err != nil && err != unix.ENOENT {
			return &os.PathError{Op: "rmdir", Path: dir, Err: err}
		}
	}
	return nil
}

// writeResctrl writes one value to a resctrl file. It is a variable so
// that the unit tests can watch the writes on a host without resctrl.
var writeResctrl = writeResctrlFile

// writeResctrlFile writes to the file for real. The files exist once the
// directory does: nothing is ever created by the write. The kernel
// explains a refused value in info/last_cmd_status, added to the error.
func writeResctrlFile(dir, name, value string) error {
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		err = fmt.Errorf("writing %q to %s: %w", strings.TrimSpace(value), path, err)
		if status, e := os.ReadFile(filepath.Join(resctrlRootOf(dir), "info", "last_cmd_status")); e == nil {
			err = fmt.Errorf("%w (%s)", err, strings.TrimSpace(string(status)))
		}
	}
	return err
}

// resctrlRootOf finds the resctrl root above dir: the directory with info/.
func resctrlRootOf(dir string) string {
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		if fi, err := os.Stat(filepath.Join(d, "info")); err == nil && fi.IsDir() {
			return d
		}
	}
	return dir
}

// errNoResctrl is the spec's required error on a host without resctrl.
var errNoResctrl = &SpecError{Path: "linux.intelRdt", Err: errors.New(
	"not supported on this host: no resctrl filesystem is mounted " +
		"(Intel RDT needs a CPU that has it and `mount -t resctrl resctrl /sys/fs/resctrl`)")}

// intelRdtGroup returns the group linux.intelRdt asks for, or nil.
func intelRdtGroup(id string, spec *specs.Spec) (*rdtGroup, error) {
	if spec.Linux == nil || spec.Linux.IntelRdt == nil {
		return nil, nil
	}
	root := resctrlMount()
	if root == "" {
		return nil, errNoResctrl
	}
	return rdtGroupOf(root, id, spec.Linux.IntelRdt), nil
}

// joinIntelRdt adds a process husk exec started to the container's
// group. The class of service is per task and inherited: it is called
// before the process has its bootstrap, so before it can exec, let alone
// fork.
func joinIntelRdt(b *bootstrap, pid int) error {
	g, err := intelRdtGroup(b.ID, b.Spec)
	if g == nil || err != nil {
		return err
	}
	return g.add(pid)
}
