package libcontainer

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ExecOpts are husk exec's flags.
type ExecOpts struct {
	PidFile      string
	PreserveFDs  int
	IgnorePaused bool
	Stdio        [3]*os.File // nil: husk's own
	Logf         func(level, msg string)
	// ConsoleSocket and Attach: as for CreateOpts.
	ConsoleSocket string
	Attach        ConsoleFunc
	// BeforeChanges, if set, is called before the process is started.
	BeforeChanges func()
}

// Process is a process husk exec started in a container. It is a child of
// the caller.
type Process struct {
	init *initProcess
}

// Pid is the process's host pid.
func (p *Process) Pid() int { return p.init.proc.Pid }

// Exec runs p in the container: a new init joins every namespace of the
// container's init and, cloned into its cgroup, sets up the process as
// create would, then execs it. Exec returns once the execve happened (or
// with init's reason why it could not). It releases the container's lock
// before the new process starts: c is not to be used after.
func (c *Container) Exec(p *specs.Process, opts ExecOpts) (*Process, error) {
	switch st := c.Status(); {
	case st == Stopped:
		return nil, fmt.Errorf("cannot exec in a stopped container: %w", ErrNotRunning)
	case st == Paused && !opts.IgnorePaused:
		return nil, fmt.Errorf("cannot exec in a paused container: %w (use --ignore-paused)", ErrPaused)
	}
	if err := ValidateProcess(p); err != nil {
		return nil, err
	}
	console, err := consoleFor(p, opts.ConsoleSocket, opts.Attach)
	if err != nil {
		return nil, err
	}
	full, err := c.fullSpec()
	if err != nil {
		return nil, err
	}
	spec := *full
	linux := *spec.Linux
	spec.Process, spec.Linux = p, &linux
	linux.Namespaces = nil
	for _, ns := range full.Linux.Namespaces {
		path := "/proc/" + strconv.Itoa(c.rec.Pid) + "/ns/" + nsKinds[ns.Type].procName
		linux.Namespaces = append(linux.Namespaces, specs.LinuxNamespace{Type: ns.Type, Path: path})
	}
	// The process gets the container's filter: compiled again (from the
	// cache), loaded by its own init.
	filter, err := compileSeccomp(filepath.Dir(c.dir.path), linux.Seccomp, opts.Logf)
	if err != nil {
		return nil, err
	}
	b := &bootstrap{Spec: &spec, ID: c.rec.ID, Bundle: c.rec.Bundle, Rootfs: c.rec.Rootfs, CgroupPath: c.cg.Dir(), Exec: true, Seccomp: filter}
	b.PassFDs, b.Env = passedFDs(opts.PreserveFDs)
	stdio := (&CreateOpts{Stdio: opts.Stdio}).stdio()
	// The lock goes before the new process starts: in a paused container
	// (--ignore-paused) it freezes as it enters the cgroup, and only
	// resume, which takes the lock, lets it go on. A delete meanwhile
	// kills it with the rest of the cgroup, or makes it fail to start;
	// a pid reuse is caught below.
	c.Close()
	if opts.BeforeChanges != nil {
		opts.BeforeChanges()
	}
	init, err := startInit(b, stdio, c.cg, nil)
	if err != nil {
		return nil, err
	}
	// The namespace paths name init by pid: make sure it is still the
	// container's init, now that the new process holds its namespaces.
	if !c.initAlive() {
		init.kill()
		return nil, ErrNotRunning
	}
	err = init.waitReady(opts.Logf, console)
	if err == nil {
		err = init.waitExec(func(f *os.File) error {
			return handOverListener(linux.Seccomp, c.specState(specs.StateRunning), init.proc.Pid, f)
		})
	}
	if err != nil {
		init.kill()
		return nil, err
	}
	proc := &Process{init: init}
	if opts.PidFile != "" {
		if err := writeFileAtomic(opts.PidFile, []byte(strconv.Itoa(proc.Pid())), 0o644); err != nil {
			return proc, fmt.Errorf("writing pid file: %w", err)
		}
	}
	return proc, nil
}

// Wait reaps the process and returns its wait status.
func (p *Process) Wait() (syscall.WaitStatus, error) {
	st, err := p.init.proc.Wait()
	if err != nil {
		return 0, err
	}
	return st.Sys().(syscall.WaitStatus), nil
}

// ProcessTemplate is a copy of the container's process, the base husk
// exec builds a new process on.
func (c *Container) ProcessTemplate() (*specs.Process, error) {
	full, err := c.fullSpec()
	if err != nil {
		return nil, err
	}
	p := *full.Process
	p.Env = append([]string{}, p.Env...)
	p.User.AdditionalGids = append([]uint32{}, p.User.AdditionalGids...)
	if caps := p.Capabilities; caps != nil {
		cp := *caps
		cp.Bounding = append([]string{}, caps.Bounding...)
		cp.Effective = append([]string{}, caps.Effective...)
		cp.Permitted = append([]string{}, caps.Permitted...)
		cp.Inheritable = append([]string{}, caps.Inheritable...)
		cp.Ambient = append([]string{}, caps.Ambient...)
		p.Capabilities = &cp
	}
	return &p, nil
}
