// Command bench puts husk beside runc and crun: the same busybox bundle,
// the three runtimes interleaved in one run, medians and ratios to husk.
// It is a program, not a `go test`: benchmarks are not timed tests.
//
//	go build -o bin/bench ./bench && bin/bench -husk ./husk
//
// Needs root. Each runtime gets a private --root under a temp dir, and
// everything the bench creates (containers, cgroups, files) is removed
// before it exits, also on SIGINT/SIGTERM.
//
// On a hybrid cgroup host (v1 controllers, cgroup2 at
// /sys/fs/cgroup/unified), crun 1.8 refuses to run: it runs there from a
// thread in a private mount namespace whose cgroup2 mount is gone, a
// pure v1 host to it, while husk (which needs the cgroup2 mount) and runc
// run on the host as it is. Only on a pure cgroup v2 host (the VM of
// ../shared/vm/run) do all three run the same way.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var (
	huskBin  = flag.String("husk", "./husk", "husk binary")
	runcBin  = flag.String("runc", "/usr/sbin/runc", "runc binary (empty: leave runc out)")
	crunBin  = flag.String("crun", "/usr/bin/crun", "crun binary (empty: leave crun out)")
	iters    = flag.Int("n", 20, "iterations of the lifecycle (run, create, start, delete, exec) per runtime and config")
	conc     = flag.Int("conc", 50, "containers created+started concurrently")
	rounds   = flag.Int("rounds", 3, "rounds of the concurrent phase per runtime and config (0: skip it)")
	loadedN  = flag.Int("loaded", 5, "runs, creates, deletes and execs timed before and while the -existing containers exist, per round")
	existing = flag.Int("existing", 100, "containers that exist (running) while the loaded steps are timed (at least -conc)")
	profile  = flag.String("seccomp", "bench/testdata/docker-default-seccomp.json", "Docker-format seccomp profile for the seccomp config (empty: skip it)")
	crunNS   = flag.String("crun-ns", "auto", "run crun in a private mount namespace without cgroup2: auto (on a hybrid host), on, off")
	label    = flag.String("label", "", "what to call this machine in the header (default: host, or vm under ../shared/vm/run)")
	rawOut   = flag.String("raw", "", "write every sample as JSON to this file")
	timeout  = flag.Duration("wait", 30*time.Second, "how long a started /bin/true may take to exit")
	stateIn  = flag.String("state", "auto", "where the runtimes' --root dirs go: a tmpfs, as /run is in production (auto: /run or /dev/shm, whichever is a tmpfs, else the temp dir)")
	also     multiFlag
	stopping atomic.Bool
)

// A config is one bundle setup: the default, or with a seccomp profile.
type benchConfig struct {
	name    string
	seccomp *specs.LinuxSeccomp
	bTrue   string // bundle running /bin/true
	bSleep  string // bundle running sleep
}

type bench struct {
	dir     string
	prefix  string
	rts     []*rtime
	cfgs    []*benchConfig
	unshare string
	// samples: "config/metric/runtime" → values.
	mu      sync.Mutex
	samples map[string][]float64
	// unsupported: "config/runtime" → why (the probe run failed).
	unsupported map[string]string
	failures    map[string][]string
	stateDirs   []string // to remove at the end
	stateNote   string
	gnuTime     string // /usr/bin/time, for peak RSS
	seq         atomic.Int64
}

// multiFlag collects -also NAME=PATH: more husk builds, timed in the same
// run as husk itself (to measure a change before and after).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	flag.Var(&also, "also", "NAME=PATH: another husk build to time beside the others (repeatable)")
	flag.Parse()
	if os.Geteuid() != 0 {
		fatal("bench needs root")
	}
	var err error
	if devNull, err = os.OpenFile("/dev/null", os.O_RDWR, 0); err != nil {
		fatal("%v", err)
	}
	b := &bench{samples: map[string][]float64{}, unsupported: map[string]string{}, failures: map[string][]string{}}
	b.prefix = "hb" + strconv.Itoa(os.Getpid())
	if b.dir, err = os.MkdirTemp("", "husk-bench-"); err != nil {
		fatal("%v", err)
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Fprintln(os.Stderr, "bench: stopping after the current step (again to stop now)")
		stopping.Store(true)
		<-sigs
		b.cleanup()
		os.Exit(130)
	}()
	// The table is printed after the cleanup, so that nothing is left
	// behind even if stdout is a pipe that closes early.
	var table bytes.Buffer
	code := 0
	if err := b.run(&table); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		code = 1
	}
	if !b.cleanup() {
		code = 1
	}
	os.Stdout.Write(table.Bytes())
	os.Exit(code)
}

