package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer/trace"
)

// traceFile is where this process appends its spans (--trace,
// HUSK_TRACE); empty, tracing is off and trace.T stays nil.
var (
	traceFile string
	traceEnd  = func() {}
)

// startTrace turns tracing on for the command about to run, with a span
// for the whole of it. husk trace reads the file, it does not add to it.
func startTrace(c *cli.Context) {
	file, cmd := c.String("trace"), c.Args().First()
	if file == "" || cmd == "" || cmd == traceCommand.Name {
		return
	}
	traceFile = file
	trace.Start("husk " + cmd)
	traceEnd = trace.T.Begin("husk " + cmd)
}

// finishTrace ends the command's span and appends every span recorded,
// the container init's among them, to the file. A trace that cannot be
// written is a warning: the command itself succeeded or failed already.
func finishTrace() {
	if traceFile == "" {
		return
	}
	traceEnd()
	if err := trace.T.Flush(traceFile); err != nil {
		logger.warnf("%v", err)
	}
}

var traceCommand = &cli.Command{
	Name:  "trace",
	Usage: "read a timeline written with --trace or HUSK_TRACE",
	Subcommands: []*cli.Command{{
		Name:      "summary",
		Usage:     "print the slowest steps of a trace file as a table",
		ArgsUsage: "FILE",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "top", Value: 25, Usage: "show this many steps (0: all)"},
			&cli.BoolFlag{Name: "self", Usage: "sort by self time (the step's own, without the steps nested in it)"},
		},
		OnUsageError: usageError,
		Action:       traceSummary,
	}},
}

func traceSummary(c *cli.Context) error {
	if c.NArg() != 1 {
		return fmt.Errorf("trace summary: a trace FILE is required")
	}
	events, err := trace.Read(c.Args().First())
	if err != nil {
		return err
	}
	fmt.Fprint(c.App.Writer, trace.Summary(events, c.Int("top"), c.Bool("self")))
	return nil
}
