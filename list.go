package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer"
)

var listCommand = &cli.Command{
	Name:    "list",
	Aliases: []string{"ps-all"},
	Usage:   "list containers",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only IDs"},
	},
	Action: func(c *cli.Context) error {
		root, err := stateRoot(c)
		if err != nil {
			return err
		}
		states, err := libcontainer.List(root)
		if err != nil {
			return err
		}
		switch {
		case c.Bool("quiet"):
			for _, s := range states {
				fmt.Println(s.ID)
			}
		case c.String("format") == "json":
			if states == nil {
				states = []libcontainer.State{}
			}
			return printJSON(states)
		case c.String("format") == "table":
			w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
			fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
			for _, s := range states {
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
			}
			return w.Flush()
		default:
			return fmt.Errorf("--format: unknown format %q (want table or json)", c.String("format"))
		}
		return nil
	},
}
