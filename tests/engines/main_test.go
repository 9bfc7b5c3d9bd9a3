// Package engines proves that real container engines can drive husk: it
// starts a private containerd (driven with ctr) and a private podman
// (driving conmon), and runs every scenario twice, once with husk as the
// engine's runtime and once with runc, the reference. A scenario that
// passes with runc and fails with husk is husk's failure, not the
// harness's.
//
// Everything a test makes lives under its temporary directory: the
// daemon's root, state and socket, podman's storage, the runtimes' state
// (--root), the image and the rootfs. The engine's processes and its
// containers run in a cgroup of the test's own (/husk-engines-<random>
// in every hierarchy), so at the end whatever is left there is ended by
// pid and the cgroups removed, and nothing touches the host's cgroups.
//
// The suite needs root, /bin/busybox (busybox-static) and the engines
// (containerd, ctr, containerd-shim-runc-v2; podman, conmon); an engine
// that is missing is skipped with a message, and without root the whole
// package is skipped. Scenarios that need limits only a pure cgroup v2
// host enforces (podman --memory, --pids-limit) are skipped on a hybrid
// host; run them in the cgroup v2 VM (see engines.mk).
//
// Environment:
//
//	HUSK_BINARY       husk under test (default: built from this tree)
//	RUNC_BINARY       the reference runtime (default: runc in $PATH)
//	ENGINES_RUNTIMES  the runtimes to run, comma-separated (default
//	                  "husk,runc"); another name N is found as $N_BINARY
//	                  or N in $PATH, e.g. ENGINES_RUNTIMES=husk,crun
package engines

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// ociRuntime is one runtime the engines are pointed at.
type ociRuntime struct {
	Name string // what engines call it ("husk", "runc"): the tally's key
	Path string // absolute path of the binary
}

var (
	busyboxPath = "/bin/busybox"
	runtimes    []ociRuntime // the runtimes under test, in tally order
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("engines: the engine tests need root; skipping")
		os.Exit(0)
	}
	if _, err := os.Stat(busyboxPath); err != nil {
		fmt.Println("engines: need a static busybox at /bin/busybox (apt-get install busybox-static)")
		os.Exit(1)
	}
	if !haveAny("containerd", "podman") {
		fmt.Println("engines: neither containerd nor podman is installed; skipping")
		os.Exit(0)
	}
	tmp, err := os.MkdirTemp("", "husk-engines-bin-")
	if err != nil {
		fmt.Println("engines:", err)
		os.Exit(1)
	}
	runtimes, err = selectRuntimes(tmp)
	if err != nil {
		fmt.Println("engines:", err)
		os.RemoveAll(tmp)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmp)
	fmt.Println(results.summary())
	os.Exit(code)
}

// selectRuntimes finds the runtimes $ENGINES_RUNTIMES asks for (husk
// and runc by default): husk is built into dir unless $HUSK_BINARY names
// one; a reference runtime that is not installed is left out.
func selectRuntimes(dir string) ([]ociRuntime, error) {
	want := []string{"husk", "runc"}
	if env := os.Getenv("ENGINES_RUNTIMES"); env != "" {
		want = strings.Split(env, ",")
	}
	var out []ociRuntime
	for _, name := range want {
		var path string
		var err error
		switch name {
		case "husk":
			if path, err = huskBinary(dir); err != nil {
				return nil, err
			}
		default: // runc, or another runc-compatible runtime such as crun
			if path, err = lookBinary(strings.ToUpper(name)+"_BINARY", name); err != nil {
				fmt.Printf("engines: %v; the engines run without it\n", err)
				continue
			}
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("runtime %s: %w", name, err)
		}
		out = append(out, ociRuntime{Name: name, Path: path})
	}
	return out, nil
}

// huskBinary is $HUSK_BINARY, or husk built from this tree into dir.
func huskBinary(dir string) (string, error) {
	if p := os.Getenv("HUSK_BINARY"); p != "" {
		return filepath.Abs(p)
	}
	out := filepath.Join(dir, "husk")
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command("go", "build", "-tags", "seccomp", "-o", out, ".")
	cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building husk: %w", err)
	}
	return out, nil
}

// lookBinary is $env if set, else name found in $PATH, made absolute.
func lookBinary(env, name string) (string, error) {
	if p := os.Getenv(env); p != "" {
		return filepath.Abs(p)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found (set %s or install it): %w", name, env, err)
	}
	return filepath.Abs(p)
}

// haveAny reports whether one of the named programs is in $PATH.
func haveAny(names ...string) bool {
	for _, n := range names {
		if _, err := exec.LookPath(n); err == nil {
			return true
		}
	}
	return false
}

// needBinaries skips t unless every named program is in $PATH.
func needBinaries(t *testing.T, engine string, names ...string) {
	t.Helper()
	var missing []string
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		results.skipEngine(engine)
		t.Skipf("%s is not installed (missing %s); apt-get install -y containerd podman conmon runc netavark",
			engine, strings.Join(missing, ", "))
	}
}

// scenario is one thing an engine does with a container, run once per
// runtime.
type scenario[E any] struct {
	name string
	run  func(t *testing.T, e E)
}

// runScenarios runs each scenario as engine/<runtime>/<scenario>, with
// env(t, rt) giving the scenario its engine handle, and tallies them.
func runScenarios[E any](t *testing.T, engine string, scenarios []scenario[E], env func(*testing.T, ociRuntime) E) {
	for _, rt := range runtimes {
		t.Run(rt.Name, func(t *testing.T) {
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					results.record(t, engine, rt.Name)
					sc.run(t, env(t, rt))
				})
			}
		})
	}
}
