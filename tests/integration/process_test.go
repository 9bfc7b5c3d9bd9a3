package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// procMustRun fails the test unless r is a zero exit.
func procMustRun(t *testing.T, r result) string {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("container exited %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// procHasCap reports whether the test (and so husk) has capability bit n
// in its effective set; this machine's root may lack some.
func procHasCap(t *testing.T, n uint) bool {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	eff, err := strconv.ParseUint(nsStatusField(t, string(status), "CapEff"), 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	return eff&(1<<n) != 0
}

const procCapSysResource = 24

// TestProcessArgs: process.args reach the program verbatim: no word
// splitting, globbing or expansion, empty arguments kept.
func TestProcessArgs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	out := procMustRun(t, first(nsRunArgs(e, b, "sh", "-c", `for a in "$0" "$@"; do echo "[$a]"; done`,
		"zero", "a b", "", "$HOME", "*", "two\nlines", "--")))
	want := "[zero]\n[a b]\n[]\n[$HOME]\n[*]\n[two\nlines]\n[--]\n"
	if out != want {
		t.Errorf("args seen:\n%s\nwant:\n%s", out, want)
	}
	// An absolute path, not looked up in PATH.
	out = procMustRun(t, first(nsRunArgs(e, b, "/bin/echo", "absolute")))
	if out != "absolute\n" {
		t.Errorf("/bin/echo printed %q", out)
	}
}

func first(r result, _ string) result { return r }

// procEnvironScript prints the entrypoint's environment exactly as it
// was exec'd: /proc/1/environ of the container's pid 1, the shell.
// A pipeline, so the shell stays pid 1: a lone command would be exec'd
// by sh, and /proc/1/environ opened before that exec reads as empty.
const procEnvironScript = `cat /proc/1/environ | tr '\0' '\n'`

// TestProcessEnv: the entrypoint's environment is process.env plus HOME
// from the container's /etc/passwd (or "/") when env lacks it, and
// nothing of husk's own.
func TestProcessEnv(t *testing.T) {
	t.Parallel()
	base := []string{"PATH=/bin:/usr/bin", "FOO=bar", "EMPTY=", "EQ=a=b=c", "SPACE=x y"}
	for _, tc := range []struct {
		name string
		uid  uint32
		env  []string
		home string // the HOME expected in addition to env, or ""
	}{
		{"root", 0, base, "HOME=/root"},
		{"user 1000", 1000, base, "HOME=/home/user"},
		{"uid not in passwd", 4242, base, "HOME=/"},
		{"HOME set", 1000, append([]string{"HOME=/custom"}, base...), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Process.Env = tc.env
			b.Spec.Process.User = specs.User{UID: tc.uid, GID: tc.uid}
			out := procMustRun(t, first(nsRunScript(e, b, procEnvironScript)))
			got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			want := append([]string{}, tc.env...)
			if tc.home != "" {
				want = append(want, tc.home)
			}
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("entrypoint's environment:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestProcessCwd: the entrypoint starts in process.cwd, created when
// missing (even with a read-only root); a relative cwd is refused.
func TestProcessCwd(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		cwd      string
		readonly bool
	}{
		{"existing", "/tmp", true},
		{"missing", "/srv/app/data", false},
		{"missing read-only root", "/srv/app/data", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Process.Cwd = tc.cwd
			b.Spec.Root.Readonly = tc.readonly
			out := procMustRun(t, first(nsRunScript(e, b, `readlink /proc/$$/cwd`)))
			if out != tc.cwd+"\n" {
				t.Errorf("entrypoint's cwd: %q, want %q", out, tc.cwd)
			}
		})
	}
	t.Run("relative", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := newBundle(t)
		b.Spec.Process.Cwd = "tmp"
		nsExpectFailure(t, e, b, `process.cwd: "tmp": must be an absolute path`)
	})
}

// TestProcessExitStatus: `husk run` exits with the container process's
// status, or 128+N when a signal N killed it.
func TestProcessExitStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"exit 255", 255},
		{"kill -KILL $$", 128 + 9},
		{"kill -TERM $$", 128 + 15},
		{"kill -SEGV $$", 128 + 11},
	} {
		t.Run(tc.script, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			// pid 1 of a pid namespace cannot be killed from inside.
			nsRemove(b.Spec, specs.PIDNamespace)
			r, _ := nsRunScript(e, b, tc.script)
			if r.Code != tc.want {
				t.Errorf("husk run exited %d, want %d\nstderr: %s", r.Code, tc.want, r.Stderr)
			}
		})
	}
}

