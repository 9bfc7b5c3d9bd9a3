package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const cgroup2Magic = 0x63677270

func isCgroup2(path string) bool {
	var st syscall.Statfs_t
	return syscall.Statfs(path, &st) == nil && st.Type == cgroup2Magic
}

// hybridCgroups reports a host with v1 controllers and cgroup2 at
// /sys/fs/cgroup/unified.
func hybridCgroups() bool {
	return !isCgroup2("/sys/fs/cgroup") && isCgroup2("/sys/fs/cgroup/unified")
}

type mount struct{ point, fstype, opts string }

func mounts() []mount {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var ms []mount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, pf := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(pf) < 1 {
			continue
		}
		m := mount{point: unescape(fields[4]), fstype: pf[0]}
		if len(pf) >= 3 {
			m.opts = pf[2]
		}
		ms = append(ms, m)
	}
	return ms
}

func unescape(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// The cgroups the suite's cgroup programs ask for, by fixed name: as an
// absolute cgroupsPath, and a relative one (which runtimes put under
// their own cgroup). Deepest first.
var testCgroupNames = []string{"testdir/cgrouptest/container", "testdir/cgrouptest", "testdir", "cgrouptest"}

// testCgroups lists the suite's fixed-name cgroups that exist now, in
// every hierarchy, so that cleanup removes only those a program made.
func testCgroups() map[string]bool {
	var bases []string
	for _, m := range mounts() {
		if m.fstype == "cgroup" || m.fstype == "cgroup2" {
			bases = append(bases, m.point)
		}
	}
	bases = append(bases, sandbox.dirs...)
	found := map[string]bool{}
	for _, b := range bases {
		for _, n := range testCgroupNames {
			p := filepath.Join(b, n)
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				found[p] = true
			}
		}
	}
	return found
}

// sandbox is a cgroup of the harness's own, made in each cgroup v1
// hierarchy where the harness itself is not in the root cgroup. Runtimes
// put a container with no cgroupsPath, or a relative one, below their own
// cgroup; the programs run in the sandbox so that those cgroups are made
// there, never inside a cgroup that belongs to whoever started the
// harness. (cgroup v2 is left alone: there the runtime's own cgroup must
// hold no process for its children to get controllers, and the harness
// is in the root cgroup on the hosts it runs on.)
var sandbox struct {
	name string
	dirs []string // one per hierarchy
}

func makeSandbox() error {
	own := map[string]string{} // v1 controller set -> the harness's cgroup
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return err
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) == 3 && parts[1] != "" {
			own[parts[1]] = parts[2]
		}
	}
	sandbox.name = fmt.Sprintf("husk-conformance-%d", os.Getpid())
	for _, m := range mounts() {
		if m.fstype != "cgroup" {
			continue
		}
		opts := map[string]bool{}
		for _, o := range strings.Split(m.opts, ",") {
			opts[o] = true
		}
		for ctl, path := range own {
			all := true
			for _, c := range strings.Split(ctl, ",") {
				all = all && opts[c]
			}
			if !all || path == "/" {
				continue
			}
			dir := filepath.Join(m.point, sandbox.name)
			if err := os.Mkdir(dir, 0o755); err != nil {
				removeSandbox()
				return fmt.Errorf("making cgroup %s: %w", dir, err)
			}
			sandbox.dirs = append(sandbox.dirs, dir)
		}
	}
	return nil
}

// sandboxLauncher is the command prefix that moves a program into the
// sandbox before it runs.
func sandboxLauncher() []string {
	if len(sandbox.dirs) == 0 {
		return nil
	}
	script := ""
	for _, d := range sandbox.dirs {
		script += "echo $$ > " + shQuote(filepath.Join(d, "cgroup.procs")) + " && "
	}
	return []string{"sh", "-c", script + `exec "$0" "$@"`}
}

// removeSandbox kills what is left in the sandbox and removes its cgroups,
// deepest first.
func removeSandbox() []string {
	var left []string
	for _, d := range sandbox.dirs {
		var all []string
		filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				all = append(all, p)
			}
			return nil
		})
		sort.Slice(all, func(i, j int) bool { return len(all[i]) > len(all[j]) })
		for _, p := range all {
			for try := 0; try < 50; try++ {
				b, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
				pids := strings.Fields(string(b))
				if len(pids) == 0 {
					break
				}
				if try == 0 {
					left = append(left, fmt.Sprintf("processes in %s: %v", p, pids))
				}
				for _, pid := range pids {
					if n, err := strconv.Atoi(pid); err == nil {
						syscall.Kill(n, syscall.SIGKILL)
					}
				}
				time.Sleep(100 * time.Millisecond)
			}
			if p != d {
				left = append(left, "cgroup "+p)
			}
			if err := os.Remove(p); err != nil {
				left = append(left, "removing cgroup: "+err.Error())
			}
		}
	}
	return left
}

// cleanup removes what a program left: its containers (through the
// runtime, which also removes their cgroups), its processes, mounts under
// its directory, and the fixed-name test cgroups it made. It returns what
// it found.
func cleanup(dir string, rt ociRuntime, proc *os.Process, cgBefore map[string]bool) []string {
	var left []string
	wrapper := filepath.Join(dir, "runtime")
	runtimeCmd := func(args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		argv := append(append(append([]string{}, rt.Launcher...), wrapper), args...)
		return exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	}
	if out, err := runtimeCmd("list", "-q"); err == nil {
		for _, id := range strings.Fields(string(out)) {
			left = append(left, "container "+id)
			if out, err := runtimeCmd("delete", "--force", id); err != nil {
				left = append(left, "delete --force "+id+": "+strings.TrimSpace(string(out)))
			}
		}
	} else if ents, _ := os.ReadDir(filepath.Join(dir, "root")); len(ents) > 0 {
		left = append(left, "list: "+strings.TrimSpace(string(out)))
	}
	if proc != nil && proc.Pid > 0 {
		if syscall.Kill(-proc.Pid, 0) == nil {
			left = append(left, "processes")
			syscall.Kill(-proc.Pid, syscall.SIGKILL)
		}
	}
	var under []string
	for _, m := range mounts() {
		if strings.HasPrefix(m.point, dir+"/") {
			under = append(under, m.point)
		}
	}
	sort.Slice(under, func(i, j int) bool { return len(under[i]) > len(under[j]) })
	for _, p := range under {
		left = append(left, "mount "+p)
		syscall.Unmount(p, syscall.MNT_DETACH)
	}
	if cgBefore == nil {
		return left // not a cgroup program: another may be making them now
	}
	after := testCgroups()
	var made []string
	for p := range after {
		if !cgBefore[p] {
			made = append(made, p)
		}
	}
	sort.Slice(made, func(i, j int) bool { return len(made[i]) > len(made[j]) })
	for _, p := range made {
		left = append(left, "cgroup "+p)
		os.Remove(p) // rmdir: only an empty cgroup goes
	}
	return left
}
