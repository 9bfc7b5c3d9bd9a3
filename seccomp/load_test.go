//go:build cgo && seccomp

package seccomp

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// A loaded filter cannot be taken off, so filters are loaded in a child:
// this test binary run again with childEnv naming what to do.
const (
	childEnv   = "HUSK_SECCOMP_TEST_CHILD"
	profileEnv = "HUSK_SECCOMP_TEST_PROFILE"
	probesEnv  = "HUSK_SECCOMP_TEST_PROBES"
)

func TestMain(m *testing.M) {
	if what := os.Getenv(childEnv); what != "" {
		// Filters without TSYNC are per thread: load and probe on one.
		runtime.LockOSThread()
		if err := child(what); err != nil {
			fmt.Println("child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child compiles and loads the profile in profileEnv (with
// no_new_privs, so no privilege is needed), then does what is asked.
func child(what string) error {
	var p specs.LinuxSeccomp
	if err := json.Unmarshal([]byte(os.Getenv(profileEnv)), &p); err != nil {
		return err
	}
	prog, err := Compile(&p)
	if err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	filter, err := prog.Load()
	if err != nil {
		return err
	}
	switch what {
	case "probe":
		return probe(os.Getenv(probesEnv))
	case "exempt":
		return execExempt(filter)
	case "tasks":
		return printTasks()
	}
	return fmt.Errorf("unknown child %q", what)
}

// probeFD is a bad fd: fcntl(probeFD, cmd, v) fails with EBADF unless a
// rule answers first, and rules can match its three arguments.
const probeFD = 12345

// probe makes fcntl(probeFD, cmd, v) for each "cmd:v" and prints the
// errnos.
func probe(list string) error {
	var out []string
	for _, pv := range strings.Fields(list) {
		cmd, v, _ := strings.Cut(pv, ":")
		c, _ := strconv.ParseUint(cmd, 0, 64)
		n, _ := strconv.ParseUint(v, 0, 64)
		_, _, errno := unix.RawSyscall(unix.SYS_FCNTL, probeFD, uintptr(c), uintptr(n))
		out = append(out, strconv.Itoa(int(errno)))
	}
	fmt.Println(strings.Join(out, " "))
	return nil
}

// execExempt shows that execve is denied, but not with the key.
func execExempt(filter *Filter) error {
	err := unix.Exec("/bin/sh", []string{"sh", "-c", "exit 7"}, nil)
	fmt.Println("plain execve:", err)
	path, _ := unix.BytePtrFromString("/bin/sh")
	argv, _ := syscall.SlicePtrFromStrings([]string{"sh", "-c", "exit 7"})
	env, _ := syscall.SlicePtrFromStrings(nil)
	_, errno := filter.Syscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(path)), uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&env[0])))
	return fmt.Errorf("exempt execve: %v", errno)
}

// printTasks prints every thread's Seccomp line.
func printTasks() error {
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "Seccomp:") {
				fmt.Println(strings.Join(strings.Fields(line), " "))
			}
		}
	}
	return nil
}

