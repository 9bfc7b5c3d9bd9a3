package integration

// linux.seccomp, checked from inside real containers: what a filtered
// syscall returns, how a killed process ends, what the kernel logs, that
// Docker's default profile runs a shell, the notify handover to an agent,
// exec'd processes, and profiles refused before anything is made.

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// testdata is the path of a fixture, found from this source file: the
// test binary may run elsewhere (make vmtest runs it from the top).
func testdata(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", name)
}

// withSeccomp sets b's linux.seccomp from JSON, and makes its root
// writable: the tests make directories and leave their output there.
func withSeccomp(t *testing.T, b *bundle, profile string) {
	t.Helper()
	b.Spec.Root.Readonly = false
	b.Spec.Linux.Seccomp = new(specs.LinuxSeccomp)
	if err := json.Unmarshal([]byte(profile), b.Spec.Linux.Seccomp); err != nil {
		t.Fatalf("%s: %v", profile, err)
	}
}

// allowAllBut is a profile that allows everything but rules.
func allowAllBut(rules ...string) string {
	return `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[` + strings.Join(rules, ",") + `]}`
}

const mkdirRule = `"names":["mkdir","mkdirat"]`

// TestSeccompErrno: a blocked syscall fails with EPERM, or with the
// rule's errnoRet; the others work.
func TestSeccompErrno(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, rule, want string }{
		{"EPERM", `{` + mkdirRule + `,"action":"SCMP_ACT_ERRNO"}`, "Operation not permitted"},
		{"errnoRet", `{` + mkdirRule + `,"action":"SCMP_ACT_ERRNO","errnoRet":122}`, "Disk quota exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, b := newEnv(t), newBundle(t)
			withSeccomp(t, b, allowAllBut(tc.rule))
			out := e.runIn(b, "grep Seccomp: /proc/self/status; mkdir /tmp/blocked 2>&1; echo rc=$?; touch /tmp/file && echo touched")
			for _, want := range []string{"Seccomp:\t2", tc.want, "rc=1", "touched"} {
				if !strings.Contains(out, want) {
					t.Errorf("want %q in:\n%s", want, out)
				}
			}
			if _, err := os.Stat(filepath.Join(b.rootfs(), "tmp", "blocked")); err == nil {
				t.Errorf("the blocked mkdir made its directory")
			}
		})
	}
}

// TestSeccompKill: the kill actions and TRAP end the process with SIGSYS
// (husk run exits 128+31); TRACE without a tracer fails with ENOSYS; and,
// as a control, a rule that does not match lets mkdir work.
func TestSeccompKill(t *testing.T) {
	t.Parallel()
	for _, action := range []string{"SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW"} {
		t.Run(action, func(t *testing.T) {
			t.Parallel()
			e, b := newEnv(t), newBundle(t)
			rule := `{` + mkdirRule + `,"action":"` + action + `"}`
			if action == "SCMP_ACT_ALLOW" {
				rule = `{` + mkdirRule + `,"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":123,"op":"SCMP_CMP_EQ"}]}`
			}
			withSeccomp(t, b, allowAllBut(rule))
			b.Spec.Process.Args = []string{"mkdir", "/tmp/x"}
			b.save()
			id := newID(t)
			r := e.husk("run", "--bundle", b.Dir, id)
			_, err := os.Stat(filepath.Join(b.rootfs(), "tmp", "x"))
			switch action {
			case "SCMP_ACT_ALLOW":
				if r.Code != 0 || err != nil {
					t.Errorf("allowed mkdir: exit %d (%s), dir: %v", r.Code, r.Stderr, err)
				}
			case "SCMP_ACT_TRACE":
				if r.Code != 1 || !strings.Contains(r.Stderr, "Function not implemented") || err == nil {
					t.Errorf("traced mkdir without a tracer: exit %d, %q, want ENOSYS", r.Code, r.Stderr)
				}
			default:
				if r.Code != 128+int(unix.SIGSYS) || err == nil {
					t.Errorf("exit %d (stderr %q), want %d (SIGSYS); dir made: %v", r.Code, r.Stderr, 128+int(unix.SIGSYS), err == nil)
				}
			}
			e.checkGone(id, b)
		})
	}
}

