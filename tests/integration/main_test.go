// Package integration drives the husk binary, as root, against real
// busybox bundles, and checks each feature's effect from inside the
// container: what the kernel reports in /proc, mountinfo, namespace
// inodes, uid_map and the cgroup files.
//
// The husk binary is built once by TestMain (or taken from $HUSK_BINARY),
// the busybox rootfs from Debian's busybox-static (/bin/busybox).
package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

var (
	huskBin     string // the binary under test
	busyboxPath = "/bin/busybox"
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("integration tests need root; skipping")
		os.Exit(0)
	}
	if _, err := os.Stat(busyboxPath); err != nil {
		fmt.Println("integration tests need a static busybox at /bin/busybox (apt-get install busybox-static)")
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "husk-bin-")
	if err != nil {
		panic(err)
	}
	huskBin = os.Getenv("HUSK_BINARY")
	if huskBin == "" {
		huskBin = filepath.Join(dir, "husk")
		_, file, _, _ := runtime.Caller(0)
		src := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-tags", "seccomp", "-o", huskBin, ".")
		cmd.Dir = src
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Println("building husk:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	pxCleanup()
	os.Exit(code)
}
