package integration

// Tests of --trace and HUSK_TRACE: the timeline of every step, the
// parent's and the container init's, in one Chrome trace-event file.
// Helpers start with "tr".

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// trEvent is a trace event as Perfetto reads it, decoded here without
// husk's own trace package, so that a bug in its reader cannot hide one
// in its writer.
type trEvent struct {
	Name string            `json:"name"`
	Cat  string            `json:"cat"`
	Ph   string            `json:"ph"`
	TS   int64             `json:"ts"`
	Dur  int64             `json:"dur"`
	Pid  int               `json:"pid"`
	Tid  int               `json:"tid"`
	Args map[string]string `json:"args"`
}

// trTrace is a decoded trace file.
type trTrace struct {
	events []trEvent
	procs  map[int]string // pid → process_name
}

// trRead decodes file, which must be the trace-event array form: "[",
// then one event per line, each followed by a comma, and no "]" (the
// format makes it optional, so that more husks can append).
func trRead(t *testing.T, file string) trTrace {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	if !strings.HasPrefix(s, "[\n") || !strings.HasSuffix(s, ",\n") {
		t.Fatalf("%s is not the open array form:\n%s", file, s)
	}
	tr := trTrace{procs: map[int]string{}}
	dec := json.NewDecoder(strings.NewReader(strings.TrimSuffix(s, ",\n") + "]"))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tr.events); err != nil {
		t.Fatalf("decoding %s: %v\n%s", file, err, s)
	}
	for _, e := range tr.events {
		switch e.Ph {
		case "M":
			if e.Name != "process_name" || e.Args["name"] == "" {
				t.Errorf("metadata event %+v", e)
			}
			if old, ok := tr.procs[e.Pid]; ok {
				t.Errorf("pid %d named twice: %q and %q", e.Pid, old, e.Args["name"])
			}
			tr.procs[e.Pid] = e.Args["name"]
		case "X":
			if e.Dur < 1 || e.Tid != e.Pid || e.Pid <= 1 || e.Cat != strings.Fields(e.Name)[0] {
				t.Errorf("span %+v: want a duration, tid = pid = a host pid, and the first word as category", e)
			}
		default:
			t.Errorf("event of phase %q: %+v", e.Ph, e)
		}
	}
	for _, e := range tr.events {
		if _, ok := tr.procs[e.Pid]; !ok {
			t.Errorf("event %+v of a pid without process_name", e)
		}
	}
	return tr
}

// pid returns the pid of the one process named name.
func (tr trTrace) pid(t *testing.T, name string) int {
	t.Helper()
	found := 0
	for pid, n := range tr.procs {
		if n == name {
			if found != 0 {
				t.Fatalf("two processes named %q: %v", name, tr.procs)
			}
			found = pid
		}
	}
	if found == 0 {
		t.Fatalf("no process named %q: %v", name, tr.procs)
	}
	return found
}

// span returns the first span of pid named name.
func (tr trTrace) span(pid int, name string) (trEvent, bool) {
	for _, e := range tr.events {
		if e.Ph == "X" && e.Pid == pid && e.Name == name {
			return e, true
		}
	}
	return trEvent{}, false
}

// want checks that pid has a span of each name.
func (tr trTrace) want(t *testing.T, pid int, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, ok := tr.span(pid, n); !ok {
			t.Errorf("no %q span in %s [%d]; it has: %s", n, tr.procs[pid], pid, strings.Join(tr.names(pid), ", "))
		}
	}
}

func (tr trTrace) names(pid int) []string {
	var out []string
	for _, e := range tr.events {
		if e.Ph == "X" && e.Pid == pid {
			out = append(out, e.Name)
		}
	}
	return out
}

// within checks that every span of pid lies inside outer, and, as the
// clocks of two processes can be compared only to the microsecond they
// were rounded to, allows 1 µs either side.
func (tr trTrace) within(t *testing.T, pid int, outer trEvent) {
	t.Helper()
	for _, e := range tr.events {
		if e.Ph == "X" && e.Pid == pid && (e.TS < outer.TS-1 || e.TS+e.Dur > outer.TS+outer.Dur+1) {
			t.Errorf("span %q [%d] (%d+%d) is outside %q (%d+%d)", e.Name, pid, e.TS, e.Dur, outer.Name, outer.TS, outer.Dur)
		}
	}
}

// wantLast checks that pid's span name ends last, to the microsecond
// that rounding each span's start and duration may add.
func (tr trTrace) wantLast(t *testing.T, pid int, name string) {
	t.Helper()
	last, ok := tr.span(pid, name)
	if !ok {
		t.Fatalf("no %q span in %d", name, pid)
	}
	for _, e := range tr.events {
		if e.Ph == "X" && e.Pid == pid && e.TS+e.Dur > last.TS+last.Dur+1 {
			t.Errorf("%q (%d+%d) ends after %q (%d+%d)", e.Name, e.TS, e.Dur, name, last.TS, last.Dur)
		}
	}
}