func fatal(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+f+"\n", a...)
	os.Exit(1)
}

func (b *bench) run(table io.Writer) error {
	host, err := b.setup()
	if err != nil {
		return err
	}
	started := time.Now()
	load0 := loadavg()
	fmt.Fprintf(os.Stderr, "bench: probing each runtime and config\n")
	b.probe()
	fmt.Fprintf(os.Stderr, "bench: lifecycle, %d iterations\n", *iters)
	if err := b.lifecycle(); err != nil {
		return err
	}
	if *rounds > 0 && *conc > 0 {
		fmt.Fprintf(os.Stderr, "bench: %d containers concurrently, then steps with 0 and %d existing, %d rounds\n", *conc, max(*existing, *conc), *rounds)
		b.concurrent()
	}
	traces := b.traceRuns()
	if *rawOut != "" {
		raw, _ := json.MarshalIndent(map[string]any{"samples": b.samples, "unsupported": b.unsupported, "failures": b.failures}, "", " ")
		if err := os.WriteFile(*rawOut, raw, 0o644); err != nil {
			return err
		}
	}
	host.duration = time.Since(started)
	host.load = load0 + " → " + loadavg()
	b.report(table, host)
	writeTraces(table, traces)
	return nil
}

// hostInfo is the table's header.
type hostInfo struct {
	label, kernel, cgroups string
	cpus                   int
	duration               time.Duration
	load                   string
}

