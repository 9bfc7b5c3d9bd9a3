package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer"
)

var checkCommand = &cli.Command{
	Name:  "check",
	Usage: "tell, without creating anything, whether this host can run the bundle, field by field",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "bundle directory (default: current directory)"},
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "text or json"},
	},
	Action: func(c *cli.Context) error {
		bundle, err := bundleDir(c)
		if err != nil {
			return err
		}
		r := libcontainer.Check(bundle)
		switch c.String("format") {
		case "json":
			if r.Findings == nil {
				r.Findings = []libcontainer.Finding{}
			}
			if err := printJSON(r); err != nil {
				return err
			}
		case "text":
			printReport(r)
		default:
			return fmt.Errorf("--format: unknown format %q (want text or json)", c.String("format"))
		}
		if !r.OK() {
			return exitStatus(1)
		}
		return nil
	},
}

func printReport(r *libcontainer.Report) {
	h := r.Host
	onoff := map[bool]string{true: "on", false: "off"}
	fmt.Printf("bundle: %s\n", r.Bundle)
	fmt.Printf("host:   kernel %s, cgroup %s [%s], user namespaces %s, AppArmor %s, SELinux %s, seccomp: %s",
		h.Kernel, h.Cgroup, h.Controller, onoff[h.UserNS], onoff[h.AppArmor], onoff[h.SELinux], h.Seccomp)
	if h.Rootless {
		fmt.Print(", rootless")
	}
	fmt.Println()
	errors, warnings := 0, 0
	for _, f := range r.Findings {
		if f.Severity == "error" {
			errors++
		} else {
			warnings++
		}
		path := f.Path
		if path == "" {
			path = "(bundle)"
		}
		fmt.Printf("%-8s %s: %s\n", f.Severity, path, f.Message)
		if f.Hint != "" {
			fmt.Printf("         hint: %s\n", f.Hint)
		}
	}
	verdict := "create would succeed"
	if errors > 0 {
		verdict = "create would fail"
	}
	fmt.Fprintf(os.Stdout, "%d error(s), %d warning(s): %s\n", errors, warnings, verdict)
}
