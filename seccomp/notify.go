package seccomp

import (
	"encoding/json"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// SendListener hands a notify fd to the seccomp agent listening at path,
// as the spec describes: "The runtime MUST send exactly one container
// process state per connection", the fd in SCM_RIGHTS with the first
// sendmsg, and "it MUST be closed after sending a seccomp state."
func SendListener(path string, state *specs.ContainerProcessState, fd int) error {
	data, err := json.Marshal(state)
	if err != nil {
		return err
	}
	sock, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer unix.Close(sock)
	if err := unix.Connect(sock, &unix.SockaddrUnix{Name: path}); err != nil {
		return fmt.Errorf("connecting to %s: %w", path, err)
	}
	oob := unix.UnixRights(fd)
	for len(data) > 0 {
		n, err := unix.SendmsgN(sock, data, oob, nil, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("sending to %s: %w", path, err)
		}
		data, oob = data[n:], nil
	}
	return nil
}