func (b *bench) setup() (*hostInfo, error) {
	h := &hostInfo{cpus: numCPU()}
	rel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	h.kernel = strings.TrimSpace(string(rel))
	h.label = *label
	if h.label == "" {
		h.label = "host"
		if os.Getenv("VMRUN") == "1" {
			h.label = "vm"
		}
	}
	hybrid := false
	var st unix.Statfs_t
	switch {
	case unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC:
		h.cgroups = "pure cgroup v2"
	case unix.Statfs("/sys/fs/cgroup/unified", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC:
		h.cgroups = "hybrid cgroups (v1 controllers, cgroup2 at /sys/fs/cgroup/unified)"
		hybrid = true
	default:
		h.cgroups = "cgroup v1 only"
	}
	husk, err := filepath.Abs(*huskBin)
	if err != nil {
		return nil, err
	}
	stateDir, err := b.stateDir()
	if err != nil {
		return nil, err
	}
	add := func(name, bin string) {
		if bin != "" {
			b.rts = append(b.rts, &rtime{name: name, bin: bin, root: filepath.Join(stateDir, name), note: "directly"})
		}
	}
	add("husk", husk)
	for _, a := range also {
		name, path, ok := strings.Cut(a, "=")
		if !ok || name == "" || strings.ContainsAny(name, "/ ") {
			return nil, fmt.Errorf("-also %q: want NAME=PATH", a)
		}
		add(name, path)
	}
	add("runc", *runcBin)
	add("crun", *crunBin)
	for _, r := range b.rts {
		// Every runtime runs from a copy in the temp dir: the same
		// filesystem for all three (in the VM, husk's own path is a slow
		// 9p share while runc and crun are on virtiofs).
		r.orig = r.bin
		r.bin = filepath.Join(b.dir, "bin", r.name)
		if err := copyFile(r.orig, r.bin); err != nil {
			return nil, fmt.Errorf("%s: %w", r.name, err)
		}
		if r.name == "crun" && (*crunNS == "on" || *crunNS == "auto" && hybrid) {
			if r.ns, err = newNSThread(); err != nil {
				return nil, err
			}
			r.note = "in a private mount namespace without /sys/fs/cgroup/unified (a v1-only host to crun)"
		}
	}
	if b.unshare, err = exec.LookPath("unshare"); err != nil {
		return nil, err
	}
	if _, err := os.Stat("/usr/bin/time"); err == nil {
		b.gnuTime = "/usr/bin/time"
	} else {
		fmt.Fprintln(os.Stderr, "bench: no /usr/bin/time (apt-get install time): no peak RSS of create")
	}
	rootfs := filepath.Join(b.dir, "rootfs")
	if err := makeRootfs(rootfs); err != nil {
		return nil, err
	}
	base, err := baseSpec(husk, rootfs)
	if err != nil {
		return nil, err
	}
	b.cfgs = []*benchConfig{{name: "default"}}
	if *profile != "" {
		sc, err := loadDockerProfile(*profile, base.Process.Capabilities.Bounding)
		if err != nil {
			return nil, err
		}
		b.cfgs = append(b.cfgs, &benchConfig{name: "seccomp", seccomp: sc})
	}
	for _, c := range b.cfgs {
		c.bTrue = filepath.Join(b.dir, "bundle-"+c.name+"-true")
		c.bSleep = filepath.Join(b.dir, "bundle-"+c.name+"-sleep")
		if err := writeBundle(c.bTrue, base, c.seccomp, "/bin/true"); err != nil {
			return nil, err
		}
		if err := writeBundle(c.bSleep, base, c.seccomp, "/bin/sleep", "86400"); err != nil {
			return nil, err
		}
	}
	return h, nil
}

func (b *bench) add(cfg, metric, rt string, v float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := cfg + "/" + metric + "/" + rt
	b.samples[k] = append(b.samples[k], v)
}

func (b *bench) fail(cfg, rt string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := cfg + "/" + rt
	if len(b.failures[k]) < 5 {
		fmt.Fprintf(os.Stderr, "bench: %s, %s: %v\n", rt, cfg, err)
	}
	b.failures[k] = append(b.failures[k], err.Error())
}

func (b *bench) id(r *rtime, c *benchConfig, what string) string {
	return fmt.Sprintf("%s-%s-%s-%s%d", b.prefix, r.name, c.name, what, b.seq.Add(1))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// probe runs /bin/true once with each runtime and config (also a warm-up):
// a runtime that refuses a config (husk's seccomp, until it lands) is
// reported "n/a" with its reason rather than timed.
func (b *bench) probe() {
	for _, c := range b.cfgs {
		for _, r := range b.rts {
			if _, err := r.call("run", "--bundle", c.bTrue, b.id(r, c, "probe")); err != nil {
				b.unsupported[c.name+"/"+r.name] = err.Error()
				fmt.Fprintf(os.Stderr, "bench: %s, %s: n/a: %v\n", r.name, c.name, err)
				b.forceDeleteAll(r)
			}
		}
	}
}

func (b *bench) supported(c *benchConfig, r *rtime) bool {
	_, no := b.unsupported[c.name+"/"+r.name]
	return !no
}

// lifecycle times, per iteration and in a fresh random order of runtimes
// each time: run; create, start, delete of one container; exec into a
// container that runs all along. The floors go in at a random place.
func (b *bench) lifecycle() error {
	sleepers := map[string]string{}
	for _, c := range b.cfgs {
		for _, r := range b.rts {
			if !b.supported(c, r) {
				continue
			}
			id := b.id(r, c, "exec")
			if _, err := r.call("run", "-d", "--bundle", c.bSleep, id); err != nil {
				b.fail(c.name, r.name, err)
				continue
			}
			sleepers[c.name+"/"+r.name] = id
		}
	}
	defer func() {
		for k, id := range sleepers {
			r := b.rtNamed(strings.SplitN(k, "/", 2)[1])
			r.call("delete", "--force", id)
		}
	}()
	for i := 0; i < *iters && !stopping.Load(); i++ {
		steps := b.steps()
		steps = append(steps, step{}, step{}) // the floors
		rand.Shuffle(len(steps), func(i, j int) { steps[i], steps[j] = steps[j], steps[i] })
		floor := 0
		for _, s := range steps {
			if s.r == nil {
				b.floor(floor)
				floor++
				continue
			}
			b.cycle(s.c, s.r, sleepers[s.c.name+"/"+s.r.name])
		}
		fmt.Fprintf(os.Stderr, "\rbench: iteration %d/%d", i+1, *iters)
	}
	fmt.Fprintln(os.Stderr)
	return nil
}

// floor times what no runtime can beat: fork+exec of /bin/true, and
// unshare(1) of the bundle's namespaces running /bin/true.
func (b *bench) floor(which int) {
	if which == 0 {
		if res, err := timed(nil, "/bin/true"); err == nil {
			b.add("floor", "true", "-", ms(res.dur))
		}
		return
	}
	if res, err := timed(nil, b.unshare, "--pid", "--fork", "--mount", "--uts", "--ipc", "--net", "--cgroup", "/bin/true"); err == nil {
		b.add("floor", "unshare", "-", ms(res.dur))
	} else {
		b.fail("floor", "unshare", err)
	}
}

func (b *bench) cycle(c *benchConfig, r *rtime, sleeper string) {
	cfg := c.name
	if res, err := r.call("run", "--bundle", c.bTrue, b.id(r, c, "run")); err != nil {
		b.fail(cfg, r.name, err)
	} else {
		b.add(cfg, "run", r.name, ms(res.dur))
	}
	id := b.id(r, c, "life")
	pidFile := filepath.Join(b.dir, id+".pid")
	defer os.Remove(pidFile)
	res, err := r.call("create", "--bundle", c.bTrue, "--pid-file", pidFile, id)
	if err != nil {
		b.fail(cfg, r.name, err)
		r.call("delete", "--force", id)
		return
	}
	b.add(cfg, "create", r.name, ms(res.dur))
	pid := readPid(pidFile)
	if hwm := statusKiB(pid, "VmHWM"); hwm > 0 {
		b.add(cfg, "rss-init", r.name, float64(hwm)/1024)
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		b.fail(cfg, r.name, fmt.Errorf("init pid %d: %w", pid, err))
		r.call("delete", "--force", id)
		return
	}
	defer unix.Close(pidfd)
	if res, err = r.call("start", id); err != nil {
		b.fail(cfg, r.name, err)
		r.call("delete", "--force", id)
		return
	}
	b.add(cfg, "start", r.name, ms(res.dur))
	if err := waitExit(pidfd, *timeout); err != nil {
		b.fail(cfg, r.name, err)
		r.call("delete", "--force", id)
		return
	}
	if res, err = r.call("delete", id); err != nil {
		b.fail(cfg, r.name, err)
		r.call("delete", "--force", id)
	} else {
		b.add(cfg, "delete", r.name, ms(res.dur))
	}
	if sleeper != "" {
		if res, err = r.call("exec", sleeper, "/bin/true"); err != nil {
			b.fail(cfg, r.name, err)
		} else {
			b.add(cfg, "exec", r.name, ms(res.dur))
		}
	}
	b.createRSS(c, r)
}

// createRSS measures the peak RSS of a create command, untimed. The
// kernel's ru_maxrss of a process counts the memory it had before its
// execve, and Go starts commands with vfork: every command the bench
// starts would show at least the bench's own RSS. GNU time forks for
// real from a process of about 1 MiB and reports its child's peak.
func (b *bench) createRSS(c *benchConfig, r *rtime) {
	if b.gnuTime == "" {
		return
	}
	out := filepath.Join(b.dir, "rss-"+r.name)
	id := b.id(r, c, "rss")
	args := append([]string{"-f", "%M", "-o", out, r.bin, "--root", r.root}, "create", "--bundle", c.bTrue, id)
	_, err := timed(r.ns, b.gnuTime, args...)
	r.call("delete", "--force", id)
	if err != nil {
		b.fail(c.name, r.name, err)
		return
	}
	data, _ := os.ReadFile(out)
	if kib, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
		b.add(c.name, "rss-create", r.name, float64(kib)/1024)
	}
}

// concurrent creates and starts -conc containers at once (containers/s),
// makes them -existing in all, and times run, create, delete and exec
// before and while they all exist: a step whose cost grows with the
// number of containers shows there.
func (b *bench) concurrent() {
	for round := 0; round < *rounds && !stopping.Load(); round++ {
		steps := b.steps()
		rand.Shuffle(len(steps), func(i, j int) { steps[i], steps[j] = steps[j], steps[i] })
		for _, s := range steps {
			if stopping.Load() {
				break
			}
			b.concurrentRound(s.c, s.r)
		}
		fmt.Fprintf(os.Stderr, "\rbench: round %d/%d", round+1, *rounds)
	}
	fmt.Fprintln(os.Stderr)
}

func (b *bench) concurrentRound(c *benchConfig, r *rtime) {
	cfg := c.name
	b.runs(c, r, "0", "")
	ids := make([]string, max(*existing, *conc))
	for i := range ids {
		ids[i] = b.id(r, c, "c")
	}
	defer func() {
		sem := make(chan struct{}, 8)
		var wg sync.WaitGroup
		for _, id := range ids {
			sem <- struct{}{}
			wg.Go(func() { r.call("delete", "--force", id); <-sem })
		}
		wg.Wait()
	}()
	var wg sync.WaitGroup
	var failed atomic.Int32
	createStart := func(id string) {
		_, err := r.call("create", "--bundle", c.bSleep, id)
		if err == nil {
			_, err = r.call("start", id)
		}
		if err != nil {
			failed.Add(1)
			b.fail(cfg, r.name, err)
		}
	}
	t0 := time.Now()
	for _, id := range ids[:*conc] {
		wg.Go(func() { createStart(id) })
	}
	wg.Wait()
	wall := time.Since(t0)
	if failed.Load() > 0 {
		return
	}
	b.add(cfg, "conc", r.name, float64(*conc)/wall.Seconds())
	// The rest of the -existing containers, untimed, a few at a time.
	sem := make(chan struct{}, 4)
	for _, id := range ids[*conc:] {
		sem <- struct{}{}
		wg.Go(func() { createStart(id); <-sem })
	}
	wg.Wait()
	if failed.Load() > 0 {
		return
	}
	b.runs(c, r, "loaded", ids[0])
}

// runs times -loaded runs of /bin/true, creates and deletes (of a created
// container), and as many execs into the container exec: with "0" as
// suffix before any other container of r exists (exec goes into a sleeper
// made for it), with "loaded" while -existing containers run. A step
// whose cost grows with the number of containers shows as a difference.
func (b *bench) runs(c *benchConfig, r *rtime, suffix, exec string) {
	if exec == "" {
		exec = b.id(r, c, "e")
		if _, err := r.call("run", "-d", "--bundle", c.bSleep, exec); err != nil {
			b.fail(c.name, r.name, err)
			exec = ""
		} else {
			defer r.call("delete", "--force", exec)
		}
	}
	for i := 0; i < *loadedN; i++ {
		if res, err := r.call("run", "--bundle", c.bTrue, b.id(r, c, "l")); err != nil {
			b.fail(c.name, r.name, err)
		} else {
			b.add(c.name, "run-"+suffix, r.name, ms(res.dur))
		}
		id := b.id(r, c, "l")
		if res, err := r.call("create", "--bundle", c.bTrue, id); err != nil {
			b.fail(c.name, r.name, err)
		} else {
			b.add(c.name, "create-"+suffix, r.name, ms(res.dur))
		}
		if res, err := r.call("delete", "--force", id); err != nil {
			b.fail(c.name, r.name, err)
		} else {
			b.add(c.name, "delete-"+suffix, r.name, ms(res.dur))
		}
		if exec == "" {
			continue
		}
		if res, err := r.call("exec", exec, "/bin/true"); err != nil {
			b.fail(c.name, r.name, err)
		} else {
			b.add(c.name, "exec-"+suffix, r.name, ms(res.dur))
		}
	}
}

func (b *bench) rtNamed(name string) *rtime {
	for _, r := range b.rts {
		if r.name == name {
			return r
		}
	}
	return nil
}

// forceDeleteAll deletes every container under r's --root.
func (b *bench) forceDeleteAll(r *rtime) {
	entries, _ := os.ReadDir(r.root)
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), b.prefix) {
			r.call("delete", "--force", e.Name())
		}
	}
}

