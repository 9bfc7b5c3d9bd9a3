// Command conformance runs the OCI runtime-tools validation suite against
// one or more runtimes and prints, per validation program, how many TAP
// assertions each runtime passed, failed and skipped, then the assertions
// the reference runtime passes and the runtime under test does not.
//
//	conformance -bin DIR -rootfs TARBALL [flags] NAME=PATH...
//
// DIR holds runtime-tools' validation programs and a static runtimetest
// (conformance.mk builds them from the Go module proxy at a pinned
// version); TARBALL is runtime-tools' rootfs-amd64.tar.gz from the same
// module. Each NAME=PATH is a runtime; the first is the one under test
// and its totals close the output, as "NAME: N passed, M failed, K skipped".
//
// Every program runs once per runtime, in a directory of its own that
// holds the bundles (TMPDIR) and the runtime's state (--root, through a
// wrapper script given to the program as $RUNTIME), in a process group
// of its own, under -timeout. Afterwards whatever the program left is
// removed: containers (delete --force), processes (the process group),
// mounts under its directory and the fixed-name cgroups the suite makes.
// A program that exits non-zero, times out or bails out counts as one
// more failed assertion ("program completes"). Some programs print no
// assertion at all: the *_fail ones print nothing when the runtime
// refused the bad config, the hook ones print only a YAML block naming
// the error when something went wrong. Such a program counts as one
// passed assertion when it exits 0 and prints no diagnostic, else as one
// failed.
//
// The suite's cgroup programs (and delete_only_create_resources, which
// makes and removes /sys/fs/cgroup/pids/cgrouptest) use fixed cgroup
// paths, so they never run at the same time as each other, not even one
// program for two runtimes; the rest run -jobs at a time. crun 1.8
// refuses a hybrid cgroup host: there its programs run in a private
// mount namespace without /sys/fs/cgroup/unified, which crun and the
// suite then see as a cgroup v1 host.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

type ociRuntime struct {
	Name, Path string
	// Launcher runs before the program (and the cleanup commands), e.g.
	// unshare for crun on a hybrid host.
	Launcher []string
	// OCIVersion, when set, replaces the ociVersion of the config.json
	// the runtime is given (for a runtime that refuses a newer one).
	OCIVersion string
	// NoSeccomp: the runtime is given configs without linux.seccomp.
	NoSeccomp bool
}

// Result of one program run by one runtime.
type Result struct {
	Program  string
	Runtime  string
	TAP      TAP
	Status   string // "" when the program completed, else why not
	Stderr   string
	Duration time.Duration
	Leftover []string // what cleanup had to remove
}

// Broken reports whether the program did not complete: it then counts as
// one more failed assertion.
func (r *Result) Broken() bool { return r.Status != "" }

func (r *Result) Counts() (pass, fail, skip int) {
	pass, fail, skip = r.TAP.Counts()
	switch {
	case r.Broken():
		fail++
	case len(r.TAP.Assertions) == 0 && !r.TAP.PlanSkip:
		pass++ // "program completes", with no error reported
	}
	return
}

var (
	binDir  = flag.String("bin", "", "directory with runtime-tools' validation programs and runtimetest")
	rootfs  = flag.String("rootfs", "", "runtime-tools' rootfs-amd64.tar.gz")
	runRE   = flag.String("run", "", "run only the programs matching this regexp")
	skipRE  = flag.String("skip", "", "skip the programs matching this regexp")
	jobs    = flag.Int("jobs", runtime.NumCPU()+1, "programs run at the same time")
	timeout = flag.Duration("timeout", 2*time.Minute, "time limit of each program")
	workDir = flag.String("work", "", "where bundles and state go (default: a new directory in $TMPDIR, removed at the end)")
	outDir  = flag.String("out", "", "where to write each run's TAP and stderr, the table, the gaps and results.json")
	keep    = flag.Bool("keep", false, "keep the work directory")
	gate    = flag.Bool("gate", false, "exit 1 when the runtime under test fails an assertion the reference passes, other than those in -expect")
	expect  = flag.String("expect", "", "file of known gaps for -gate: lines \"program<TAB>assertion\" (# comments)")
	refName = flag.String("ref", "runc", "the reference runtime for the gap list")
	verbose = flag.Bool("v", false, "print each run as it ends")
	noSecc  = flag.String("noseccomp", "", "NAME,...: give these runtimes configs without linux.seccomp, to measure a runtime that lacks seccomp on everything else (its totals are then not comparable)")
	ociVers = flag.String("ociversion", "crun=1.1.0", "NAME=VERSION,...: give runtime NAME configs that say this ociVersion (crun 1.8 refuses \"1.3.0\", which runtime-tools writes)")
	// interrupted ends when the harness is told to stop.
	interrupted = context.Background()
	cgroupRE    = regexp.MustCompile(`^(linux_cgroups_|delete_resources$|delete_only_create_resources$)`)
)