// auditToKmsg reports whether the kernel's audit records, SCMP_ACT_LOG's
// among them, reach the kernel log: not with audit=0 on the kernel's
// command line, nor when an audit daemon takes them.
func auditToKmsg() (bool, string) {
	cmdline, _ := os.ReadFile("/proc/cmdline")
	for _, f := range strings.Fields(string(cmdline)) {
		if f == "audit=0" || f == "audit=off" {
			return false, "the kernel runs with " + f
		}
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_AUDIT)
	if err != nil {
		return true, "" // no audit netlink, so no daemon either
	}
	defer unix.Close(fd)
	const auditGet = 1000 // AUDIT_GET
	req := make([]byte, unix.NLMSG_HDRLEN)
	*(*unix.NlMsghdr)(unsafe.Pointer(&req[0])) = unix.NlMsghdr{Len: unix.NLMSG_HDRLEN, Type: auditGet, Flags: unix.NLM_F_REQUEST, Seq: 1}
	buf := make([]byte, 4096)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return true, ""
	}
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return true, ""
	}
	// struct audit_status: mask, enabled, failure, pid, ...
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err == nil && len(msgs) > 0 && msgs[0].Header.Type == auditGet && len(msgs[0].Data) >= 16 {
		if pid := binary.NativeEndian.Uint32(msgs[0].Data[12:]); pid != 0 {
			return false, fmt.Sprintf("audit daemon %d takes the records", pid)
		}
	}
	return true, ""
}

// kmsgTail opens /dev/kmsg at its end. The fd is raw: os.File would
// park a non-blocking read in the poller rather than return EAGAIN.
func kmsgTail(t *testing.T) int {
	t.Helper()
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("cannot read the kernel log: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if _, err := unix.Seek(fd, 0, 2); err != nil {
		t.Skipf("cannot seek /dev/kmsg: %v", err)
	}
	return fd
}

// auditLines waits briefly for the kernel's seccomp audit records of
// comm, one record per read.
func auditLines(fd int, comm string, want int) []string {
	var lines []string
	buf := make([]byte, 8192)
	waitFor(3*time.Second, func() bool {
		for {
			n, err := unix.Read(fd, buf)
			if err == unix.EPIPE { // records overwritten meanwhile
				continue
			}
			if err != nil || n <= 0 {
				break
			}
			if rec := string(buf[:n]); strings.Contains(rec, "type=1326") && strings.Contains(rec, `comm="`+comm+`"`) {
				lines = append(lines, rec)
			}
		}
		return len(lines) >= want
	})
	return lines
}

// TestSeccompLog: SCMP_ACT_LOG lets the call through and the kernel logs
// it (audit record 1326, code 0x7ffc0000); SECCOMP_FILTER_FLAG_LOG logs
// an ERRNO too, which is not logged without it. Not parallel: the
// kernel rate-limits these records.
func TestSeccompLog(t *testing.T) {
	if ok, why := auditToKmsg(); !ok {
		t.Skipf("SCMP_ACT_LOG has nothing to show here: %s", why)
	}
	for _, flag := range []bool{true, false} {
		t.Run(fmt.Sprintf("flag=%v", flag), func(t *testing.T) {
			kmsg := kmsgTail(t)
			e, b := newEnv(t), newBundle(t)
			// A name of its own, so the records are this container's: the
			// kernel logs the command name, and busybox runs as
			// "busybox-*" with the applet as its first argument.
			comm := ("busybox-" + newID(t))[:15]
			comm = comm[:8] + strings.ReplaceAll(comm[8:], "-", "x")
			if err := os.Symlink("busybox", filepath.Join(b.rootfs(), "bin", comm)); err != nil {
				t.Fatal(err)
			}
			profile := `{"defaultAction":"SCMP_ACT_ALLOW",%s"syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_LOG"},
				{"names":["rmdir"],"action":"SCMP_ACT_ERRNO","errnoRet":95}]}`
			flags := ""
			if flag {
				flags = `"flags":["SECCOMP_FILTER_FLAG_LOG"],`
			}
			withSeccomp(t, b, fmt.Sprintf(profile, flags))
			out := e.runIn(b, fmt.Sprintf("/bin/%s mkdir /tmp/logged && echo made; /bin/%s rmdir /tmp/logged 2>&1; true", comm, comm))
			if !strings.Contains(out, "made") || !strings.Contains(out, "Operation not supported") {
				t.Errorf("in the container:\n%s", out)
			}
			want := 1
			if flag {
				want = 2
			}
			lines := auditLines(kmsg, comm, want)
			var logged, errno bool
			for _, l := range lines {
				logged = logged || strings.Contains(l, fmt.Sprintf("syscall=%d ", unix.SYS_MKDIR)) && strings.Contains(l, "code=0x7ffc0000")
				errno = errno || strings.Contains(l, fmt.Sprintf("syscall=%d ", unix.SYS_RMDIR)) && strings.Contains(l, "code=0x50000")
			}
			if !logged || errno != flag {
				t.Errorf("audit records for %s: LOG'd mkdir %v (want true), ERRNO'd rmdir %v (want %v):\n%s",
					comm, logged, errno, flag, strings.Join(lines, ""))
			}
		})
	}
}