// TestProcessKilledFromOutside: `husk kill ID KILL` ends a foreground
// `husk run` with 137; a signal sent to `husk run` itself is forwarded
// (SIGHUP kills sleep: 129).
func TestProcessKilledFromOutside(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		want int
	}{
		{"husk kill", 128 + 9},
		{"forwarded", 128 + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Process.Args = []string{"sleep", "1000"}
			if tc.name == "forwarded" {
				// pid 1 of a pid namespace ignores SIGHUP: it has no handler.
				nsRemove(b.Spec, specs.PIDNamespace)
			}
			b.save()
			id := newID(t)
			cmd := exec.Command(huskBin, "--root", e.root, "run", "--bundle", b.Dir, id)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				cmd.Process.Kill()
				e.husk("delete", "--force", id)
			})
			running := waitFor(10*time.Second, func() bool {
				r := e.husk("state", id)
				return r.Code == 0 && strings.Contains(r.Stdout, `"running"`)
			})
			if !running {
				t.Fatalf("container %s never ran", id)
			}
			if tc.name == "husk kill" {
				e.mustHusk("kill", id, "KILL")
			} else {
				cmd.Process.Signal(syscall.SIGHUP)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("husk run did not return after the signal")
			}
			if got := cmd.ProcessState.ExitCode(); got != tc.want {
				t.Errorf("husk run exited %d, want %d", got, tc.want)
			}
			e.checkGone(id, b)
		})
	}
}

// TestProcessUser: process.user's uid, gid and additionalGids are the
// process's credentials, and umask its file mode creation mask.
func TestProcessUser(t *testing.T) {
	t.Parallel()
	mask := func(m uint32) *uint32 { return &m }
	for _, tc := range []struct {
		name                    string
		user                    specs.User
		uid, gid, groups, umask string
		fileMode                string
	}{
		{"root default", specs.User{}, "0", "0", "", "0022", "644"},
		{"user with groups", specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{65534, 5, 100}}, "1000", "1000", "5 100 65534", "0022", "644"},
		{"ids without passwd entry", specs.User{UID: 4242, GID: 4343}, "4242", "4343", "", "0022", "644"},
		{"umask 027", specs.User{UID: 1000, GID: 1000, Umask: mask(0o027)}, "1000", "1000", "", "0027", "640"},
		{"umask 0", specs.User{Umask: mask(0)}, "0", "0", "", "0000", "666"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Process.User = tc.user
			out := procMustRun(t, first(nsRunScript(e, b, `cat /proc/self/status; echo ==; touch /dev/shm/f && stat -c %a /dev/shm/f`)))
			status, mode, _ := strings.Cut(out, "==\n")
			for _, f := range []struct{ key, want string }{
				{"Uid", strings.Repeat(tc.uid+" ", 3) + tc.uid},
				{"Gid", strings.Repeat(tc.gid+" ", 3) + tc.gid},
				{"Groups", tc.groups},
				{"Umask", tc.umask},
			} {
				if got := nsStatusField(t, status, f.key); got != f.want {
					t.Errorf("%s: %q, want %q", f.key, got, f.want)
				}
			}
			if mode != tc.fileMode+"\n" {
				t.Errorf("new file's mode: %q, want %s", mode, tc.fileMode)
			}
		})
	}
}

