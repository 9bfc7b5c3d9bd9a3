package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

var psCommand = &cli.Command{
	Name:      "ps",
	Usage:     "list the processes of a container (json: their host pids)",
	ArgsUsage: "ID [-- ps options]",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
	},
	Action: func(c *cli.Context) error {
		ctr, err := loadContainer(c)
		if err != nil {
			return err
		}
		pids, err := ctr.Processes()
		ctr.Close()
		if err != nil {
			return err
		}
		switch f := c.String("format"); {
		case f == "json":
			if pids == nil {
				pids = []int{}
			}
			return printJSON(pids)
		case f != "table":
			return fmt.Errorf("--format: unknown format %q (want table or json)", f)
		case c.NArg() > 1:
			return psWithOptions(pids, c.Args().Slice()[1:])
		}
		w := tabwriter.NewWriter(os.Stdout, 6, 1, 2, ' ', 0)
		fmt.Fprintln(w, "PID\tPPID\tSTAT\tCMD")
		for _, pid := range pids {
			fmt.Fprintf(w, "%d\t%s\n", pid, procSummary(pid))
		}
		return w.Flush()
	},
}

// procSummary reads ppid, state and command line from /proc.
func procSummary(pid int) string {
	stat, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	line := strings.TrimSpace(string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
	if len(fields) < 2 {
		return "?\t?\t" + line
	}
	return fields[1] + "\t" + fields[0] + "\t" + line
}

// psWithOptions runs ps(1) with the caller's options, as runc does, and
// keeps the header and the lines of the container's pids.
func psWithOptions(pids []int, opts []string) error {
	out, err := exec.Command("ps", opts...).Output()
	if err != nil {
		return fmt.Errorf("running ps %s: %w", strings.Join(opts, " "), err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	col := -1
	for i, h := range strings.Fields(lines[0]) {
		if h == "PID" {
			col = i
		}
	}
	if col < 0 {
		return fmt.Errorf("ps %s: output has no PID column", strings.Join(opts, " "))
	}
	in := map[string]bool{}
	for _, p := range pids {
		in[strconv.Itoa(p)] = true
	}
	fmt.Println(lines[0])
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > col && in[f[col]] {
			fmt.Println(l)
		}
	}
	return nil
}