func main() {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: conformance -bin DIR -rootfs TARBALL [flags] NAME=PATH...\n")
		flag.PrintDefaults()
	}
	if len(os.Args) > 1 && os.Args[1] == "rewrite-config" {
		if err := rewriteConfig(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "conformance rewrite-config:", err)
			os.Exit(1)
		}
		return
	}
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(2)
	}
}

func run() error {
	if *binDir == "" || *rootfs == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root")
	}
	var err error
	if *binDir, err = filepath.Abs(*binDir); err != nil {
		return err
	}
	if *rootfs, err = filepath.Abs(*rootfs); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(*binDir, "runtimetest")); err != nil {
		return fmt.Errorf("no runtimetest in -bin: %w", err)
	}
	if _, err := os.Stat(*rootfs); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	hybrid := hybridCgroups()
	var rts []ociRuntime
	for _, arg := range flag.Args() {
		name, path, ok := strings.Cut(arg, "=")
		if !ok || name == "" || path == "" {
			return fmt.Errorf("runtime %q: want NAME=PATH", arg)
		}
		p, err := exec.LookPath(path)
		if err != nil {
			return fmt.Errorf("runtime %s: %w", name, err)
		}
		if p, err = filepath.Abs(p); err != nil {
			return err
		}
		rt := ociRuntime{Name: name, Path: p}
		if hybrid && filepath.Base(p) == "crun" {
			rt.Launcher = []string{"unshare", "-m", "--propagation", "slave", "sh", "-c",
				`umount -l /sys/fs/cgroup/unified && exec "$0" "$@"`}
		}
		for _, o := range strings.Split(*ociVers, ",") {
			if n, v, ok := strings.Cut(o, "="); ok && n == name {
				rt.OCIVersion = v
			}
		}
		for _, n := range strings.Split(*noSecc, ",") {
			rt.NoSeccomp = rt.NoSeccomp || n == name
		}
		rts = append(rts, rt)
	}
	programs, err := listPrograms(*binDir)
	if err != nil {
		return err
	}
	if len(programs) == 0 {
		return fmt.Errorf("no validation program in %s matches", *binDir)
	}

	work := *workDir
	if work == "" {
		if work, err = os.MkdirTemp("", "husk-conformance-"); err != nil {
			return err
		}
		// Traversable, as /tmp is: the programs' bundles below it are
		// their own business (some map root to uid 1000).
		if err := os.Chmod(work, 0o755); err != nil {
			return err
		}
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	if work, err = filepath.Abs(work); err != nil {
		return err
	}
	if *outDir == "" {
		*outDir = filepath.Join(work, "results")
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	// runtimetest is copied into each bundle by the programs, from their
	// working directory: one copy here, hard-linked into each.
	if err := copyFile(filepath.Join(*binDir, "runtimetest"), filepath.Join(work, "runtimetest"), 0o755); err != nil {
		return err
	}

	if err := makeSandbox(); err != nil {
		return err
	}
	// On SIGINT or SIGTERM: stop the running programs, clean up after
	// them, remove the sandbox, print what ran.
	var stop context.CancelFunc
	interrupted, stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	fmt.Printf("runtime-tools validation: %d programs x %s, %d at a time, %s each at most\n",
		len(programs), names(rts), *jobs, *timeout)
	for _, rt := range rts {
		if rt.OCIVersion != "" {
			fmt.Printf("%s: config.json's ociVersion rewritten to %s on create and run\n", rt.Name, rt.OCIVersion)
		}
		if rt.NoSeccomp {
			fmt.Printf("%s: linux.seccomp removed from config.json on create and run: NOT a conformance run\n", rt.Name)
		}
	}
	if hybrid {
		fmt.Println("host: hybrid cgroups (v1 controllers, cgroup2 at /sys/fs/cgroup/unified)")
	} else if isCgroup2("/sys/fs/cgroup") {
		fmt.Println("host: pure cgroup v2")
	}
	results := runAll(work, programs, rts)
	elapsed := time.Since(start)
	for _, l := range removeSandbox() {
		fmt.Println("cleanup:", l)
	}

	if !*keep && *workDir == "" {
		// Logs live in -out; only remove the work dir if it holds nothing else.
		if !strings.HasPrefix(*outDir, work+"/") {
			os.RemoveAll(work)
		}
	}

	var report strings.Builder
	writeTable(&report, programs, rts, results)
	ref, sub := findRef(rts)
	var gaps []gap
	var checked int
	switch {
	case ref != "":
		gaps, checked = findGaps(programs, results, ref, sub)
		writeGaps(&report, gaps, ref, sub)
	case *gate:
		// No reference in this run: the gate is over every assertion of
		// the runtime under test, and -expect lists all it fails.
		sub = rts[0].Name
		gaps, checked = ownFailures(programs, results, sub)
		writeGaps(&report, gaps, "", sub)
	}
	fmt.Fprintf(&report, "\ntime: %s\n", elapsed.Round(time.Second))
	// Totals last, the runtime under test's closing the output.
	for i := len(rts) - 1; i >= 0; i-- {
		p, f, s := totals(results, rts[i].Name)
		fmt.Fprintf(&report, "%s: %d passed, %d failed, %d skipped\n", rts[i].Name, p, f, s)
	}
	fmt.Print(report.String())
	os.WriteFile(filepath.Join(*outDir, "report.txt"), []byte(report.String()), 0o644)
	writeJSON(filepath.Join(*outDir, "results.json"), results)
	if interrupted.Err() != nil {
		fmt.Println("interrupted: the table holds what ran")
		os.Exit(130)
	}

	if *gate {
		known, err := readExpect(*expect)
		if err != nil {
			return err
		}
		var unexpected []gap
		for _, g := range gaps {
			if !known.has(g) {
				unexpected = append(unexpected, g)
			}
		}
		if len(unexpected) > 0 {
			what := fmt.Sprintf("%s passes fail with %s", ref, sub)
			if ref == "" {
				what = sub + " fails"
			}
			fmt.Printf("\ngate: %d assertions %s and are not in %s:\n", len(unexpected), what, *expect)
			for _, g := range unexpected {
				fmt.Printf("  %s\t%s\n", g.Program, g.Key)
			}
		}
		// Over what the reference passes (or, alone, every assertion):
		// passed by the runtime under test too, failed unexpectedly,
		// known gaps (skipped).
		fmt.Printf("gate: %d passed, %d failed, %d skipped\n", checked-len(gaps), len(unexpected), len(gaps)-len(unexpected))
		if len(unexpected) > 0 {
			os.Exit(1)
		}
	}
	return nil
}

func names(rts []ociRuntime) string {
	var n []string
	for _, rt := range rts {
		n = append(n, rt.Name)
	}
	return strings.Join(n, ", ")
}

func listPrograms(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var only, skip *regexp.Regexp
	if *runRE != "" {
		if only, err = regexp.Compile(*runRE); err != nil {
			return nil, err
		}
	}
	if *skipRE != "" {
		if skip, err = regexp.Compile(*skipRE); err != nil {
			return nil, err
		}
	}
	var progs []string
	for _, e := range ents {
		n := e.Name()
		fi, err := e.Info()
		if err != nil || n == "runtimetest" || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			continue
		}
		if only != nil && !only.MatchString(n) || skip != nil && skip.MatchString(n) {
			continue
		}
		progs = append(progs, n)
	}
	sort.Strings(progs)
	return progs, nil
}