// stateDir makes the directory that holds each runtime's --root. The
// runtimes keep their state in /run (husk, runc and crun alike), which is
// a tmpfs on every systemd host: file creation there costs far less than
// on a disk filesystem, and husk writes its state more often than crun.
func (b *bench) stateDir() (string, error) {
	parent := *stateIn
	if parent == "auto" {
		parent = ""
		for _, d := range []string{"/run", "/dev/shm"} {
			var st unix.Statfs_t
			if unix.Statfs(d, &st) == nil && st.Type == unix.TMPFS_MAGIC {
				parent = d
				break
			}
		}
	}
	if parent == "" {
		b.stateNote = "state dirs in " + b.dir + " (no tmpfs found)"
		return b.dir, nil
	}
	dir, err := os.MkdirTemp(parent, "husk-bench-")
	if err != nil {
		return "", err
	}
	b.stateDirs = append(b.stateDirs, dir)
	b.stateNote = "state dirs (--root) in " + parent + " (tmpfs)"
	return dir, nil
}

// cleanup deletes every container left, removes the temp dir and checks
// that no cgroup of ours is left anywhere. It reports whether all is gone.
func (b *bench) cleanup() bool {
	for _, r := range b.rts {
		b.forceDeleteAll(r)
	}
	clean := true
	for _, r := range b.rts {
		entries, _ := os.ReadDir(r.root)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), b.prefix) {
				fmt.Fprintf(os.Stderr, "bench: %s left container %s\n", r.name, e.Name())
				clean = false
			}
		}
	}
	for _, d := range append(b.stateDirs, b.dir) {
		if err := os.RemoveAll(d); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			clean = false
		}
	}
	for _, cg := range leftoverCgroups(b.prefix) {
		fmt.Fprintf(os.Stderr, "bench: left cgroup %s", cg)
		if err := os.Remove(cg); err != nil {
			fmt.Fprintf(os.Stderr, " (cannot remove it: %v)", err)
		}
		fmt.Fprintln(os.Stderr)
		clean = false
	}
	return clean
}

// leftoverCgroups finds cgroups named after our containers, at most three
// levels down in every cgroup hierarchy (runtimes put them at /<id> or
// /<parent>/<id>).
func leftoverCgroups(prefix string) []string {
	var out []string
	mounts, _ := os.ReadFile("/proc/self/mounts")
	for _, l := range strings.Split(string(mounts), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 || (f[2] != "cgroup" && f[2] != "cgroup2") {
			continue
		}
		for _, pat := range []string{"/" + prefix + "*", "/*/" + prefix + "*", "/*/*/" + prefix + "*"} {
			m, _ := filepath.Glob(f[1] + pat)
			out = append(out, m...)
		}
	}
	return out
}

func readPid(path string) int {
	b, _ := os.ReadFile(path)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func numCPU() int {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) != nil {
		return 0
	}
	return set.Count()
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// step is one runtime under one config.
type step struct {
	c *benchConfig
	r *rtime
}

// steps lists every runtime and config pair the probe found to work.
func (b *bench) steps() []step {
	var steps []step
	for _, c := range b.cfgs {
		for _, r := range b.rts {
			if b.supported(c, r) {
				steps = append(steps, step{c, r})
			}
		}
	}
	return steps
}
