package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer"
)

var execCommand = &cli.Command{
	Name:      "exec",
	Usage:     "run a new process in a running container",
	ArgsUsage: "ID [COMMAND [ARGS...]]",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "the process as runtime-spec process JSON (instead of COMMAND)"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the process has started"},
		&cli.StringFlag{Name: "pid-file", Usage: "write the process's pid to this file"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "give the process a terminal"},
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket to send the pty master to"},
		&cli.StringFlag{Name: "cwd", Usage: "working directory in the container"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "KEY=VALUE to add to the environment"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "UID[:GID] to run as"},
		&cli.IntSliceFlag{Name: "additional-gids", Aliases: []string{"g"}, Usage: "additional group ids"},
		&cli.StringSliceFlag{Name: "cap", Aliases: []string{"c"}, Usage: "add a capability"},
		&cli.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privs"},
		&cli.StringFlag{Name: "apparmor", Usage: "AppArmor profile"},
		&cli.StringFlag{Name: "process-label", Usage: "SELinux label"},
		&cli.IntFlag{Name: "preserve-fds", Usage: "pass this many fds from 3 up"},
		&cli.BoolFlag{Name: "ignore-paused", Usage: "exec even if the container is paused"},
	},
	Action: func(c *cli.Context) error {
		detach := c.Bool("detach")
		var sigs chan os.Signal
		var caught func()
		if !detach {
			// Every signal is caught before the process is started, and
			// forwarded once it runs. Registering them overlaps with
			// loading the container.
			sigs = make(chan os.Signal, 128)
			caught = notifyAll(sigs)
		}
		ctr, err := loadContainer(c)
		if err != nil {
			return err
		}
		proc, err := execProcess(c, ctr)
		if err != nil {
			ctr.Close()
			return err
		}
		if !detach {
			// The process may be a grandchild (an intermediate init clones
			// it when a pid namespace must be joined from inside a user
			// namespace): it comes to us when its parent exits.
			unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
		}
		tty := &attachedTTY{}
		p, err := ctr.Exec(proc, libcontainer.ExecOpts{
			PidFile:       c.String("pid-file"),
			PreserveFDs:   c.Int("preserve-fds"),
			IgnorePaused:  c.Bool("ignore-paused"),
			ConsoleSocket: c.String("console-socket"),
			Attach:        attachUnless(detach, tty),
			BeforeChanges: caught,
			Logf:          initLog,
		})
		ctr.Close() // other commands may act on the container meanwhile
		if err != nil || detach {
			return err
		}
		tty.start()
		status := forwardUntilExit(p.Pid(), sigs, tty.resize)
		tty.stop()
		return exitStatus(status)
	},
}

func attachUnless(detach bool, tty *attachedTTY) libcontainer.ConsoleFunc {
	if detach {
		return nil
	}
	return tty.receive
}

// execProcess builds the process: from --process, or from the container's
// own process with COMMAND and the flags on top, as runc does.
func execProcess(c *cli.Context, ctr *libcontainer.Container) (*specs.Process, error) {
	if path := c.String("process"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading --process: %w", err)
		}
		var p specs.Process
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("parsing --process %s: %w", path, err)
		}
		return &p, nil
	}
	if c.NArg() < 2 {
		return nil, fmt.Errorf("exec: a COMMAND or --process is required")
	}
	p, err := ctr.ProcessTemplate()
	if err != nil {
		return nil, err
	}
	p.Args = c.Args().Slice()[1:]
	p.Env = append(p.Env, c.StringSlice("env")...)
	p.Terminal = c.Bool("tty")
	p.ConsoleSize = nil
	if c.IsSet("cwd") {
		p.Cwd = c.String("cwd")
	}
	if u := c.String("user"); u != "" {
		uid, gid, err := parseUser(u)
		if err != nil {
			return nil, err
		}
		p.User.UID, p.User.GID = uid, gid
	}
	if c.IsSet("additional-gids") {
		p.User.AdditionalGids = nil
		for _, g := range c.IntSlice("additional-gids") {
			p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
		}
	}
	if caps := c.StringSlice("cap"); len(caps) > 0 {
		if p.Capabilities == nil {
			p.Capabilities = &specs.LinuxCapabilities{}
		}
		cs := p.Capabilities
		cs.Bounding = append(cs.Bounding, caps...)
		cs.Effective = append(cs.Effective, caps...)
		cs.Permitted = append(cs.Permitted, caps...)
	}
	if c.Bool("no-new-privs") {
		p.NoNewPrivileges = true
	}
	if c.IsSet("apparmor") {
		p.ApparmorProfile = c.String("apparmor")
	}
	if c.IsSet("process-label") {
		p.SelinuxLabel = c.String("process-label")
	}
	return p, nil
}

// parseUser reads "UID" or "UID:GID" (numbers, as runc takes them).
func parseUser(s string) (uid, gid uint32, err error) {
	us, gs, hasGID := strings.Cut(s, ":")
	u, err := strconv.ParseUint(us, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("--user %q: want UID[:GID] as numbers", s)
	}
	if !hasGID {
		return uint32(u), 0, nil
	}
	g, err := strconv.ParseUint(gs, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("--user %q: want UID[:GID] as numbers", s)
	}
	return uint32(u), uint32(g), nil
}