type job struct {
	prog string
	rt   ociRuntime
}

// runAll runs every program with every runtime; the runtimes of one
// program run close together, so they see the same machine.
func runAll(work string, programs []string, rts []ociRuntime) map[string]*Result {
	var (
		mu       sync.Mutex
		results  = map[string]*Result{}
		cgroupMu sync.Mutex // the cgroup programs share fixed cgroup paths
		queue    = make(chan job)
		wg       sync.WaitGroup
	)
	for i := 0; i < *jobs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				if cgroupRE.MatchString(j.prog) {
					cgroupMu.Lock()
				}
				r := runOne(work, j.prog, j.rt)
				if cgroupRE.MatchString(j.prog) {
					cgroupMu.Unlock()
				}
				mu.Lock()
				results[j.rt.Name+"/"+j.prog] = r
				if *verbose {
					p, f, s := r.Counts()
					st := r.Status
					if st == "" {
						st = "ok"
					}
					fmt.Printf("  %-5s %-34s %4d passed %3d failed %3d skipped  %-22s %s\n",
						j.rt.Name, j.prog, p, f, s, st, r.Duration.Round(100*time.Millisecond))
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, p := range programs {
		for _, rt := range rts {
			select {
			case queue <- job{p, rt}:
			case <-interrupted.Done():
				break feed
			}
		}
	}
	close(queue)
	wg.Wait()
	return results
}

func runOne(work, prog string, rt ociRuntime) *Result {
	r := &Result{Program: prog, Runtime: rt.Name}
	dir := filepath.Join(work, rt.Name, prog)
	logBase := filepath.Join(*outDir, rt.Name, prog)
	os.MkdirAll(filepath.Dir(logBase), 0o755)
	if err := setupDir(dir, rt); err != nil {
		r.Status = "setup: " + err.Error()
		return r
	}
	var cgBefore map[string]bool
	if cgroupRE.MatchString(prog) {
		cgBefore = testCgroups()
	}

	ctx, cancel := context.WithTimeout(interrupted, *timeout)
	defer cancel()
	argv := append(append(sandboxLauncher(), rt.Launcher...), filepath.Join(*binDir, prog))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"RUNTIME="+filepath.Join(dir, "runtime"),
		"TMPDIR="+filepath.Join(dir, "tmp"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, _ := os.Create(logBase + ".tap")
	stderr, _ := os.Create(logBase + ".stderr")
	cmd.Stdout, cmd.Stderr = stdout, stderr
	start := time.Now()
	err := cmd.Start()
	if err == nil {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err = <-done:
		case <-ctx.Done():
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			r.Status = fmt.Sprintf("timeout after %s", *timeout)
			if interrupted.Err() != nil {
				r.Status = "interrupted"
			}
		}
	}
	r.Duration = time.Since(start)
	stdout.Close()
	stderr.Close()
	if r.Status == "" && err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			r.Status = fmt.Sprintf("exit status %d", ee.ExitCode())
		} else {
			r.Status = err.Error()
		}
	}

	if f, err := os.Open(logBase + ".tap"); err == nil {
		r.TAP = ParseTAP(f)
		f.Close()
	}
	if b, err := os.ReadFile(logBase + ".stderr"); err == nil {
		r.Stderr = string(b)
	}
	if r.Status == "" {
		switch {
		case r.TAP.BailOut != "":
			r.Status = "bail out: " + r.TAP.BailOut
		case len(r.TAP.Assertions) == 0 && strings.TrimSpace(r.TAP.Trailer) != "":
			r.Status = "error reported"
		case !r.TAP.Header && !strings.HasSuffix(prog, "_fail"):
			// Only the *_fail programs pass by printing nothing (the
			// runtime refused their config).
			r.Status = "no output"
		case r.TAP.Plan >= 0 && r.TAP.Plan != len(r.TAP.Assertions):
			r.Status = fmt.Sprintf("planned %d, ran %d", r.TAP.Plan, len(r.TAP.Assertions))
		}
	}

	r.Leftover = cleanup(dir, rt, cmd.Process, cgBefore)
	if !*keep {
		if err := os.RemoveAll(dir); err != nil {
			r.Leftover = append(r.Leftover, "remove "+dir+": "+err.Error())
		}
	}
	return r
}

