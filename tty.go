package main

import (
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// attachedTTY connects the caller's terminal to a container process's pty
// when husk run or exec stays in the foreground without a console socket.
type attachedTTY struct {
	master  *os.File
	restore *unix.Termios // the caller's terminal settings, if it is one
	done    chan struct{} // closed when the pty's output is drained
}

// receive is the libcontainer.ConsoleFunc: it keeps the master.
func (a *attachedTTY) receive(master *os.File, _ string) error {
	a.master = master
	return nil
}

// start puts the caller's terminal in raw mode (if stdin is one), sizes
// the pty like it, and copies input and output until the pty closes.
func (a *attachedTTY) start() {
	if a.master == nil {
		return
	}
	in := int(os.Stdin.Fd())
	if t, err := unix.IoctlGetTermios(in, unix.TCGETS); err == nil {
		saved := *t
		a.restore = &saved
		raw := *t
		raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		raw.Oflag &^= unix.OPOST
		raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Cflag &^= unix.CSIZE | unix.PARENB
		raw.Cflag |= unix.CS8
		raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
		unix.IoctlSetTermios(in, unix.TCSETS, &raw)
		a.resize()
	}
	a.done = make(chan struct{})
	go io.Copy(a.master, os.Stdin)
	go func() {
		io.Copy(os.Stdout, a.master) // ends with EIO once the last slave fd closes
		close(a.done)
	}()
}

// resize copies the caller's window size to the pty (on SIGWINCH).
func (a *attachedTTY) resize() {
	if a.master == nil {
		return
	}
	if ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ); err == nil && ws.Row > 0 && ws.Col > 0 {
		unix.IoctlSetWinsize(int(a.master.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// stop drains the output briefly and gives the caller its terminal back.
func (a *attachedTTY) stop() {
	if a.master == nil {
		return
	}
	select {
	case <-a.done:
	case <-time.After(2 * time.Second):
	}
	if a.restore != nil {
		unix.IoctlSetTermios(int(os.Stdin.Fd()), unix.TCSETS, a.restore)
	}
	a.master.Close()
}
