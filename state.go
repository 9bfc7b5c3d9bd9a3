package main

import (
	"encoding/json"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer"
)

var stateCommand = &cli.Command{
	Name:      "state",
	Usage:     "print a container's state as JSON",
	ArgsUsage: "ID",
	Action: func(c *cli.Context) error {
		id, err := containerID(c)
		if err != nil {
			return err
		}
		root, err := stateRoot(c)
		if err != nil {
			return err
		}
		st, err := libcontainer.ReadState(root, id)
		if err != nil {
			return err
		}
		return printJSON(st)
	},
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// loadContainer loads and locks the container named by the first argument.
func loadContainer(c *cli.Context) (*libcontainer.Container, error) {
	id, err := containerID(c)
	if err != nil {
		return nil, err
	}
	root, err := stateRoot(c)
	if err != nil {
		return nil, err
	}
	ctr, err := libcontainer.Load(root, id)
	if ctr != nil {
		ctr.Warn = func(msg string) { logger.warnf("%s", msg) }
	}
	return ctr, err
}
