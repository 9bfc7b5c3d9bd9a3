package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/trace"
)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// lookPath finds the program to execute the way execvp would, using the
// container's PATH, as the container's user (faccessat AT_EACCESS). Its
// errors carry the words engines map to exit codes: "executable file not
// found in $PATH", "no such file or directory", "permission denied".
func lookPath(file string, env []string) (string, error) {
	defer trace.T.BeginOn("lookup", file)()
	if strings.Contains(file, "/") {
		if err := checkExecutable(file); err != nil {
			return "", fmt.Errorf("exec: %q: %w", file, err)
		}
		return file, nil
	}
	path := envValue(env, "PATH")
	if path == "" {
		path = defaultPath
	}
	var firstErr error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		candidate := filepath.Join(dir, file)
		err := checkExecutable(candidate)
		if err == nil {
			return candidate, nil
		}
		if firstErr == nil && errors.Is(err, unix.EACCES) {
			firstErr = err
		}
	}
	if firstErr != nil {
		return "", fmt.Errorf("exec: %q: %w", file, firstErr)
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", file)
}

func checkExecutable(path string) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return &os.PathError{Op: "exec", Path: path, Err: unix.EACCES}
	}
	if err := unix.Faccessat(unix.AT_FDCWD, path, unix.X_OK, unix.AT_EACCESS); err != nil {
		return &os.PathError{Op: "exec", Path: path, Err: err}
	}
	return nil
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// waitForStart blocks in accept() on exec.sock until `husk start` (or the
// run command) connects. The accepted connection is close-on-exec: a
// successful execve closes it, which is how start learns it worked.
func waitForStart(execFD int) (conn int, err error) {
	for {
		conn, _, err = unix.Accept4(execFD, unix.SOCK_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return -1, os.NewSyscallError("accept on exec.sock", err)
	}
	unix.Close(execFD)
	return conn, nil
}

// closeExtraFDs marks every fd from 3+pass up close-on-exec, so exactly
// stdio and the passed fds (--preserve-fds, LISTEN_FDS) reach the
// container process (or, in husk's own process, init).
func closeExtraFDs(pass int) error {
	err := unix.CloseRange(uint(3+pass), ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err != nil {
		return os.NewSyscallError("close_range", err)
	}
	return nil
}
