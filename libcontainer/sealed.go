package libcontainer

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/trace"
)

// CVE-2019-5736: a process in the container that can see husk's init
// running in its pid namespace may open /proc/PID/exe, and once the
// runtime is gone, reopen it for writing: that is the host's husk binary.
// Where the container's processes can see init (husk exec, and a create
// that joins a pid namespace or has none of its own), init runs from a
// sealed in-memory copy instead, which no one can write. A new pid
// namespace holds nothing but init until it execs the entrypoint, so
// plain creates skip the copy (about 1.5 ms for a 7 MiB binary).

// sealedSelf returns a sealed memfd copy of the running binary.
func sealedSelf() (*os.File, error) {
	defer trace.T.Begin("sealed binary")()
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return nil, err
	}
	fd, err := unix.MemfdCreate("husk", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, os.NewSyscallError("memfd_create", err)
	}
	f := os.NewFile(uintptr(fd), "husk (sealed copy)")
	var off int64
	for off < fi.Size() {
		n, err := unix.Sendfile(fd, int(src.Fd()), &off, int(fi.Size()-off))
		if err != nil || n == 0 {
			f.Close()
			return nil, fmt.Errorf("copying husk into a memfd: %v", err)
		}
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, os.NewSyscallError("sealing the husk copy", err)
	}
	return f, nil
}