// procCapNumbers are the capability numbers of linux/capability.h the
// tests use (kept here, not taken from husk).
var procCapNumbers = map[string]uint{
	"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_KILL": 5, "CAP_NET_BIND_SERVICE": 10,
	"CAP_NET_RAW": 13, "CAP_SYS_ADMIN": 21, "CAP_AUDIT_READ": 37,
}

// procCapHex is the /proc/PID/status rendering of a set of capabilities.
func procCapHex(names ...string) string {
	var m uint64
	for _, n := range names {
		bit, ok := procCapNumbers[n]
		if !ok {
			panic("add " + n + " to procCapNumbers")
		}
		m |= 1 << bit
	}
	return fmt.Sprintf("%016x", m)
}

// TestProcessCapabilities checks the five capability sets as the kernel
// reports them for the running entrypoint. execve recomputes permitted
// and effective (capabilities(7)): for root they become bounding ∪
// inheritable, capped at the permitted set husk set when no_new_privs is
// on; for any other uid they are exactly the ambient set.
func TestProcessCapabilities(t *testing.T) {
	t.Parallel()
	rootCaps := &specs.LinuxCapabilities{
		Bounding:    []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN", "CAP_AUDIT_READ"},
		Effective:   []string{"CAP_CHOWN", "CAP_KILL"},
		Permitted:   []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
		Inheritable: []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
		Ambient:     []string{"CAP_NET_BIND_SERVICE"},
	}
	userCaps := &specs.LinuxCapabilities{
		Bounding:    []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "cap_net_raw"},
		Effective:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"},
		Permitted:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"},
		Inheritable: []string{"CAP_NET_BIND_SERVICE", "CAP_NET_RAW"},
		Ambient:     []string{"CAP_NET_BIND_SERVICE", "CAP_NET_RAW"},
	}
	userNoAmbient := *userCaps
	userNoAmbient.Ambient = nil
	for _, tc := range []struct {
		name                    string
		uid                     uint32
		nnp                     bool
		caps                    *specs.LinuxCapabilities
		bnd, eff, prm, inh, amb string
	}{
		{"root nnp", 0, true, rootCaps,
			procCapHex(rootCaps.Bounding...), procCapHex(rootCaps.Permitted...), procCapHex(rootCaps.Permitted...),
			procCapHex(rootCaps.Inheritable...), procCapHex(rootCaps.Ambient...)},
		{"root", 0, false, rootCaps,
			procCapHex(rootCaps.Bounding...), procCapHex(rootCaps.Bounding...), procCapHex(rootCaps.Bounding...),
			procCapHex(rootCaps.Inheritable...), procCapHex(rootCaps.Ambient...)},
		{"uid 1000 ambient", 1000, true, userCaps,
			procCapHex("CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"),
			procCapHex(userCaps.Ambient...), procCapHex(userCaps.Ambient...),
			procCapHex(userCaps.Inheritable...), procCapHex(userCaps.Ambient...)},
		{"uid 1000 no ambient", 1000, false, &userNoAmbient,
			procCapHex("CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"),
			procCapHex(), procCapHex(), procCapHex(userCaps.Inheritable...), procCapHex()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Process.User = specs.User{UID: tc.uid, GID: tc.uid}
			b.Spec.Process.NoNewPrivileges = tc.nnp
			b.Spec.Process.Capabilities = tc.caps
			status := procMustRun(t, first(nsRunScript(e, b, `cat /proc/self/status`)))
			for _, f := range []struct{ key, want string }{
				{"CapBnd", tc.bnd}, {"CapEff", tc.eff}, {"CapPrm", tc.prm}, {"CapInh", tc.inh}, {"CapAmb", tc.amb},
			} {
				if got := nsStatusField(t, status, f.key); got != f.want {
					t.Errorf("%s: %s, want %s", f.key, got, f.want)
				}
			}
		})
	}
}

