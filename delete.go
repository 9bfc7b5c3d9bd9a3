package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer"
)

var deleteCommand = &cli.Command{
	Name:      "delete",
	Usage:     "delete a container and everything it holds",
	ArgsUsage: "ID",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the container first if it is running"},
	},
	Action: func(c *cli.Context) error {
		ctr, err := loadContainer(c)
		if errors.Is(err, libcontainer.ErrNotExist) && c.Bool("force") {
			// Engines delete --force what may already be gone; a state
			// dir that a husk killed early in create left goes too.
			root, err := stateRoot(c)
			if err != nil {
				return err
			}
			return libcontainer.RemoveStale(root, c.Args().First())
		}
		if err != nil {
			return err
		}
		defer ctr.Close()
		return ctr.Delete(c.Bool("force"))
	},
}
