package integration

// Helpers for harden_test.go: the attack and fault tests of issue 7.
// Names start with "hd".

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hdPrivateHusk copies the husk under test to a file of this test's own
// and returns its path and checksum. Attacks on "the runtime binary" aim
// at this copy: while any process runs a binary, the kernel refuses to
// open it for writing (ETXTBSY), and the shared binary is run by every
// parallel test, which would make any overwrite fail whatever husk does.
func hdPrivateHusk(t *testing.T) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "husk")
	src, err := os.Open(huskBin)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return path, hdSum(t, path)
}

func hdSum(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// hdRunning lists the live processes whose executable is the file path
// (compared by device and inode: /proc/PID/exe follows to the file).
func hdRunning(path string) []int { return processesWhose("exe", path) }

// hdStatus returns the fields of /proc/PID/status.
func hdStatus(pid int) map[string]string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	return fields
}

// hdNSpid is pid's number in its innermost pid namespace, and whether
// that is another namespace than the host's (NSpid lists one pid per
// level).
func hdNSpid(pid int) (int, bool) {
	f := strings.Fields(hdStatus(pid)["NSpid"])
	if len(f) == 0 {
		return 0, false
	}
	n, _ := strconv.Atoi(f[len(f)-1])
	return n, len(f) > 1
}

// hdProcState is the state letter of /proc/PID/stat (R, S, T, Z...), or
// 0 once the process is gone.
func hdProcState(pid int) byte {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || len(data) < i+3 {
		return 0
	}
	return data[i+2]
}

// hdArgv is /proc/PID/cmdline split at NULs.
func hdArgv(pid int) []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
}

// hdStop SIGSTOPs pid and waits until the kernel has stopped it.
func hdStop(t *testing.T, pid int) bool {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return false
	}
	return waitFor(5*time.Second, func() bool { s := hdProcState(pid); return s == 'T' || s == 0 }) && hdProcState(pid) == 'T'
}

// hdCgroupPids lists the pids in container id's cgroup (nil if it has none).
func hdCgroupPids(id string) []int {
	data, err := os.ReadFile(filepath.Join(cgroupDir(id), "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// hdWaitText waits for path to hold a line ending in "\n" and returns
// the content.
func hdWaitText(t *testing.T, path string, d time.Duration) string {
	t.Helper()
	var s string
	if !waitFor(d, func() bool {
		data, err := os.ReadFile(path)
		s = string(data)
		return err == nil && strings.HasSuffix(s, "\n")
	}) {
		t.Fatalf("%s: no line after %s (have %q)", path, d, s)
	}
	return s
}

// hdWriteAtomic writes a file the container polls for, whole at once.
func hdWriteAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// hdMountinfo returns the mount points of the test's (husk's) mount
// namespace, one per line of /proc/self/mountinfo.
func hdMountinfo(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 {
			points = append(points, fsUnescape(fields[4]))
		}
	}
	return points
}

// hdMountsIn lists the mount points at or below any of dirs.
func hdMountsIn(t *testing.T, dirs ...string) []string {
	t.Helper()
	var out []string
	for _, p := range hdMountinfo(t) {
		for _, d := range dirs {
			if p == d || strings.HasPrefix(p, d+"/") {
				out = append(out, p)
			}
		}
	}
	return out
}

// hdDescends reports whether pid is a descendant of ancestor.
func hdDescends(pid, ancestor int) bool {
	for i := 0; i < 8 && pid > 1; i++ {
		ppid, err := strconv.Atoi(hdStatus(pid)["PPid"])
		if err != nil {
			return false
		}
		if ppid == ancestor {
			return true
		}
		pid = ppid
	}
	return false
}

// hdCopyLibs copies the shared libraries binary needs (as ldd lists
// them, the dynamic loader included) to the same paths under rootfs.
func hdCopyLibs(t *testing.T, binary, rootfs string) {
	t.Helper()
	out, err := exec.Command("ldd", binary).Output()
	if err != nil {
		if strings.Contains(string(out), "not a dynamic executable") {
			return
		}
		t.Fatalf("ldd %s: %v", binary, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		var lib string
		for _, f := range strings.Fields(line) {
			if strings.HasPrefix(f, "/") {
				lib = f
				break
			}
		}
		if lib == "" {
			continue
		}
		data, err := os.ReadFile(lib)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(rootfs, lib)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// hdMustHuskWithin runs husk like e.mustHusk, but fails the test (and
// kills husk) if it has not exited after d: a command stuck on the
// container's lock must not hang the test run.
func hdMustHuskWithin(t *testing.T, e *env, d time.Duration, args ...string) string {
	t.Helper()
	cmd := exec.Command(huskBin, append([]string{"--root", e.root}, args...)...)
	out, errOut := lcTempFile(t), lcTempFile(t)
	cmd.Stdout, cmd.Stderr = out, errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("husk %s: %v: %s", strings.Join(args, " "), err, lcReadFile(t, errOut.Name()))
		}
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		t.Fatalf("husk %s: still running after %s", strings.Join(args, " "), d)
	}
	return lcReadFile(t, out.Name())
}