// TestProcessCapabilitiesUnknown: a name that is no capability fails
// create, naming the set and index, and leaves nothing behind.
func TestProcessCapabilitiesUnknown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		set  func(c *specs.LinuxCapabilities)
		want string
	}{
		{"bounding", func(c *specs.LinuxCapabilities) { c.Bounding = []string{"CAP_CHOWN", "CAP_FOO"} },
			`process.capabilities.bounding[1]: "CAP_FOO": unknown capability`},
		{"ambient", func(c *specs.LinuxCapabilities) { c.Ambient = []string{"NET_ADMIN"} },
			`process.capabilities.ambient[0]: "NET_ADMIN": unknown capability`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			tc.set(b.Spec.Process.Capabilities)
			nsExpectFailureOf(t, e, b, "create", tc.want)
		})
	}
}

// procLimits parses /proc/PID/limits into "Limit name" → "soft hard".
func procLimits(t *testing.T, content string) map[string]string {
	t.Helper()
	re := regexp.MustCompile(`^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)`)
	out := map[string]string{}
	for _, line := range strings.Split(content, "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			out[m[1]] = m[2] + " " + m[3]
		}
	}
	if len(out) < 10 {
		t.Fatalf("could not parse limits:\n%s", content)
	}
	return out
}

// TestProcessRlimits: process.rlimits are the entrypoint's soft and hard
// limits, including raising a hard limit above husk's own.
func TestProcessRlimits(t *testing.T) {
	t.Parallel()
	const inf = ^uint64(0)
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Process.Rlimits = []specs.POSIXRlimit{
		{Type: "RLIMIT_NOFILE", Soft: 1234, Hard: 2345},
		{Type: "RLIMIT_NPROC", Soft: 111, Hard: 222},
		{Type: "RLIMIT_CORE", Soft: 0, Hard: inf},
		{Type: "RLIMIT_MSGQUEUE", Soft: 4096, Hard: 8192},
	}
	limits := procLimits(t, procMustRun(t, first(nsRunScript(e, b, `cat /proc/self/limits`))))
	for name, want := range map[string]string{
		"Max open files":     "1234 2345",
		"Max processes":      "111 222",
		"Max core file size": "0 unlimited",
		"Max msgqueue size":  "4096 8192",
	} {
		if limits[name] != want {
			t.Errorf("%s: %q, want %q", name, limits[name], want)
		}
	}

	// A hard limit above the caller's: root may raise it.
	var own syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &own); err != nil {
		t.Fatal(err)
	}
	nrOpen, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		t.Fatal(err)
	}
	high, _ := strconv.ParseUint(strings.TrimSpace(string(nrOpen)), 10, 64)
	if high <= own.Max {
		t.Logf("nr_open %d is not above the test's hard limit %d: raising not checked", high, own.Max)
		return
	}
	b.Spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 100, Hard: high}}
	if !procHasCap(t, procCapSysResource) {
		// Without CAP_SYS_RESOURCE the kernel refuses: create must fail
		// with the reason and leave nothing.
		nsExpectFailure(t, e, b, fmt.Sprintf("setting rlimits: setting RLIMIT_NOFILE to 100/%d: operation not permitted", high))
		return
	}
	limits = procLimits(t, procMustRun(t, first(nsRunScript(e, b, `cat /proc/self/limits`))))
	if want := fmt.Sprintf("100 %d", high); limits["Max open files"] != want {
		t.Errorf("raised NOFILE: %q, want %q", limits["Max open files"], want)
	}
}

