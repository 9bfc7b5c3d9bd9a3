package integration

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Helpers for the process-extras tests (px*): scheduler, I/O priority,
// CPU affinity, personality, memory policy, network devices.

var (
	pxProbeOnce sync.Once
	pxProbeDir  string
	pxProbePath string
	pxProbeErr  error
)

// pxProbe returns the path of the probe (testdata/probe), built static
// once per test run. It prints what the kernel reports about the process
// that runs it: sched_getattr, ioprio_get, get_mempolicy, personality,
// sched_getaffinity.
func pxProbe(t *testing.T) string {
	t.Helper()
	pxProbeOnce.Do(func() {
		pxProbeDir, pxProbeErr = os.MkdirTemp("", "husk-probe-")
		if pxProbeErr != nil {
			return
		}
		pxProbePath = filepath.Join(pxProbeDir, "probe")
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", pxProbePath, "./testdata/probe")
		cmd.Dir = filepath.Dir(file)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			pxProbeErr = errors.New("building the probe: " + err.Error() + ": " + string(out))
		}
	})
	if pxProbeErr != nil {
		t.Fatal(pxProbeErr)
	}
	return pxProbePath
}

// pxCleanup removes the probe; TestMain calls it.
func pxCleanup() {
	if pxProbeDir != "" {
		os.RemoveAll(pxProbeDir)
	}
}

// pxAddProbe copies the probe to /bin/probe in b's rootfs.
func pxAddProbe(t *testing.T, b *bundle) {
	t.Helper()
	data, err := os.ReadFile(pxProbe(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.rootfs(), "bin", "probe"), data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// pxParse reads the probe's "key value" lines (after any other output).
func pxParse(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			m[k] = v
		}
	}
	if _, ok := m["policy"]; !ok {
		t.Fatalf("no probe output in:\n%s", out)
	}
	return m
}

// pxRun runs args in a fresh container of b and returns its stdout; the
// test fails unless it exits 0 and leaves nothing behind.
func pxRun(e *env, b *bundle, args ...string) string {
	e.t.Helper()
	r, _ := nsRunArgs(e, b, args...)
	if r.Code != 0 {
		e.t.Fatalf("%v: exit %d\nstdout: %s\nstderr: %s", args, r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// pxRunProbe runs the probe as the container's process.
func pxRunProbe(e *env, b *bundle) map[string]string {
	e.t.Helper()
	pxAddProbe(e.t, b)
	return pxParse(e.t, pxRun(e, b, "/bin/probe"))
}

// pxWant compares probe fields with want.
func pxWant(t *testing.T, got map[string]string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

// pxAddCaps adds capabilities to every set but ambient.
func pxAddCaps(b *bundle, caps ...string) {
	c := b.Spec.Process.Capabilities
	c.Bounding = append(c.Bounding, caps...)
	c.Effective = append(c.Effective, caps...)
	c.Permitted = append(c.Permitted, caps...)
}

// pxExec runs husk exec ARGS in container id; the test fails unless the
// process exits 0.
func pxExec(e *env, args ...string) string {
	e.t.Helper()
	r := lcHusk(e, "", append([]string{"exec"}, args...)...)
	if r.Code != 0 {
		e.t.Fatalf("husk exec %v: exit %d\nstdout: %s\nstderr: %s", args, r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// pxProcessFile writes a --process file for husk exec.
func pxProcessFile(t *testing.T, json string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "process.json")
	if err := os.WriteFile(path, []byte(json), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// pxNetHusk runs husk inside the network namespace of pid (a holder the
// test made), so that the devices it moves are the test's own, never the
// host's. Output goes through files: a detached container inherits it.
func pxNetHusk(e *env, pid int, args ...string) result {
	e.t.Helper()
	full := append([]string{"--net=/proc/" + strconv.Itoa(pid) + "/ns/net", "--", huskBin, "--root", e.root}, args...)
	return e.runCmd(exec.Command("nsenter", full...), args)
}

// pxIP runs ip(8) in the network namespace of pid and returns its output.
func pxIP(t *testing.T, pid int, args ...string) string {
	t.Helper()
	full := append([]string{"--net=/proc/" + strconv.Itoa(pid) + "/ns/net", "--", "ip"}, args...)
	out, err := exec.Command("nsenter", full...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %v: %v: %s", args, err, out)
	}
	return string(out)
}

// pxLinks lists the device names in the network namespace of pid.
func pxLinks(t *testing.T, pid int) []string {
	t.Helper()
	var names []string
	for _, line := range strings.Split(pxIP(t, pid, "-o", "link", "show"), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 {
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			names = append(names, name)
		}
	}
	return names
}

// pxHas reports whether list contains s.
func pxHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
