package main

import (
	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer"
)

// createFlags are shared by create and run.
var createFlags = []cli.Flag{
	&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "bundle directory (default: current directory)"},
	&cli.StringFlag{Name: "pid-file", Usage: "write init's pid to this file"},
	&cli.BoolFlag{Name: "no-pivot", Usage: "use MS_MOVE and chroot instead of pivot_root"},
	&cli.BoolFlag{Name: "no-new-keyring", Usage: "keep the caller's session keyring"},
	&cli.IntFlag{Name: "preserve-fds", Usage: "pass this many fds from 3 up to the container"},
	&cli.StringFlag{Name: "console-socket", Usage: "unix socket to send the pty master to, with process.terminal"},
}

var createCommand = &cli.Command{
	Name:      "create",
	Usage:     "create a container: prepared and waiting for start",
	ArgsUsage: "ID",
	Flags:     createFlags,
	Action: func(c *cli.Context) error {
		ctr, err := createContainer(c)
		if err != nil {
			return err
		}
		ctr.Close()
		return nil
	},
}

// createContainer runs libcontainer.Create with the command's flags.
func createContainer(c *cli.Context) (*libcontainer.Container, error) {
	return createContainerAttached(c, nil, nil)
}

// createContainerAttached is createContainer for husk run in the
// foreground: a terminal without a console socket goes to attach, and
// beforeChanges runs once the config is valid, before anything is made.
func createContainerAttached(c *cli.Context, attach libcontainer.ConsoleFunc, beforeChanges func()) (*libcontainer.Container, error) {
	id, err := containerID(c)
	if err != nil {
		return nil, err
	}
	root, err := stateRoot(c)
	if err != nil {
		return nil, err
	}
	bundle, err := bundleDir(c)
	if err != nil {
		return nil, err
	}
	ctr, err := libcontainer.Create(root, id, libcontainer.CreateOpts{
		Bundle:        bundle,
		PidFile:       c.String("pid-file"),
		NoPivot:       c.Bool("no-pivot"),
		NoNewKeyring:  c.Bool("no-new-keyring"),
		PreserveFDs:   c.Int("preserve-fds"),
		ConsoleSocket: c.String("console-socket"),
		Attach:        attach,
		BeforeChanges: beforeChanges,
		Logf:          initLog,
		Warn:          func(msg string) { logger.warnf("%s", msg) },
	})
	return ctr, err
}