// TestProcessRlimitsValidation: bad rlimits are refused with their path.
func TestProcessRlimitsValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		rlimits []specs.POSIXRlimit
		want    string
	}{
		{"unknown type", []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1, Hard: 1}, {Type: "RLIMIT_FOO", Soft: 1, Hard: 1}},
			`process.rlimits[1].type: "RLIMIT_FOO": unknown rlimit`},
		{"soft above hard", []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 10, Hard: 5}},
			`process.rlimits[0]: RLIMIT_NOFILE: soft limit 10 is above hard limit 5`},
		{"twice", []specs.POSIXRlimit{{Type: "RLIMIT_NPROC", Soft: 1, Hard: 1}, {Type: "RLIMIT_NPROC", Soft: 2, Hard: 2}},
			`process.rlimits[1].type: RLIMIT_NPROC: given twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Process.Rlimits = tc.rlimits
			nsExpectFailure(t, e, b, tc.want)
		})
	}
}

// TestProcessNoNewPrivileges: process.noNewPrivileges is the process's
// no_new_privs bit.
func TestProcessNoNewPrivileges(t *testing.T) {
	t.Parallel()
	for _, nnp := range []bool{true, false} {
		t.Run(fmt.Sprint(nnp), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Process.NoNewPrivileges = nnp
			status := procMustRun(t, first(nsRunScript(e, b, `cat /proc/self/status`)))
			want := map[bool]string{true: "1", false: "0"}[nnp]
			if got := nsStatusField(t, status, "NoNewPrivs"); got != want {
				t.Errorf("NoNewPrivs: %s, want %s", got, want)
			}
		})
	}
}

// TestProcessOOMScoreAdj: process.oomScoreAdj is the process's
// oom_score_adj (raised or lowered); unset, it is inherited; out of range
// it is refused.
func TestProcessOOMScoreAdj(t *testing.T) {
	t.Parallel()
	own, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		t.Fatal(err)
	}
	adj := func(v int) *int { return &v }
	for _, tc := range []struct {
		name string
		adj  *int
		want string
	}{
		{"raised", adj(500), "500"},
		{"lowered", adj(-400), "-400"},
		{"unset", nil, strings.TrimSpace(string(own))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Process.OOMScoreAdj = tc.adj
			if tc.name == "lowered" && !procHasCap(t, procCapSysResource) {
				// Going below the inherited value needs CAP_SYS_RESOURCE:
				// create must fail with the reason and leave nothing.
				nsExpectFailure(t, e, b, "setting oom_score_adj: writing -400: write /proc/self/oom_score_adj: permission denied")
				return
			}
			out := procMustRun(t, first(nsRunScript(e, b, `cat /proc/self/oom_score_adj`)))
			if out != tc.want+"\n" {
				t.Errorf("oom_score_adj: %q, want %s", out, tc.want)
			}
		})
	}
	t.Run("out of range", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := newBundle(t)
		b.Spec.Process.OOMScoreAdj = adj(1001)
		nsExpectFailure(t, e, b, "process.oomScoreAdj: 1001: must be between -1000 and 1000")
	})
}

// TestProcessStdio: stdin piped into `husk run` is the container's
// stdin; its stdout and stderr come back separately.
func TestProcessStdio(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Process.Args = []string{"sh", "-c", "cat; echo to-stdout; echo to-stderr >&2"}
	b.save()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	input := strings.Repeat("line of input\n", 10000) // more than a pipe buffer
	go func() {
		w.WriteString(input)
		w.Close()
	}()
	id := newID(t)
	res := e.huskIn(r, "run", "--bundle", b.Dir, id)
	r.Close()
	if res.Code != 0 {
		t.Fatalf("exit %d\nstderr: %s", res.Code, res.Stderr)
	}
	if res.Stdout != input+"to-stdout\n" {
		t.Errorf("stdout: %d bytes ending %q, want the input (%d bytes) then to-stdout", len(res.Stdout), res.Stdout[max(0, len(res.Stdout)-40):], len(input))
	}
	if res.Stderr != "to-stderr\n" {
		t.Errorf("stderr: %q, want %q", res.Stderr, "to-stderr\n")
	}
	e.checkGone(id, b)
}

// procFDs parses `ls -l /proc/self/fd` into fd → target. ls reads the
// links after closing the directory it listed, so that fd (the lowest
// free one when ls started) is listed with no target ("").
func procFDs(t *testing.T, out string) map[string]string {
	t.Helper()
	fds := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(line, "l") {
			continue // "total 0"
		}
		left, target, _ := strings.Cut(line, " -> ")
		f := strings.Fields(left)
		fds[f[len(f)-1]] = target
	}
	return fds
}

// TestProcessFDs: only stdio and the fds passed on purpose reach the
// container. The test hands husk extra files as fds 3 and 4; `ls -l
// /proc/self/fd` inside lists stdio, the passed fds, and the directory
// ls itself opened (the lowest free fd, hence the last one).
func TestProcessFDs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var paths []string
	for i, content := range []string{"first passed file\n", "second passed file\n"} {
		p := filepath.Join(dir, fmt.Sprintf("passed%d", i+3))
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	// open gives each subtest its own open files: a shared one would
	// share its offset, and the first cat would leave EOF to the others.
	open := func(t *testing.T, n int) []*os.File {
		var files []*os.File
		for _, p := range paths[:n] {
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			files = append(files, f)
		}
		return files
	}
	lsDir := regexp.MustCompile(`^/proc/\d+/fd$`)
	for _, tc := range []struct {
		name    string
		extra   int // files handed to husk as fds 3...
		env     []string
		args    []string
		passed  int    // fds from 3 that must reach the container
		content string // what `cat <&3` must print
		listen  bool   // LISTEN_FDS and LISTEN_PID expected in the environment
	}{
		{"plain", 0, nil, nil, 0, "", false},
		{"extra fds not passed", 2, nil, nil, 0, "", false},
		{"preserve-fds 1", 1, nil, []string{"--preserve-fds", "1"}, 1, "first passed file\n", false},
		{"preserve-fds 1 of 2", 2, nil, []string{"--preserve-fds", "1"}, 1, "first passed file\n", false},
		{"preserve-fds 2", 2, nil, []string{"--preserve-fds", "2"}, 2, "first passed file\n", false},
		{"LISTEN_FDS", 1, []string{"LISTEN_FDS=1"}, nil, 1, "first passed file\n", true},
		{"LISTEN_FDS and preserve-fds", 2, []string{"LISTEN_FDS=1"}, []string{"--preserve-fds", "1"}, 2, "first passed file\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Process.Args = []string{"sh", "-c", `ls -l /proc/self/fd; echo ==; cat <&3 2>/dev/null; echo ==; tr '\0' '\n' < /proc/1/environ | grep ^LISTEN_; true`}
			b.save()
			id := newID(t)
			args := append(append([]string{"run"}, tc.args...), "--bundle", b.Dir, id)
			r := nsHusk(e, open(t, tc.extra), tc.env, args...)
			parts := strings.Split(r.Stdout, "==\n")
			if len(parts) != 3 {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
			}
			fds := procFDs(t, parts[0])
			want := 3 + tc.passed + 1
			if len(fds) != want {
				t.Errorf("fds inside: %v, want 0-%d", fds, want-1)
			}
			for fd := 0; fd < want; fd++ {
				target, ok := fds[strconv.Itoa(fd)]
				switch {
				case !ok:
					t.Errorf("fd %d missing: %v", fd, fds)
				case fd >= 3 && fd < 3+tc.passed && !strings.HasSuffix(target, fmt.Sprintf("/passed%d", fd)):
					t.Errorf("fd %d is %s, want the passed file passed%d", fd, target, fd)
				case fd == want-1 && target != "" && !lsDir.MatchString(target):
					t.Errorf("fd %d is %s, want ls's own /proc/N/fd (gone by the time ls reads it)", fd, target)
				case fd < want-1 && target == "":
					t.Errorf("fd %d has no target: %v", fd, fds)
				}
			}
			if parts[1] != tc.content {
				t.Errorf("cat <&3: %q, want %q", parts[1], tc.content)
			}
			wantEnv := ""
			if tc.listen {
				wantEnv = "LISTEN_FDS=1\nLISTEN_PID=1\n"
			}
			if parts[2] != wantEnv {
				t.Errorf("LISTEN_ variables: %q, want %q", parts[2], wantEnv)
			}
			e.checkGone(id, b)
		})
	}
}
