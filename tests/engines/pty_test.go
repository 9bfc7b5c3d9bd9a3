package engines

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ptySession runs an engine command on a pseudo-terminal of its own, as
// a person at a terminal would (`podman run -it`, `ctr run -t`), and lets
// the test type into it and read what the terminal shows.
type ptySession struct {
	t      *testing.T
	master *os.File
	cmd    *exec.Cmd
	done   chan struct{} // closed when the terminal has nothing more to read

	mu  sync.Mutex
	out strings.Builder
}

// openPty opens a new pseudo-terminal pair, 24x80.
func openPty() (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("ptsname: %w", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80})
	return m, s, nil
}

// startOnPty starts name with the terminal as its stdio and controlling
// terminal, in a session of its own, with o's directory and environment.
func startOnPty(t *testing.T, o cmdOpts, name string, args ...string) *ptySession {
	t.Helper()
	master, slave, err := openPty()
	if err != nil {
		t.Fatalf("opening a pty: %v", err)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = o.dir
	cmd.Env = append(os.Environ(), append(o.env, "TERM=xterm")...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		master.Close()
		slave.Close()
		t.Fatalf("starting %s on a pty: %v", name, err)
	}
	slave.Close()
	p := &ptySession{t: t, master: master, cmd: cmd, done: make(chan struct{})}
	go p.read()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
		master.Close()
	})
	return p
}

// read copies what the terminal shows until every slave end is closed
// (the read then fails with EIO).
func (p *ptySession) read() {
	defer close(p.done)
	buf := make([]byte, 4096)
	for {
		n, err := p.master.Read(buf)
		p.mu.Lock()
		p.out.Write(buf[:n])
		p.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// output is everything the terminal has shown so far.
func (p *ptySession) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// expect waits until the terminal has shown s.
func (p *ptySession) expect(s string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(scaled(timeout))
	for !strings.Contains(p.output(), s) {
		select {
		case <-p.done:
			if !strings.Contains(p.output(), s) {
				p.t.Fatalf("the terminal closed before showing %q; it showed:\n%s", s, p.output())
			}
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for the terminal to show %q; it showed:\n%s", s, p.output())
		}
	}
}

// send types s.
func (p *ptySession) send(s string) {
	p.t.Helper()
	if _, err := p.master.Write([]byte(s)); err != nil {
		p.t.Fatalf("typing into the pty: %v", err)
	}
}

// wait waits for the command to exit and returns its status and
// everything the terminal showed.
func (p *ptySession) wait(timeout time.Duration) (int, string) {
	p.t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	var err error
	select {
	case err = <-exited:
	case <-time.After(scaled(timeout)):
		p.cmd.Process.Kill()
		<-exited
		p.t.Fatalf("%s did not exit within %v; the terminal showed:\n%s", p.cmd.Path, scaled(timeout), p.output())
	}
	select {
	case <-p.done:
	case <-time.After(2 * time.Second):
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		p.t.Fatalf("waiting for %s: %v", p.cmd.Path, err)
	}
	return p.cmd.ProcessState.ExitCode(), p.output()
}

// terminalScenario drives an interactive shell: it waits for the
// prompt, checks that the shell sits on a terminal, and exits with 7.
func terminalScenario(t *testing.T, p *ptySession) {
	t.Helper()
	p.expect("# ", 30*time.Second)
	p.send("tty; echo result=$((6*7)); exit 7\n")
	code, out := p.wait(30 * time.Second)
	if code != 7 || !strings.Contains(out, "result=42") || !strings.Contains(out, "/dev/pts/") {
		t.Fatalf("want exit 7, result=42 and a /dev/pts/N tty; got exit %d, terminal showed:\n%s", code, out)
	}
}
