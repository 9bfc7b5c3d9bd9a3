// Command husk is an OCI container runtime: it runs a bundle (config.json
// plus a root filesystem) as an isolated process, with runc's command line.

// husk runs for milliseconds: GOMAXPROCS needs no sizing from cgroup CPU
// limits, nor the runtime's periodic re-check of them.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer"
	_ "github.com/husk-runtime/husk/libcontainer/nsenter"
	"github.com/husk-runtime/husk/seccomp"
)

// Set by the Makefile with -ldflags -X.
var (
	version   = "0.1.0-dev"
	gitCommit = ""
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		// The container's init sets credentials, capabilities and seccomp,
		// which are per thread: keep it on the thread that will execve.
		// (husk starts init with GOMAXPROCS=1 in its environment, which
		// makes this a no-op rather than a stop-the-world.)
		runtime.GOMAXPROCS(1)
		runtime.LockOSThread()
	}
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "init":
			libcontainer.Init() // never returns
		case libcontainer.UsernsHoldArg:
			libcontainer.HoldUserns() // never returns
		}
	}
	os.Exit(run(os.Args))
}

// run executes the command line and maps its outcome to an exit status:
// 0 on success, the container's status for run/exec in the foreground,
// 1 for every failure, whose one-line message goes to stderr and --log.
func run(args []string) int {
	app := newApp()
	err := app.Run(args)
	finishTrace()
	if err == nil {
		return 0
	}
	var st exitStatus
	if errors.As(err, &st) {
		return int(st)
	}
	logger.errorf("%v", err)
	return 1
}

// exitStatus is how a command reports a status to exit with (run's
// container status) without being an error to print.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func newApp() *cli.App {
	cli.VersionPrinter = printVersion
	app := &cli.App{
		Name:    "husk",
		Usage:   "a small, fast, secure OCI container runtime",
		Version: version,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Value: defaultRoot(), Usage: "directory for container state"},
			&cli.StringFlag{Name: "log", Usage: "write log messages to this file (default: stderr)"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.BoolFlag{Name: "debug", Usage: "log debug messages"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "accepted for compatibility; systemd cgroup paths are refused"},
			&cli.StringFlag{Name: "rootless", Value: "auto", Usage: "accepted for compatibility (auto, true, false): husk detects what it may do"},
			&cli.StringFlag{Name: "trace", EnvVars: []string{"HUSK_TRACE"}, Usage: "append a timeline of every step, the container's init's too, to this file (Chrome trace-event JSON; see husk trace summary)"},
		},
		Before:                 before,
		ExitErrHandler:         func(*cli.Context, error) {},
		UseShortOptionHandling: true,
		HideHelpCommand:        true,
		Commands: []*cli.Command{
			createCommand, startCommand, runCommand, stateCommand,
			killCommand, deleteCommand, listCommand, specCommand,
			pauseCommand, resumeCommand, psCommand, eventsCommand, updateCommand,
			execCommand, featuresCommand, checkCommand, traceCommand,
		},
		OnUsageError: usageError,
	}
	for _, cmd := range app.Commands {
		cmd.OnUsageError = usageError
	}
	return app
}

// before sets up what every command shares: logging, and tracing.
func before(c *cli.Context) error {
	if err := setupLogging(c); err != nil {
		return err
	}
	startTrace(c)
	return nil
}

// usageError reports a bad flag as one line on stderr, without printing
// the help text to stdout, where engines expect JSON.
func usageError(c *cli.Context, err error, _ bool) error {
	if c.Command == nil || c.Command.Name == "" || c.Command.Name == c.App.Name {
		return fmt.Errorf("%w (see husk --help)", err)
	}
	return fmt.Errorf("%s: %w (see husk %s --help)", c.Command.Name, err, c.Command.Name)
}

// defaultRoot is /run/husk for root and $XDG_RUNTIME_DIR/husk otherwise,
// as podman expects when it passes no --root.
func defaultRoot() string {
	if os.Geteuid() != 0 {
		if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
			return filepath.Join(dir, "husk")
		}
	}
	return "/run/husk"
}

func printVersion(c *cli.Context) {
	fmt.Fprintf(c.App.Writer, "husk version %s\n", c.App.Version)
	if gitCommit != "" {
		fmt.Fprintf(c.App.Writer, "commit: %s\n", gitCommit)
	}
	fmt.Fprintf(c.App.Writer, "spec: %s\n", specs.Version)
	fmt.Fprintf(c.App.Writer, "go: %s\n", runtime.Version())
	if v := seccomp.Version(); v != "" {
		fmt.Fprintf(c.App.Writer, "libseccomp: %s\n", v)
	}
}

// stateRoot returns --root as an absolute path.
func stateRoot(c *cli.Context) (string, error) {
	return filepath.Abs(c.String("root"))
}

// containerID returns the command's single ID argument.
func containerID(c *cli.Context) (string, error) {
	if c.NArg() < 1 {
		return "", fmt.Errorf("%s: container id is required", c.Command.Name)
	}
	return c.Args().First(), nil
}

// bundleDir returns --bundle (default: the working directory), absolute.
func bundleDir(c *cli.Context) (string, error) {
	b := c.String("bundle")
	if b == "" {
		b = "."
	}
	return filepath.Abs(b)
}