// setupDir makes a program's working directory: the files it expects in
// its current directory, TMPDIR for its bundles, and the runtime wrapper
// that gives the runtime a private state directory.
func setupDir(dir string, rt ociRuntime) error {
	os.RemoveAll(dir)
	for _, d := range []string{"tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	// Hard links: runtime-tools copies a symlink as a symlink.
	if err := os.Link(filepath.Join(filepath.Dir(filepath.Dir(dir)), "runtimetest"), filepath.Join(dir, "runtimetest")); err != nil {
		if err := copyFile(filepath.Join(*binDir, "runtimetest"), filepath.Join(dir, "runtimetest"), 0o755); err != nil {
			return err
		}
	}
	if err := os.Symlink(*rootfs, filepath.Join(dir, "rootfs-"+runtime.GOARCH+".tar.gz")); err != nil {
		return err
	}
	wrapper := "#!/bin/sh\n"
	if rt.OCIVersion != "" || rt.NoSeccomp {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		rewrite := shQuote(self) + " rewrite-config"
		if rt.OCIVersion != "" {
			rewrite += " -ociversion " + shQuote(rt.OCIVersion)
		}
		if rt.NoSeccomp {
			rewrite += " -noseccomp"
		}
		wrapper += fmt.Sprintf(rewriteScript, rewrite)
	}
	wrapper += fmt.Sprintf("exec %s --root %s \"$@\"\n", shQuote(rt.Path), shQuote(filepath.Join(dir, "root")))
	return os.WriteFile(filepath.Join(dir, "runtime"), []byte(wrapper), 0o755)
}

// rewriteScript makes the wrapper rewrite the bundle's config.json before
// create or run; %s is the rewrite command.
const rewriteScript = `bundle=. prev= cmd=
for a in "$@"; do
	case "$prev" in --bundle|-b) bundle=$a ;; esac
	case "$a" in --bundle=*) bundle=${a#--bundle=} ;; esac
	if [ -z "$cmd" ]; then case "$a" in -*) ;; *) cmd=$a ;; esac; fi
	prev=$a
done
case "$cmd" in create|run)
	if [ -f "$bundle/config.json" ]; then %s "$bundle/config.json" || exit 1; fi ;;
esac
`

// rewriteConfig is the wrapper's helper: conformance rewrite-config
// [-ociversion V] [-noseccomp] FILE.
func rewriteConfig(args []string) error {
	fs := flag.NewFlagSet("rewrite-config", flag.ContinueOnError)
	version := fs.String("ociversion", "", "")
	noSeccomp := fs.Bool("noseccomp", false, "")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		return fmt.Errorf("usage: rewrite-config [-ociversion V] [-noseccomp] FILE")
	}
	file := fs.Arg(0)
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var cfg map[string]any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber() // keep 64-bit limits exact
	if err := d.Decode(&cfg); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if *version != "" {
		cfg["ociVersion"] = *version
	}
	if linux, ok := cfg["linux"].(map[string]any); ok && *noSeccomp {
		delete(linux, "seccomp")
	}
	if b, err = json.Marshal(cfg); err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func findRef(rts []ociRuntime) (ref, sub string) {
	if len(rts) < 2 {
		return "", ""
	}
	sub = rts[0].Name
	for _, rt := range rts[1:] {
		if rt.Name == *refName {
			return rt.Name, sub
		}
	}
	return rts[1].Name, sub
}

func totals(results map[string]*Result, rt string) (p, f, s int) {
	for _, r := range results {
		if r.Runtime != rt {
			continue
		}
		a, b, c := r.Counts()
		p, f, s = p+a, f+b, s+c
	}
	return
}

func writeTable(w io.Writer, programs []string, rts []ociRuntime, results map[string]*Result) {
	fmt.Fprintf(w, "\n%-34s", "program")
	for _, rt := range rts {
		fmt.Fprintf(w, " | %-18s", rt.Name+" pass/fail/skip")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%s", strings.Repeat("-", 34))
	for range rts {
		fmt.Fprintf(w, "-+-%s", strings.Repeat("-", 18))
	}
	fmt.Fprintln(w)
	notes := map[string]bool{}
	for _, p := range programs {
		fmt.Fprintf(w, "%-34s", p)
		for _, rt := range rts {
			r := results[rt.Name+"/"+p]
			if r == nil {
				fmt.Fprintf(w, " | %-18s", "-")
				continue
			}
			a, b, c := r.Counts()
			cell := fmt.Sprintf("%d/%d/%d", a, b, c)
			if r.Broken() {
				mark := statusMark(r.Status)
				cell += " " + mark
				notes[mark] = true
			}
			fmt.Fprintf(w, " | %-18s", cell)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%-34s", "total")
	for _, rt := range rts {
		a, b, c := totals(results, rt.Name)
		fmt.Fprintf(w, " | %-18s", fmt.Sprintf("%d/%d/%d", a, b, c))
	}
	fmt.Fprintln(w)
	if len(notes) > 0 {
		fmt.Fprintln(w, "E: exited non-zero, T: timed out, R: no assertion but an error reported, P: fewer assertions")
		fmt.Fprintln(w, "than planned, B: bailed out, O: no output; each counts as one failed assertion (\"program completes\").")
		fmt.Fprintln(w, "A program that prints no assertion and no error counts as one passed assertion.")
	}
}

func statusMark(s string) string {
	switch {
	case strings.HasPrefix(s, "exit"):
		return "E"
	case strings.HasPrefix(s, "timeout"):
		return "T"
	case strings.HasPrefix(s, "error reported"):
		return "R"
	case strings.HasPrefix(s, "bail out"):
		return "B"
	case strings.HasPrefix(s, "no output"):
		return "O"
	case strings.HasPrefix(s, "planned"):
		return "P"
	}
	return "!"
}

// gap is an assertion the reference runtime passed and the runtime under
// test did not.
type gap struct {
	Program string
	Key     string // the assertion, numbers replaced by N
	Line    string // its TAP line in the run under test ("" if it never ran)
	Diag    string
	Status  string // the run's status when the program did not complete
	Stderr  string
}

var numbers = regexp.MustCompile(`[0-9]+`)

// assertionKeys names each assertion of a run so that two runs can be
// compared: the description with numbers (random ids and paths)
// normalised, and repeats counted.
func assertionKeys(r *Result) map[string]Assertion {
	keys := map[string]Assertion{}
	seen := map[string]int{}
	for _, a := range r.TAP.Assertions {
		k := numbers.ReplaceAllString(a.Desc, "N")
		seen[k]++
		if seen[k] > 1 {
			k = fmt.Sprintf("%s (#%d)", k, seen[k])
		}
		keys[k] = a
	}
	return keys
}

const completes = "program completes"

// findGaps also returns how many assertions of the reference it checked
// (each passed assertion, and "program completes" where it completed).
func findGaps(programs []string, results map[string]*Result, ref, sub string) (gaps []gap, checked int) {
	for _, p := range programs {
		rr, sr := results[ref+"/"+p], results[sub+"/"+p]
		if rr == nil || sr == nil {
			continue
		}
		rk, sk := assertionKeys(rr), assertionKeys(sr)
		var keys []string
		for k, a := range rk {
			if a.Verdict == Pass {
				keys = append(keys, k)
			}
		}
		sort.Slice(keys, func(i, j int) bool { return rk[keys[i]].Num < rk[keys[j]].Num })
		// An assertion the run under test never reached is a gap when that
		// run stopped early or failed; not when it completed without a
		// failure (a *_fail program whose runtime refused the config runs
		// none of runtimetest's assertions, and need not).
		_, subFail, _ := sr.Counts()
		checked += len(keys)
		if !rr.Broken() {
			checked++
		}
		for _, k := range keys {
			a, ok := sk[k]
			if ok && a.Verdict == Pass || !ok && subFail == 0 {
				continue
			}
			g := gap{Program: p, Key: k, Status: sr.Status}
			if ok {
				g.Line, g.Diag = a.Line, a.Diag
			}
			gaps = append(gaps, g)
		}
		if !rr.Broken() && sr.Broken() {
			gaps = append(gaps, gap{Program: p, Key: completes, Status: sr.Status, Stderr: sr.Stderr, Diag: sr.TAP.Trailer})
		}
	}
	return gaps, checked
}

// ownFailures is findGaps without a reference: every assertion the
// runtime under test failed, and "program completes" where it did not.
func ownFailures(programs []string, results map[string]*Result, sub string) (gaps []gap, checked int) {
	for _, p := range programs {
		r := results[sub+"/"+p]
		if r == nil {
			continue
		}
		keys := assertionKeys(r)
		pass, fail, _ := r.Counts()
		checked += pass + fail
		for k, a := range keys {
			if a.Verdict == Fail {
				gaps = append(gaps, gap{Program: p, Key: k, Line: a.Line, Diag: a.Diag, Status: r.Status})
			}
		}
		if r.Broken() {
			gaps = append(gaps, gap{Program: p, Key: completes, Status: r.Status, Stderr: r.Stderr, Diag: r.TAP.Trailer})
		}
	}
	sort.SliceStable(gaps, func(i, j int) bool {
		if gaps[i].Program != gaps[j].Program {
			return gaps[i].Program < gaps[j].Program
		}
		return gaps[i].Key < gaps[j].Key
	})
	return gaps, checked
}

func writeGaps(w io.Writer, gaps []gap, ref, sub string) {
	if ref == "" {
		fmt.Fprintf(w, "\n%d assertions %s fails", len(gaps), sub)
	} else {
		fmt.Fprintf(w, "\n%d assertions %s passes and %s does not", len(gaps), ref, sub)
	}
	if len(gaps) == 0 {
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintln(w, ":")
	neverRan := map[string]int{}
	for _, g := range gaps {
		if g.Line == "" && g.Key != completes {
			neverRan[g.Program]++
		}
	}
	for _, g := range gaps {
		switch {
		case g.Key == completes:
			fmt.Fprintf(w, "  %s: %s: %s\n", g.Program, completes, g.Status)
			for _, l := range lastLines(g.Stderr+g.Diag, 6) {
				fmt.Fprintf(w, "      %s\n", l)
			}
		case g.Line == "":
			if n := neverRan[g.Program]; n > 3 || n < 0 {
				if n > 0 {
					fmt.Fprintf(w, "  %s: %d assertions never ran, from %q on\n", g.Program, n, g.Key)
					neverRan[g.Program] = -1
				}
				continue
			}
			fmt.Fprintf(w, "  %s: never ran: %s\n", g.Program, g.Key)
		default:
			fmt.Fprintf(w, "  %s: %s\n", g.Program, g.Line)
			for _, l := range lastLines(g.Diag, 8) {
				fmt.Fprintf(w, "      %s\n", l)
			}
		}
	}
}

func lastLines(s string, n int) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimRight(l, " "); l != "" {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = append([]string{"..."}, out[len(out)-n:]...)
	}
	return out
}

func writeJSON(path string, results map[string]*Result) {
	type jr struct {
		Program, Runtime, Status string
		Pass, Fail, Skip         int
		Seconds                  float64
		Leftover                 []string `json:",omitempty"`
		Assertions               []Assertion
	}
	var out []jr
	for _, r := range results {
		p, f, s := r.Counts()
		out = append(out, jr{r.Program, r.Runtime, r.Status, p, f, s, r.Duration.Seconds(), r.Leftover, r.TAP.Assertions})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Program != out[j].Program {
			return out[i].Program < out[j].Program
		}
		return out[i].Runtime < out[j].Runtime
	})
	b, _ := json.MarshalIndent(out, "", "  ")
	os.WriteFile(path, b, 0o644)
}

// knownGaps are the lines of an -expect file: "PROGRAM<TAB>ASSERTION",
// PROGRAM a glob, ASSERTION as the gap list prints it (numbers as N) or
// "*" for all of the program's.
type knownGaps [][2]string

func (k knownGaps) has(g gap) bool {
	for _, e := range k {
		if ok, _ := path.Match(e[0], g.Program); ok && (e[1] == "*" || e[1] == g.Key) {
			return true
		}
	}
	return false
}

func readExpect(file string) (knownGaps, error) {
	var known knownGaps
	if file == "" {
		return known, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	for i, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		prog, key, ok := strings.Cut(l, "\t")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want PROGRAM<TAB>ASSERTION", file, i+1)
		}
		known = append(known, [2]string{strings.TrimSpace(prog), strings.TrimSpace(key)})
	}
	return known, nil
}
