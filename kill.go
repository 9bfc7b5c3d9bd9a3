package main

import (
	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer"
)

var killCommand = &cli.Command{
	Name:      "kill",
	Usage:     "send a signal (default SIGTERM) to a container's init, or with --all to all its processes",
	ArgsUsage: "ID [SIGNAL]",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "signal every process in the container"},
	},
	Action: func(c *cli.Context) error {
		sigName := "SIGTERM"
		if c.NArg() > 1 {
			sigName = c.Args().Get(1)
		}
		sig, err := libcontainer.ParseSignal(sigName)
		if err != nil {
			return err
		}
		ctr, err := loadContainer(c)
		if err != nil {
			return err
		}
		defer ctr.Close()
		return ctr.Signal(sig, c.Bool("all"))
	},
}
