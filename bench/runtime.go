package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A runtime under test: one binary, its own private --root, and the
// mount namespace it runs in (nil: the bench's own).
type rtime struct {
	name string
	bin  string // the copy that runs
	orig string // where it was copied from
	root string
	ns   *nsThread
	// note says how it runs, for the table's header.
	note string
}

// result is one timed call.
type result struct {
	dur time.Duration
}

// call runs the runtime with args, stdio on /dev/null and stderr captured,
// and times it from fork to reaped exit.
func (r *rtime) call(args ...string) (result, error) {
	full := append([]string{"--root", r.root}, args...)
	return timed(r.ns, r.bin, full...)
}

var devNull *os.File

// timed runs bin with args and times it from fork to reaped exit. A
// created container inherits the command's stdio, so stdin and stdout are
// /dev/null and stderr an unlinked temp file (read only on failure),
// never a pipe a container could keep open.
func timed(ns *nsThread, bin string, args ...string) (result, error) {
	errf, err := os.CreateTemp("", "bench-stderr-")
	if err != nil {
		return result{}, err
	}
	os.Remove(errf.Name())
	defer errf.Close()
	cmd := &exec.Cmd{Path: bin, Args: append([]string{bin}, args...), Stdin: devNull, Stdout: devNull, Stderr: errf,
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}
	t0 := time.Now()
	if ns != nil {
		err = ns.do(cmd.Start)
	} else {
		err = cmd.Start()
	}
	if err != nil {
		return result{}, err
	}
	err = cmd.Wait()
	d := time.Since(t0)
	res := result{dur: d}
	if err != nil {
		errf.Seek(0, io.SeekStart)
		msg, _ := io.ReadAll(io.LimitReader(errf, 4096))
		return res, fmt.Errorf("%s %s: %v: %s", filepath.Base(bin), strings.Join(args, " "), err, oneLine(msg))
	}
	return res, nil
}

func oneLine(b []byte) string {
	s := string(bytes.TrimSpace(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:] // the last line says what failed
	}
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// nsThread is an OS thread in a private mount namespace where the cgroup2
// mount of a hybrid host is gone: crun 1.8 refuses hybrid hosts, and sees
// a pure cgroup v1 host there. Commands are forked from that thread (a
// child inherits the mount namespace of the thread that forks it), so
// nothing stands between the bench and the runtime it times.
type nsThread struct {
	reqs chan func()
}

func newNSThread() (*nsThread, error) {
	t := &nsThread{reqs: make(chan func())}
	ready := make(chan error)
	go func() {
		// Never unlocked: the thread dies with this goroutine rather than
		// go back to the scheduler in another mount namespace.
		runtime.LockOSThread()
		err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_FS)
		if err == nil {
			err = unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, "")
		}
		if err == nil {
			err = unix.Unmount("/sys/fs/cgroup/unified", unix.MNT_DETACH)
		}
		ready <- err
		if err != nil {
			return
		}
		for f := range t.reqs {
			f()
		}
	}()
	if err := <-ready; err != nil {
		return nil, fmt.Errorf("private mount namespace without cgroup2: %w", err)
	}
	return t, nil
}

func (t *nsThread) do(f func() error) error {
	done := make(chan error)
	t.reqs <- func() { done <- f() }
	return <-done
}

// waitExit waits for a process that is not our child to exit.
func waitExit(pidfd int, timeout time.Duration) error {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		n, err := unix.Poll(fds, 100)
		if n > 0 {
			return nil
		}
		if err != nil && err != unix.EINTR {
			return err
		}
	}
	return errors.New("the container's process did not exit")
}

// statusKiB reads a "Name: N kB" field of /proc/PID/status.
func statusKiB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			var n int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &n)
			return n
		}
	}
	return -1
}
