// Command tracecost measures what --trace costs: it times `husk run` of
// /bin/true with tracing off and on (HUSK_TRACE), and optionally another
// husk build (one without tracing, to measure the cost of it being off),
// interleaved, and prints the medians of the wall time and of the CPU
// time that husk, its init and the container used (wait4's rusage, which
// covers the descendants husk reaped). CPU time stays meaningful on a busy
// host, where wall time mostly measures the others' load.
//
//	go run ./bench/tracecost -husk ./husk -base /tmp/husk-main -n 200
//
// Needs root and /bin/busybox (busybox-static).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

type variant struct {
	name, bin, trace string
	wall, cpu        []time.Duration
}

func main() {
	husk := flag.String("husk", "./husk", "husk binary to measure, with tracing off and on")
	base := flag.String("base", "", "another husk build (e.g. without tracing) to time beside it")
	n := flag.Int("n", 200, "runs of each")
	flag.Parse()
	if err := run(*husk, *base, *n); err != nil {
		fmt.Fprintln(os.Stderr, "tracecost:", err)
		os.Exit(1)
	}
}

func run(husk, base string, n int) error {
	dir, err := os.MkdirTemp("", "husk-tracecost-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bundle, err := makeBundle(dir, husk)
	if err != nil {
		return err
	}
	vs := []*variant{{name: "off", bin: husk}, {name: "on", bin: husk, trace: filepath.Join(dir, "trace.json")}}
	if base != "" {
		vs = append([]*variant{{name: "base", bin: base}}, vs...)
	}
	for i := range n {
		for _, v := range vs {
			if err := v.once(dir, bundle, fmt.Sprintf("c%d", i)); err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
		}
	}
	fmt.Printf("husk run /bin/true, %d runs each, interleaved: medians\n", n)
	fmt.Printf("  %-5s %10s %10s\n", "", "wall", "cpu")
	for _, v := range vs {
		fmt.Printf("  %-5s %10s %10s\n", v.name, median(v.wall), median(v.cpu))
	}
	return nil
}

// once times one husk run; a trace file is removed after each, so that
// every traced run creates it anew.
func (v *variant) once(dir, bundle, id string) error {
	cmd := exec.Command(v.bin, "--root", filepath.Join(dir, "root"), "run", "--bundle", bundle, id)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HUSK_TRACE=" + v.trace}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	u := cmd.ProcessState
	v.wall = append(v.wall, wall)
	v.cpu = append(v.cpu, u.UserTime()+u.SystemTime())
	if v.trace != "" {
		return os.Remove(v.trace)
	}
	return nil
}

func makeBundle(dir, husk string) (string, error) {
	bundle := filepath.Join(dir, "bundle")
	bin := filepath.Join(bundle, "rootfs", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", err
	}
	data, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), data, 0o755); err != nil {
		return "", err
	}
	if err := os.Symlink("busybox", filepath.Join(bin, "true")); err != nil {
		return "", err
	}
	if out, err := exec.Command(husk, "spec", "--bundle", bundle).CombinedOutput(); err != nil {
		return "", fmt.Errorf("husk spec: %w: %s", err, out)
	}
	config := filepath.Join(bundle, "config.json")
	spec, err := os.ReadFile(config)
	if err != nil {
		return "", err
	}
	s := strings.Replace(string(spec), `"sh"`, `"true"`, 1)
	s = strings.Replace(s, `"terminal": true`, `"terminal": false`, 1)
	return bundle, os.WriteFile(config, []byte(s), 0o644)
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2].Round(10 * time.Microsecond)
}