// TestSeccompArgs: a rule with two args blocks only the call that
// matches both: kill(1, SIGUSR1), not kill(1, SIGUSR2) nor
// kill(child, SIGUSR1).
func TestSeccompArgs(t *testing.T) {
	t.Parallel()
	e, b := newEnv(t), newBundle(t)
	withSeccomp(t, b, allowAllBut(fmt.Sprintf(`{"names":["kill"],"action":"SCMP_ACT_ERRNO","args":[
		{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":1,"value":%d,"op":"SCMP_CMP_EQ"}]}`, unix.SIGUSR1)))
	out := e.runIn(b, `trap 'echo got-usr2' USR2
		echo pid=$$
		kill -USR1 1 2>&1; echo usr1-to-1=$?
		kill -USR2 1; echo usr2-to-1=$?
		sleep 100 & kill -USR1 $! ; echo usr1-to-child=$?
		wait`)
	for _, want := range []string{"pid=1\n", "Operation not permitted", "usr1-to-1=1", "got-usr2", "usr2-to-1=0", "usr1-to-child=0"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
}

// dockerDefault is Docker's default profile (testdata/README.md).
func dockerDefault(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(testdata("moby-default-seccomp.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestSeccompDockerDefault: with Docker's default profile a busybox shell
// runs its usual commands, with and without no_new_privs (without, husk
// keeps CAP_SYS_ADMIN only until the filter is on), and what the profile
// forbids fails: unshare(2) without CAP_SYS_ADMIN.
func TestSeccompDockerDefault(t *testing.T) {
	t.Parallel()
	script := `grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status
		echo hi | cat; ls / >/dev/null && echo listed; mkdir /tmp/d && rmdir /tmp/d && echo dirs
		sh -c 'exit 3'; echo sub=$?; id -u; date >/dev/null && echo dated
		unshare -U true 2>&1; echo unshare=$?`
	control := newBundle(t)
	canUnshare := strings.Contains(newEnv(t).runIn(control, "unshare -U true && echo unshare-works"), "unshare-works")
	for _, nnp := range []bool{true, false} {
		t.Run(fmt.Sprintf("noNewPrivileges=%v", nnp), func(t *testing.T) {
			t.Parallel()
			e, b := newEnv(t), newBundle(t)
			withSeccomp(t, b, dockerDefault(t))
			b.Spec.Process.NoNewPrivileges = nnp
			out := e.runIn(b, script)
			nnpLine := "NoNewPrivs:\t0"
			if nnp {
				nnpLine = "NoNewPrivs:\t1"
			}
			for _, want := range []string{"Seccomp:\t2", nnpLine, "hi\n", "listed", "dirs", "sub=3", "0\n", "dated", "unshare=1"} {
				if !strings.Contains(out, want) {
					t.Errorf("want %q in:\n%s", want, out)
				}
			}
			var eff uint64
			for _, l := range strings.Split(out, "\n") {
				fmt.Sscanf(l, "CapEff:\t%x", &eff)
			}
			if eff == 0 || eff&(1<<21) != 0 {
				t.Errorf("CapEff %#x: want the container's capabilities, without CAP_SYS_ADMIN", eff)
			}
			if !canUnshare {
				t.Logf("unshare -U fails here even without seccomp: its check proves nothing")
			}
		})
	}
}

// TestSeccompUnknownSyscalls: names libseccomp does not know are skipped
// and listed at debug level; the rest of the profile holds.
func TestSeccompUnknownSyscalls(t *testing.T) {
	t.Parallel()
	e, b := newEnv(t), newBundle(t)
	withSeccomp(t, b, allowAllBut(`{"names":["husk_future_call","mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}`))
	b.Spec.Process.Args = []string{"sh", "-c", "mkdir /tmp/x 2>&1; echo rc=$?"}
	b.save()
	id := newID(t)
	r := e.husk("--debug", "run", "--bundle", b.Dir, id)
	if r.Code != 0 || !strings.Contains(r.Stdout, "Operation not permitted") || !strings.Contains(r.Stdout, "rc=1") {
		t.Errorf("exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "skipping syscalls unknown to libseccomp") || !strings.Contains(r.Stderr, "husk_future_call") {
		t.Errorf("--debug does not list the skipped name: %q", r.Stderr)
	}
	e.checkGone(id, b)
	if r := e.husk("run", "--bundle", b.Dir, id); strings.Contains(r.Stderr, "husk_future_call") {
		t.Errorf("without --debug: %q", r.Stderr)
	}
}

// TestSeccompUserNamespace: in a user namespace the filter goes on as the
// namespace's root would load it, without no_new_privs, for init and for
// exec, and its user keeps no CAP_SYS_ADMIN.
func TestSeccompUserNamespace(t *testing.T) {
	t.Parallel()
	e, _, id, _ := execTarget(t, func(b *bundle) {
		nsTraversable(t, b)
		b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		b.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		b.Spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		withSeccomp(t, b, dockerDefault(t))
		b.Spec.Root.Readonly = true
		b.Spec.Process.NoNewPrivileges = false
		b.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
		b.Spec.Process.Capabilities = nil
	})
	out := e.mustHusk("exec", id, "sh", "-c", "grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status /proc/1/status; id -u; unshare -U true 2>&1; true")
	for _, want := range []string{"/proc/self/status:Seccomp:\t2", "/proc/1/status:Seccomp:\t2", "/proc/1/status:NoNewPrivs:\t0",
		"/proc/self/status:CapEff:\t0000000000000000", "/proc/1/status:CapEff:\t0000000000000000", "1000\n", "Operation not permitted"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
}

// TestSeccompRuntimeSyscallsExempt: a profile that forbids execve, or
// capset with no_new_privs off, still starts the container (husk's own
// last syscalls pass), and forbids them to the container's processes.
func TestSeccompRuntimeSyscallsExempt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, rule, script string
		nnp                bool
		wants              []string
	}{
		{"execve ERRNO", `{"names":["execve","execveat"],"action":"SCMP_ACT_ERRNO"}`, "echo in-sh; /bin/true; echo rc=$?", true,
			[]string{"in-sh", "Operation not permitted", "rc=126"}},
		{"execve KILL", `{"names":["execve","execveat"],"action":"SCMP_ACT_KILL_PROCESS"}`, "echo in-sh; (/bin/true); echo rc=$?", true,
			[]string{"in-sh", "rc=159"}},
		{"capset KILL without nnp", `{"names":["capset"],"action":"SCMP_ACT_KILL_PROCESS"}`, "grep -E '^(CapEff|NoNewPrivs):' /proc/self/status", false,
			[]string{"CapEff:\t0000000020000420", "NoNewPrivs:\t0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, b := newEnv(t), newBundle(t)
			withSeccomp(t, b, allowAllBut(tc.rule))
			b.Spec.Process.NoNewPrivileges = tc.nnp
			out := e.runIn(b, "exec 2>&1; "+tc.script)
			for _, want := range tc.wants {
				if !strings.Contains(out, want) {
					t.Errorf("want %q in:\n%s", want, out)
				}
			}
		})
	}
}

// TestSeccompExec: a process started by husk exec carries the container's
// filter, with no_new_privs on or off.
func TestSeccompExec(t *testing.T) {
	t.Parallel()
	e, _, id, pid := execTarget(t, func(b *bundle) {
		withSeccomp(t, b, allowAllBut(`{`+mkdirRule+`,"action":"SCMP_ACT_ERRNO","errnoRet":122}`))
		b.Spec.Process.NoNewPrivileges = false
	})
	if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); !strings.Contains(string(st), "Seccomp:\t2") {
		t.Errorf("the container's init is not filtered:\n%s", st)
	}
	script := "grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status; mkdir /tmp/x 2>&1; echo rc=$?"
	for args, nnp := range map[string]string{"exec": "0", "exec --no-new-privs": "1"} {
		out := e.mustHusk(append(strings.Fields(args), id, "sh", "-c", script)...)
		for _, want := range []string{"Seccomp:\t2", "NoNewPrivs:\t" + nnp, "CapEff:\t0000000020000420", "Disk quota exceeded", "rc=1"} {
			if !strings.Contains(out, want) {
				t.Errorf("husk %s: want %q in:\n%s", args, want, out)
			}
		}
	}
}

// TestSeccompBadProfiles: a bad profile fails create and run before
// anything is made, naming the field.
func TestSeccompBadProfiles(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, profile, want string }{
		{"unknown action", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO"},{"names":["mkdir"],"action":"SCMP_ACT_MAYBE"}]}`,
			`linux.seccomp.syscalls[1].action: "SCMP_ACT_MAYBE": unknown action`},
		{"unknown default action", `{"defaultAction":"ALLOW"}`, `linux.seccomp.defaultAction: "ALLOW": unknown action`},
		{"unknown arch", `{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_Z80"]}`,
			`linux.seccomp.architectures[1]: "SCMP_ARCH_Z80": unknown architecture`},
		{"arch libseccomp cannot add", `{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_S390X"]}`,
			`linux.seccomp.architectures[0]: "SCMP_ARCH_S390X"`},
		{"bad operator", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":1,"op":"SCMP_CMP_SIMILAR"}]}]}`,
			`linux.seccomp.syscalls[0].args[0].op: "SCMP_CMP_SIMILAR": unknown operator`},
		{"args index over 5", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":1,"op":"SCMP_CMP_EQ"},{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}`,
			`linux.seccomp.syscalls[0].args[1].index: 6`},
		{"errnoRet on KILL", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_KILL","errnoRet":1}]}`,
			`linux.seccomp.syscalls[0].errnoRet: SCMP_ACT_KILL takes no errno`},
		{"notify without listenerPath", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}`,
			`linux.seccomp.listenerPath: required by SCMP_ACT_NOTIFY`},
		{"unknown flag", `{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_FAST"]}`, `linux.seccomp.flags[0]: "SECCOMP_FILTER_FLAG_FAST": unknown flag`},
	}
	for _, tc := range tests {
		for _, cmd := range []string{"create", "run"} {
			t.Run(tc.name+"/"+cmd, func(t *testing.T) {
				t.Parallel()
				e, b := newEnv(t), newBundle(t)
				withSeccomp(t, b, tc.profile)
				b.save()
				id := newID(t)
				pidFile := filepath.Join(t.TempDir(), "pid")
				r := e.husk(cmd, "--bundle", b.Dir, "--pid-file", pidFile, id)
				lcFails(t, cmd, r, tc.want)
				if _, err := os.Stat(pidFile); err == nil {
					t.Errorf("%s failed but wrote the pid file", cmd)
				}
				e.checkGone(id, b)
				if entries, _ := os.ReadDir(e.root); len(entries) > 0 {
					t.Errorf("state root not empty: %v", entries)
				}
			})
		}
	}
}

// TestSeccompCache: the compiled program is cached in the state root,
// where husk list does not take it for a container, and reused.
func TestSeccompCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := 0; i < 2; i++ {
		b := newBundle(t)
		withSeccomp(t, b, dockerDefault(t))
		if out := e.runIn(b, "grep Seccomp: /proc/self/status"); !strings.Contains(out, "Seccomp:\t2") {
			t.Fatalf("run %d: %s", i, out)
		}
	}
	files, _ := filepath.Glob(filepath.Join(e.root, ".seccomp-cache", "*.json"))
	if len(files) != 1 {
		t.Errorf("cache files after two runs of one profile: %v", files)
	}
	if out := e.mustHusk("list", "-q"); out != "" {
		t.Errorf("husk list: %q", out)
	}
}