// runChild runs the child and returns its output and exit status.
func runChild(t *testing.T, what, profile string, env ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), childEnv+"="+what, profileEnv+"="+profile)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// TestOperators loads a rule per operator, each ANDed with a match on
// the fd, and checks which argument values the kernel then refuses.
func TestOperators(t *testing.T) {
	// 99 (EADDRNOTAVAIL) is the rule's answer, 9 (EBADF) fcntl's own.
	values := "1:9 1:10 1:11 1:0x35 1:0x10000000a"
	tests := []struct {
		op    string
		value string
		want  string
	}{
		{"SCMP_CMP_NE", `"value":10`, "99 9 99 99 99"},
		{"SCMP_CMP_LT", `"value":10`, "99 9 9 9 9"},
		{"SCMP_CMP_LE", `"value":10`, "99 99 9 9 9"},
		{"SCMP_CMP_EQ", `"value":10`, "9 99 9 9 9"},
		{"SCMP_CMP_GE", `"value":10`, "9 99 99 99 99"},
		{"SCMP_CMP_GT", `"value":10`, "9 9 99 99 99"},
		// (arg & 0xf0) == 0x30
		{"SCMP_CMP_MASKED_EQ", `"value":240,"valueTwo":48`, "9 9 9 99 9"},
	}
	for _, tc := range tests {
		t.Run(tc.op, func(t *testing.T) {
			t.Parallel()
			profile := fmt.Sprintf(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["fcntl"],"action":"SCMP_ACT_ERRNO","errnoRet":99,
				"args":[{"index":0,"value":%d,"op":"SCMP_CMP_EQ"},{"index":2,%s,"op":"%s"}]}]}`, probeFD, tc.value, tc.op)
			out, code := runChild(t, "probe", profile, probesEnv+"="+values)
			if code != 0 || strings.TrimSpace(out) != tc.want {
				t.Errorf("fcntl(fd, F_GETFD, v) for v in %s: got %q (exit %d), want %q", values, out, code, tc.want)
			}
		})
	}
}

// TestArgsAreANDed: a rule with three args matches only when all do.
func TestArgsAreANDed(t *testing.T) {
	profile := fmt.Sprintf(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["fcntl"],"action":"SCMP_ACT_ERRNO","errnoRet":99,
		"args":[{"index":0,"value":%d,"op":"SCMP_CMP_EQ"},{"index":1,"value":1,"op":"SCMP_CMP_EQ"},{"index":2,"value":10,"op":"SCMP_CMP_EQ"}]}]}`, probeFD)
	out, code := runChild(t, "probe", profile, probesEnv+"=1:10 3:10 1:9 3:9")
	if want := "99 9 9 9"; code != 0 || strings.TrimSpace(out) != want {
		t.Errorf("got %q (exit %d), want %q", out, code, want)
	}
}

// TestDefaultErrnoRet: the default action's errno, and EPERM without one.
func TestDefaultErrnoRet(t *testing.T) {
	for errno, want := range map[string]string{`,"defaultErrnoRet":38`: "38", "": "1"} {
		profile := `{"defaultAction":"SCMP_ACT_ERRNO"` + errno + `,"syscalls":[{"names":["write","exit_group","exit","futex","rt_sigreturn","mmap","munmap","nanosleep","sched_yield","madvise","rt_sigprocmask","sigaltstack","getpid","gettid","tgkill","clone","clone3","mprotect"],"action":"SCMP_ACT_ALLOW"}]}`
		out, code := runChild(t, "probe", profile, probesEnv+"=1:0")
		if code != 0 || strings.TrimSpace(out) != want {
			t.Errorf("defaultErrnoRet %q: got %q (exit %d), want %s", errno, out, code, want)
		}
	}
}

// TestExemption: a filter that denies execve denies it to the process,
// but the runtime's own execve, made with the key, goes through.
func TestExemption(t *testing.T) {
	profile := `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["execve","execveat"],"action":"SCMP_ACT_ERRNO"}]}`
	out, code := runChild(t, "exempt", profile)
	if code != 7 || !strings.Contains(out, "plain execve: operation not permitted") {
		t.Errorf("exit %d (want 7 from the exempt execve), output:\n%s", code, out)
	}
}

// TestTSYNC: with SECCOMP_FILTER_FLAG_TSYNC every thread has the filter.
func TestTSYNC(t *testing.T) {
	for flags, wantAll := range map[string]bool{`,"flags":["SECCOMP_FILTER_FLAG_TSYNC"]`: true, "": false} {
		out, code := runChild(t, "tasks", `{"defaultAction":"SCMP_ACT_ALLOW"`+flags+`}`)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		filtered := strings.Count(out, "Seccomp: 2")
		if code != 0 || len(lines) < 2 {
			t.Fatalf("flags %q: exit %d, %q", flags, code, out)
		}
		if all := filtered == len(lines); all != wantAll || filtered == 0 {
			t.Errorf("flags %q: %d of %d threads filtered", flags, filtered, len(lines))
		}
	}
}
