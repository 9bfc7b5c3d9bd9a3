package main

import (
	"github.com/urfave/cli/v2"
)

var startCommand = &cli.Command{
	Name:      "start",
	Usage:     "start the user process of a created container",
	ArgsUsage: "ID",
	Action: func(c *cli.Context) error {
		ctr, err := loadContainer(c)
		if err != nil {
			return err
		}
		defer ctr.Close()
		return ctr.Start()
	},
}