// trHusk runs husk with extra environment variables, its stdio in files
// (a container it leaves running inherits them), in dir if not empty.
func trHusk(e *env, dir string, envv []string, args ...string) result {
	e.t.Helper()
	cmd := exec.Command(huskBin, append([]string{"--root", e.root}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(trEnviron(), envv...)
	return e.runCmd(cmd, args)
}

// trEnviron is the test's environment without HUSK_TRACE, which a
// developer may have set.
func trEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HUSK_TRACE=") {
			env = append(env, kv)
		}
	}
	return env
}

// trMust is trHusk failing the test unless husk exits 0.
func trMust(e *env, envv []string, args ...string) string {
	e.t.Helper()
	r := trHusk(e, "", envv, args...)
	if r.Code != 0 {
		e.t.Fatalf("husk %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// trDenySend is a profile that denies sendmsg and sendto to the
// container: init's last spans, sent after the filter is on, must go
// through its exemption.
const trDenySend = `{"names":["sendmsg","sendto"],"action":"SCMP_ACT_ERRNO"}`

// TestTraceRun: `husk --trace FILE run` writes one well-formed file with
// the steps of husk run and of the container's init, each process named,
// init's spans inside run's, and init's "exec" last, right before execve.
func TestTraceRun(t *testing.T) {
	t.Parallel()
	e, b := newEnv(t), newBundle(t)
	withSeccomp(t, b, allowAllBut(trDenySend))
	b.Spec.Process.Args = []string{"sh", "-c", "echo ran; env"}
	b.save()
	file := filepath.Join(t.TempDir(), "trace.json")
	id := newID(t)
	before := time.Now().UnixMicro()
	r := trHusk(e, "", nil, "--trace", file, "run", "--bundle", b.Dir, id)
	after := time.Now().UnixMicro()
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "ran\n") {
		t.Fatalf("husk run: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	if strings.Contains(r.Stdout, "HUSK") {
		t.Errorf("husk's variables reached the container:\n%s", r.Stdout)
	}
	e.checkGone(id, b)

	tr := trRead(t, file)
	if len(tr.procs) != 2 {
		t.Fatalf("processes %v, want husk run and husk init", tr.procs)
	}
	run, init := tr.pid(t, "husk run"), tr.pid(t, "husk init")
	tr.want(t, run, "husk run", "create", "load config", "validate", "seccomp compile", "lock", "cgroup create",
		"clone", "wait ready", "cgroup set", "save state", "start", "wait exec", "wait for exit",
		"delete", "cgroup destroy", "remove state")
	tr.want(t, init, "init startup", "read bootstrap", "namespaces", "rootfs", "mount /proc", "mount /dev", "mount /sys", "devices", "pivot_root",
		"finish rootfs", "masked paths", "readonly paths", "prepare process", "rlimits", "user", "setuid",
		"capabilities", "lookup sh", "seccomp load", "exec")
	whole, _ := tr.span(run, "husk run")
	if whole.TS < before || whole.TS+whole.Dur > after {
		t.Errorf("husk run span %d+%d µs is outside the command's run %d..%d", whole.TS, whole.Dur, before, after)
	}
	tr.within(t, init, whole)
	// init startup: from the parent's clone to init's first step.
	clone, _ := tr.span(run, "clone")
	if got := clone.Args["new"]; got != "mnt pid net ipc uts cgroup" {
		t.Errorf("clone made namespaces %q, want the default config's", got)
	}
	startup, _ := tr.span(init, "init startup")
	if startup.TS < clone.TS || startup.TS > clone.TS+clone.Dur {
		t.Errorf("init startup %+v does not begin within the parent's clone %+v", startup, clone)
	}
	// Init prepares the container during create (it may begin before
	// the parent waits for it: the parent saves its pid first).
	create, _ := tr.span(run, "create")
	for _, n := range []string{"mount /proc", "pivot_root", "capabilities"} {
		if s, _ := tr.span(init, n); s.TS < create.TS || s.TS+s.Dur > create.TS+create.Dur+1 {
			t.Errorf("init's %q is not within the parent's create", n)
		}
	}
	// exec: the last of init's steps, started once start connected (init
	// goes on while start is still removing exec.sock), with the
	// filter's load inside it.
	exe, _ := tr.span(init, "exec")
	wait, _ := tr.span(run, "start")
	load, _ := tr.span(init, "seccomp load")
	tr.wantLast(t, init, "exec")
	if exe.TS < wait.TS || exe.TS+exe.Dur > wait.TS+wait.Dur+1 || load.TS < exe.TS || load.TS+load.Dur > exe.TS+exe.Dur+1 {
		t.Errorf("exec %+v not within start %+v, or seccomp load %+v not within exec", exe, wait, load)
	}
}

// TestTraceExec: HUSK_TRACE for husk exec records its steps and those of
// the init that joins the container, up to the filter's load and exec.
func TestTraceExec(t *testing.T) {
	t.Parallel()
	e, _, id, pid := execTarget(t, func(b *bundle) { withSeccomp(t, b, allowAllBut(trDenySend)) })
	file := filepath.Join(t.TempDir(), "trace.json")
	if out := trMust(e, []string{"HUSK_TRACE=" + file}, "exec", id, "sh", "-c", "echo in"); out != "in\n" {
		t.Errorf("exec printed %q", out)
	}
	tr := trRead(t, file)
	parent, init := tr.pid(t, "husk exec"), tr.pid(t, "husk init")
	if init == pid {
		t.Errorf("exec's init has the container's pid %d", pid)
	}
	tr.want(t, parent, "husk exec", "load state", "seccomp compile", "clone", "wait ready", "wait exec", "wait for exit")
	for _, ns := range []string{"net", "ipc", "uts"} {
		tr.want(t, parent, "setns /proc/"+strconv.Itoa(pid)+"/ns/"+ns)
	}
	tr.want(t, init, "init startup", "prepare process", "user", "capabilities", "lookup sh", "seccomp load", "exec")
	if _, ok := tr.span(init, "pivot_root"); ok {
		t.Errorf("exec's init pivoted: it joins the container's root")
	}
	whole, _ := tr.span(parent, "husk exec")
	tr.within(t, init, whole)
	// As root, a pid namespace to join is joined by an intermediate init,
	// which clones the real one: its spans come too, before its pid.
	mid := tr.pid(t, "husk init (intermediate)")
	tr.want(t, mid, "clone")
	tr.within(t, mid, whole)
	tr.wantLast(t, init, "exec")
}

// TestTraceLifecycle: create, start and delete append to one file; the
// spans init sends husk start after start (exec) are under init's pid.
func TestTraceLifecycle(t *testing.T) {
	t.Parallel()
	e, b := newEnv(t), newBundle(t)
	b.Spec.Process.Args = []string{"sleep", "100"}
	b.save()
	id := newID(t)
	lcCleanup(e, id)
	file := filepath.Join(t.TempDir(), "trace.json")
	tracing := []string{"HUSK_TRACE=" + file}
	trMust(e, tracing, "create", "--bundle", b.Dir, id)
	pid := lcPid(e, id)
	trMust(e, tracing, "start", id)
	trMust(e, tracing, "delete", "--force", id)
	e.checkGone(id, b)

	tr := trRead(t, file)
	if len(tr.procs) != 4 {
		t.Errorf("processes %v, want husk create, start, delete and init", tr.procs)
	}
	if got := tr.pid(t, "husk init"); got != pid {
		t.Errorf("init's spans are under pid %d, the container's init is %d", got, pid)
	}
	create, start, del := tr.pid(t, "husk create"), tr.pid(t, "husk start"), tr.pid(t, "husk delete")
	tr.want(t, create, "husk create", "create", "load config", "clone", "wait ready")
	tr.want(t, start, "husk start", "load state", "start", "wait exec")
	tr.want(t, del, "husk delete", "delete", "kill", "cgroup destroy", "remove state")
	tr.want(t, pid, "mount /proc", "pivot_root", "capabilities", "lookup sleep", "exec")
	if _, ok := tr.span(pid, "seccomp load"); ok {
		t.Errorf("a seccomp load span without a profile")
	}
	exe, _ := tr.span(pid, "exec")
	s, _ := tr.span(start, "husk start")
	if exe.TS < s.TS || exe.TS+exe.Dur > s.TS+s.Dur+1 {
		t.Errorf("init's exec %+v is not within husk start %+v", exe, s)
	}
}

// TestTraceFailedCreate: a create that fails in init still writes the
// steps up to the failure, init's too.
func TestTraceFailedCreate(t *testing.T) {
	t.Parallel()
	e, b := newEnv(t), newBundle(t)
	b.Spec.Process.Args = []string{"nosuch"}
	b.save()
	id := newID(t)
	file := filepath.Join(t.TempDir(), "trace.json")
	r := trHusk(e, "", nil, "--trace", file, "run", "--bundle", b.Dir, id)
	if r.Code != 1 || !strings.Contains(r.Stderr, "executable file not found") {
		t.Fatalf("husk run: exit %d, stderr %q", r.Code, r.Stderr)
	}
	e.checkGone(id, b)
	tr := trRead(t, file)
	tr.want(t, tr.pid(t, "husk run"), "husk run", "create", "wait ready")
	init := tr.pid(t, "husk init")
	tr.want(t, init, "pivot_root", "lookup nosuch")
	if _, ok := tr.span(init, "exec"); ok {
		t.Errorf("an exec span in an init that failed before start")
	}
}

// TestTraceSummary: husk trace summary prints the slowest steps, slowest
// first, with or without the array's closing bracket.
func TestTraceSummary(t *testing.T) {
	t.Parallel()
	e, b := newEnv(t), newBundle(t)
	file := filepath.Join(t.TempDir(), "trace.json")
	trMust(e, []string{"HUSK_TRACE=" + file}, "run", "--bundle", b.Dir, newID(t))

	rows := trSummary(t, e, "trace", "summary", "--top", "0", file)
	if len(rows) < 30 {
		t.Fatalf("%d rows, want one per span", len(rows))
	}
	if rows[0].step != "husk run" || rows[0].process != "husk run" {
		t.Errorf("slowest step is %+v, want the whole husk run", rows[0])
	}
	steps := map[string]bool{}
	for i, r := range rows {
		steps[r.step] = true
		if i > 0 && r.total > rows[i-1].total {
			t.Errorf("row %d (%d µs) after row %d (%d µs): not sorted by duration", i, r.total, i-1, rows[i-1].total)
		}
		if r.self > r.total || r.self < 0 {
			t.Errorf("row %+v: self time outside 0..total", r)
		}
	}
	for _, s := range []string{"clone", "mount /proc", "pivot_root", "exec"} {
		if !steps[s] {
			t.Errorf("no %q row", s)
		}
	}
	if top := trSummary(t, e, "trace", "summary", "--top", "5", file); len(top) != 5 || top[4] != rows[4] {
		t.Errorf("--top 5 = %+v, want the first 5 of %+v", top, rows[:5])
	}
	bySelf := trSummary(t, e, "trace", "summary", "--self", file)
	for i := 1; i < len(bySelf); i++ {
		if bySelf[i].self > bySelf[i-1].self {
			t.Errorf("--self: row %d not sorted by self time: %+v", i, bySelf)
		}
	}
	// The closing bracket is optional: with it, the same table.
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("]\n")
	f.Close()
	if again := trSummary(t, e, "trace", "summary", "--top", "0", file); len(again) != len(rows) {
		t.Errorf("with ]: %d rows, without: %d", len(again), len(rows))
	}
	r := trHusk(e, "", nil, "trace", "summary", filepath.Join(t.TempDir(), "none.json"))
	if r.Code != 1 || !strings.Contains(r.Stderr, "reading trace") {
		t.Errorf("summary of a missing file: exit %d, stderr %q", r.Code, r.Stderr)
	}
}

// trRowRE is a summary row: total µs, self µs, at ms, process [pid], step.
var trRowRE = regexp.MustCompile(`^ *(\d+) +(-?\d+) +\d+\.\d{3}  (.+?) \[\d+\] +(\S.*)$`)

type trRow struct {
	total, self int64
	process     string
	step        string
}

// trSummary runs husk (a summary command) and parses its table.
func trSummary(t *testing.T, e *env, args ...string) []trRow {
	t.Helper()
	lines := strings.Split(strings.TrimRight(trMust(e, nil, args...), "\n"), "\n")
	if len(lines) < 2 || !strings.Contains(lines[0], " spans in ") || !strings.HasPrefix(strings.TrimSpace(lines[1]), "total µs") {
		t.Fatalf("summary header:\n%s", strings.Join(lines, "\n"))
	}
	var rows []trRow
	for _, l := range lines[2:] {
		m := trRowRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("summary row %q", l)
		}
		total, _ := strconv.ParseInt(m[1], 10, 64)
		self, _ := strconv.ParseInt(m[2], 10, 64)
		rows = append(rows, trRow{total: total, self: self, process: m[3], step: m[4]})
	}
	return rows
}

// TestTraceOff: without --trace or HUSK_TRACE husk writes no trace, and
// an empty HUSK_TRACE is off.
func TestTraceOff(t *testing.T) {
	t.Parallel()
	e, b := newEnv(t), newBundle(t)
	dir := t.TempDir()
	for _, envv := range [][]string{nil, {"HUSK_TRACE="}} {
		id := newID(t)
		if r := trHusk(e, dir, envv, "run", "--bundle", b.Dir, id); r.Code != 0 {
			t.Fatalf("husk run: exit %d, stderr %q", r.Code, r.Stderr)
		}
		e.checkGone(id, b)
	}
	if names := fsEntries(t, dir); len(names) != 0 {
		t.Errorf("husk left %v in its working directory", names)
	}
	if names := fsEntries(t, e.root); len(names) != 0 {
		t.Errorf("husk left %v in its state root", names)
	}
}
