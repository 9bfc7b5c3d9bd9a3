package main

import (
	"os"
	"os/signal"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/trace"
)

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "create and start a container; in the foreground, wait for it and exit with its status",
	ArgsUsage: "ID",
	Flags: append([]cli.Flag{
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container has started"},
		&cli.BoolFlag{Name: "keep", Usage: "do not delete the container when it exits"},
	}, createFlags...),
	Action: func(c *cli.Context) error {
		if c.Bool("detach") {
			return runDetached(c)
		}
		// Orphans of a container without its own pid namespace come to us,
		// so they are reaped rather than left as zombies.
		unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
		// Catch every signal before create changes anything, so none sent
		// while the container starts is lost: each is forwarded once init
		// runs. Registering them overlaps with reading the config.
		sigs := make(chan os.Signal, 128)
		caught := notifyAll(sigs)
		tty := &attachedTTY{}
		ctr, err := createContainerAttached(c, tty.receive, caught)
		if err != nil {
			return err
		}
		if err := ctr.Start(); err != nil {
			ctr.Delete(true)
			ctr.Close()
			return err
		}
		pid := ctr.Pid()
		ctr.Close() // let kill, state, exec take the lock while we wait
		tty.start()
		status := forwardUntilExit(pid, sigs, tty.resize)
		tty.stop()
		if !c.Bool("keep") {
			if ctr, err := loadContainer(c); err == nil {
				err = ctr.Delete(true)
				ctr.Close()
				if err != nil {
					logger.warnf("deleting container: %v", err)
				}
			}
		}
		return exitStatus(status)
	},
}

// notifyAll is signal.Notify(c) for every signal, started in the
// background: registering the ~65 signals takes the Go runtime a
// handshake with its signal thread each, about 1.5 ms in all, which can
// overlap with reading the config or the container's state. The returned
// wait blocks until every signal is caught.
func notifyAll(c chan<- os.Signal) (wait func()) {
	done := make(chan struct{})
	go func() {
		signal.Notify(c)
		close(done)
	}()
	return func() { <-done }
}

func runDetached(c *cli.Context) error {
	ctr, err := createContainer(c)
	if err != nil {
		return err
	}
	defer ctr.Close()
	if err := ctr.Start(); err != nil {
		ctr.Delete(true)
		return err
	}
	return nil
}

// forwardUntilExit relays signals to init and reaps children until init
// exits, returning the shell-style status: the exit code, or 128+N when
// init was killed by signal N.
func forwardUntilExit(pid int, sigs chan os.Signal, onWinch func()) int {
	defer trace.T.Begin("wait for exit")()
	for {
		if status, done := reap(pid); done {
			return status
		}
		sig := (<-sigs).(unix.Signal)
		switch sig {
		case unix.SIGCHLD:
		case unix.SIGWINCH:
			onWinch() // resizing the pty signals its foreground process
		case unix.SIGURG: // the Go runtime's preemption signal, not the user's
		default:
			unix.Kill(pid, sig)
		}
	}
}

// reap collects every exited child; done is set once init was among them.
func reap(pid int) (status int, done bool) {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || got <= 0 {
			return status, done
		}
		if got == pid {
			done = true
			status = ws.ExitStatus()
			if ws.Signaled() {
				status = 128 + int(ws.Signal())
			}
		}
	}
}
