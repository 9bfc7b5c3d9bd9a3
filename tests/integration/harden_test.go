package integration

// Issue 7, hardening: each test tries an attack on husk from inside a
// container, or a fault during its work, for real, and checks that it
// fails or leaves nothing behind. The attacks are those of runc's CVEs.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// hdAttackScript waits for the host to name a pid (in the container's pid
// namespace), opens /proc/PID/exe read-only, says what it got, and once
// the host says go, tries to reopen that file for writing through
// /proc/self/fd: truncating, then in place.
const hdAttackScript = `
while [ ! -e /out/target ]; do sleep 0.01; done
p=$(cat /out/target)
(
	exec 3</proc/$p/exe || exit 1
	readlink /proc/self/fd/3 > /out/opened.tmp && mv /out/opened.tmp /out/opened
	while [ ! -e /out/go ]; do sleep 0.01; done
	{ echo pwned >/proc/self/fd/3; } 2>>/out/errors && echo wrote-truncating >>/out/result
	{ echo pwned 1<>/proc/self/fd/3; } 2>>/out/errors && echo wrote-in-place >>/out/result
	echo done >>/out/result
) 2>>/out/errors
[ -e /out/opened ] || echo "cannot open /proc/$p/exe" >/out/opened
sleep 1000
`

// TestHardenExecRuntimeNotWritable: CVE-2019-5736. During `husk exec`,
// a process in the container opens /proc/PID/exe of the runtime's
// process that joined it, and once the exec is over and nothing runs the
// runtime binary any more, reopens that file for writing. The binary
// must not change: what the container can reach is a sealed copy.
//
// The exec runs a private copy of husk, so that no other husk process
// keeps the binary busy (ETXTBSY would make the write fail whatever husk
// does). The host catches the exec's process in the container's cgroup
// and stops it, so the attacker cannot miss it:
//
//   - init: husk's init once it runs (argv "init"), with the container
//     allowed to read other processes' exe (CAP_SYS_PTRACE), as a
//     privileged container is;
//   - clone: the very first process of the exec visible in the
//     container's pid namespace, caught frozen (the container is paused,
//     exec --ignore-paused) before it ran a single instruction;
//   - shebang: the original exploit with default capabilities: the exec
//     runs a script whose interpreter is #!/proc/self/exe, so that
//     the process becomes whatever binary husk's init ran from, with the
//     container's own credentials.
func TestHardenExecRuntimeNotWritable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		ptrace bool
		freeze bool
		args   []string
		match  func(private string, argv []string) bool
	}{
		{"init", true, false, []string{"true"}, func(private string, argv []string) bool {
			return len(argv) > 1 && argv[1] == "init"
		}},
		{"clone", true, true, []string{"true"}, func(private string, argv []string) bool {
			return len(argv) > 1 && (argv[1] == "init" || argv[0] == private)
		}},
		{"shebang", false, false, []string{"/evil"}, func(private string, argv []string) bool {
			return len(argv) == 2 && argv[0] == "/proc/self/exe" && argv[1] == "/evil"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			private, sum := hdPrivateHusk(t)
			e := newEnv(t)
			b := newBundle(t)
			out := bindOut(t, b)
			fsWriteFile(t, filepath.Join(b.rootfs(), "evil"), "#!/proc/self/exe\n")
			os.Chmod(filepath.Join(b.rootfs(), "evil"), 0o755)
			// An image with the C library (and libseccomp) husk is linked
			// against, as most are: else the kernel cannot load husk in
			// the container at all, and the shebang exec fails (ENOENT).
			hdCopyLibs(t, private, b.rootfs())
			if tc.ptrace {
				c := b.Spec.Process.Capabilities
				c.Bounding = append(c.Bounding, "CAP_SYS_PTRACE")
				c.Effective = append(c.Effective, "CAP_SYS_PTRACE")
				c.Permitted = append(c.Permitted, "CAP_SYS_PTRACE")
			}
			id := e.startDetached(b, "sh", "-c", hdAttackScript)

			pid, done := hdCatchExec(t, e, id, private, tc.freeze, tc.args, tc.match)
			exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
			t.Logf("caught %d (%q), running %s", pid, hdArgv(pid), exe)
			nspid, _ := hdNSpid(pid)
			hdWriteAtomic(t, filepath.Join(out, "target"), strconv.Itoa(nspid)+"\n")
			opened := hdWaitText(t, filepath.Join(out, "opened"), 10*time.Second)
			syscall.Kill(pid, syscall.SIGCONT)
			if strings.HasPrefix(opened, "cannot open") {
				errs, _ := os.ReadFile(filepath.Join(out, "errors"))
				t.Fatalf("the attacker could not open the exe at all, so this proves nothing: %s%s", opened, errs)
			}
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("husk exec did not finish")
			}
			if !waitFor(10*time.Second, func() bool { return len(hdRunning(private)) == 0 }) {
				t.Fatalf("processes still run the private husk: %v", hdRunning(private))
			}
			hdWriteAtomic(t, filepath.Join(out, "go"), "\n")
			if !waitFor(10*time.Second, func() bool {
				data, _ := os.ReadFile(filepath.Join(out, "result"))
				return strings.Contains(string(data), "done\n")
			}) {
				t.Fatal("the attacker did not finish")
			}
			result, _ := os.ReadFile(filepath.Join(out, "result"))
			errs, _ := os.ReadFile(filepath.Join(out, "errors"))
			t.Logf("the attacker held %s; its writes: %q, errors: %q", strings.TrimSpace(opened), result, errs)
			if got := hdSum(t, private); got != sum {
				t.Errorf("the husk binary was overwritten from inside the container (through %s)", strings.TrimSpace(opened))
			}
			if strings.Contains(string(result), "wrote") {
				t.Errorf("a write to the runtime's executable succeeded: %q", result)
			}
		})
	}
}

// hdCatchExec runs `PRIVATE exec ID ARGS` until it catches, among the
// exec's processes in the container's cgroup that the container can see
// (in its pid namespace), one whose argv match accepts, and stops it
// (SIGSTOP). It returns that pid and a channel closed when husk exec
// exits. With freeze, the container is paused first, so the exec's first
// process is caught before it runs.
func hdCatchExec(t *testing.T, e *env, id, private string, freeze bool, args []string, match func(string, []string) bool) (int, chan struct{}) {
	t.Helper()
	for attempt := 0; attempt < 50; attempt++ {
		known := hdCgroupPids(id)
		if freeze {
			hdMustHuskWithin(t, e, 20*time.Second, "pause", id)
		}
		execArgs := []string{"--root", e.root, "exec"}
		if freeze {
			execArgs = append(execArgs, "--ignore-paused")
		}
		cmd := exec.Command(private, append(append(execArgs, id), args...)...)
		cmd.Stdout, cmd.Stderr = lcTempFile(t), lcTempFile(t)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		t.Cleanup(func() {
			select {
			case <-done:
			default:
				cmd.Process.Kill()
			}
		})
		exited := func() bool {
			select {
			case <-done:
				return true
			default:
				return false
			}
		}
		// The exec's processes: new in the cgroup, and below husk exec
		// (not the attacker's own children).
		fresh := func() []int {
			var pids []int
			for _, p := range hdCgroupPids(id) {
				if !slices.Contains(known, p) && hdDescends(p, cmd.Process.Pid) {
					pids = append(pids, p)
				}
			}
			return pids
		}
		if freeze {
			var first int
			if !waitFor(10*time.Second, func() bool {
				if pids := fresh(); len(pids) > 0 {
					first = pids[0]
				}
				return first != 0 || exited()
			}) || first == 0 {
				t.Fatalf("husk exec --ignore-paused: no new process in the frozen cgroup")
			}
			visible := false
			if _, in := hdNSpid(first); in && match(private, hdArgv(first)) {
				syscall.Kill(first, syscall.SIGSTOP)
				visible = true
			}
			hdMustHuskWithin(t, e, 20*time.Second, "resume", id)
			if visible {
				if !waitFor(5*time.Second, func() bool { return hdProcState(first) == 'T' }) {
					t.Fatalf("process %d did not stop", first)
				}
				return first, done
			}
			exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", first))
			t.Logf("the exec's first process %d (running %s) is not in the container's pid namespace", first, exe)
		}
		for !exited() {
			for _, p := range fresh() {
				if _, in := hdNSpid(p); !in || !match(private, hdArgv(p)) {
					continue
				}
				if hdStop(t, p) {
					if match(private, hdArgv(p)) {
						return p, done
					}
					syscall.Kill(p, syscall.SIGCONT)
				}
			}
		}
	}
	t.Fatal("could not catch the exec's process in 50 attempts")
	return 0, nil
}

// hdHostDirs opens n fresh host directories (outside any rootfs), each
// holding a file named after its index, to hand to husk as fds 3...: the
// way a careless engine, or husk itself, could leak them.
func hdHostDirs(t *testing.T, n int) ([]*os.File, []string) {
	t.Helper()
	var files []*os.File
	var paths []string
	for i := 0; i < n; i++ {
		dir := t.TempDir()
		fsWriteFile(t, filepath.Join(dir, fmt.Sprintf("host-%d", i)), "host\n")
		f, err := os.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		files = append(files, f)
		paths = append(paths, dir)
	}
	return files, paths
}

// hdCwdProbe prints where the process's working directory is: "inside"
// if walking up with ".." from it ends at the container's root, else
// "OUTSIDE"; then it tries to create a file there.
const hdCwdProbe = `d=.; for i in $(seq 64); do d=$d/..; done
if [ "$(stat -c %d:%i $d)" = "$(stat -c %d:%i /)" ]; then echo cwd=inside; else echo cwd=OUTSIDE; fi
ls; touch escaped 2>/dev/null; echo cwd-path=$(pwd)`

// TestHardenLeakedFDs: CVE-2024-21626. Host directories are handed to
// husk as fds 3 to 10 (--preserve-fds 1 passes the first on purpose): in
// run and in exec, the container's process has exactly stdio and the
// preserved fd; and a working directory of /proc/self/fd/N, for every N
// from 3 to 10 (a leaked host directory, or one of husk's own fds), never
// leaves the process in a directory outside the container: the run or
// exec fails, or the directory is the container's.
func TestHardenLeakedFDs(t *testing.T) {
	t.Parallel()
	const leaked = 8 // fds 3..10
	listing := regexp.MustCompile(`(?m)^l\S+\s.*\s(\d+) -> (.*)$`)
	checkFDs := func(t *testing.T, what, out string, paths []string) {
		t.Helper()
		got := map[string]string{}
		for _, m := range listing.FindAllStringSubmatch(out, -1) {
			got[m[1]] = m[2]
		}
		for fd, target := range got {
			n, _ := strconv.Atoi(fd)
			switch {
			case n < 3:
			case n == 3 && target == paths[0]:
			default:
				t.Errorf("%s: fd %d (%s) reached the container", what, n, target)
			}
		}
		if got["3"] != paths[0] || len(got) != 4 {
			t.Errorf("%s: fds %v, want 0-2 and 3 -> %s", what, got, paths[0])
		}
	}
	checkCwd := func(t *testing.T, what string, r result, paths []string) {
		t.Helper()
		for _, p := range paths {
			if _, err := os.Stat(filepath.Join(p, "escaped")); err == nil {
				t.Errorf("%s: the container created a file in the host directory %s", what, p)
			}
		}
		switch {
		case strings.Contains(r.Stdout, "cwd=OUTSIDE") || strings.Contains(r.Stdout, "host-"):
			t.Errorf("%s: the process's cwd is outside the container (exit %d):\n%s", what, r.Code, r.Stdout)
		case r.Code == 0 && !strings.Contains(r.Stdout, "cwd=inside"):
			t.Errorf("%s: exit 0 without the probe's answer:\n%s%s", what, r.Stdout, r.Stderr)
		case r.Code != 0 && !strings.Contains(r.Stderr, "/proc/self/fd/"):
			t.Errorf("%s: exit %d, the error does not name the cwd: %s", what, r.Code, r.Stderr)
		}
	}

	t.Run("run fds", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := newBundle(t)
		files, paths := hdHostDirs(t, leaked)
		b.Spec.Process.Args = []string{"sh", "-c", "ls -l /proc/$$/fd"}
		b.save()
		id := newID(t)
		r := nsHusk(e, files, nil, "run", "--preserve-fds", "1", "--bundle", b.Dir, id)
		if r.Code != 0 {
			t.Fatalf("run: exit %d: %s", r.Code, r.Stderr)
		}
		checkFDs(t, "run", r.Stdout, paths)
		e.checkGone(id, b)
	})
	t.Run("exec fds", func(t *testing.T) {
		t.Parallel()
		e, _, id, _ := execTarget(t, nil)
		files, paths := hdHostDirs(t, leaked)
		for _, args := range [][]string{{"exec"}, {"exec", "--tty=false", "--cwd", "/tmp"}} {
			r := nsHusk(e, files, nil, append(args, "--preserve-fds", "1", id, "sh", "-c", "ls -l /proc/$$/fd")...)
			if r.Code != 0 {
				t.Fatalf("exec: exit %d: %s", r.Code, r.Stderr)
			}
			checkFDs(t, strings.Join(args, " "), r.Stdout, paths)
		}
	})
	// The last round passes the first directory on purpose
	// (--preserve-fds 1) and asks for it as the cwd: init holds it then,
	// and only the check of the cwd stands in the way.
	rounds := func(yield func(n int, flags []string) bool) {
		for n := 3; n < 3+leaked; n++ {
			if !yield(n, nil) {
				return
			}
		}
		yield(3, []string{"--preserve-fds", "1"})
	}
	t.Run("run cwd", func(t *testing.T) {
		t.Parallel()
		for n, flags := range rounds {
			e := newEnv(t)
			b := newBundle(t)
			files, paths := hdHostDirs(t, leaked)
			b.Spec.Process.Cwd = "/proc/self/fd/" + strconv.Itoa(n)
			b.Spec.Process.Args = []string{"sh", "-c", hdCwdProbe}
			b.save()
			id := newID(t)
			r := nsHusk(e, files, nil, append(append([]string{"run"}, flags...), "--bundle", b.Dir, id)...)
			t.Logf("run %v with cwd %s: exit %d: %s", flags, b.Spec.Process.Cwd, r.Code, strings.TrimSpace(r.Stderr+r.Stdout))
			checkCwd(t, "run with cwd "+b.Spec.Process.Cwd, r, paths)
			e.checkGone(id, b)
		}
	})
	t.Run("exec cwd", func(t *testing.T) {
		t.Parallel()
		e, _, id, _ := execTarget(t, nil)
		files, paths := hdHostDirs(t, leaked)
		for n, flags := range rounds {
			cwd := "/proc/self/fd/" + strconv.Itoa(n)
			r := nsHusk(e, files, nil, append(append([]string{"exec"}, flags...), "--cwd", cwd, id, "sh", "-c", hdCwdProbe)...)
			t.Logf("exec %v --cwd %s: exit %d: %s", flags, cwd, r.Code, strings.TrimSpace(r.Stderr+r.Stdout))
			checkCwd(t, "exec --cwd "+cwd, r, paths)
		}
	})
}

// TestHardenMountSymlinkRace: CVE-2021-30465 and kin. While creates run
// one after the other, a goroutine keeps swapping a component of the
// mount destinations, /race, between a real directory and a symlink out
// of the rootfs (to a host directory, or to "/" with the host directory's
// path below it). Every create either fails cleanly or mounts inside the
// rootfs: the mounts are in the container's mount table, and the host
// directory stays empty, with no mount on it. The host directory is on a
// shared mount and the container asks for rshared propagation, so a mount
// that escaped there would even show in the host's mount table.
func TestHardenMountSymlinkRace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		link func(host string) string        // what /race points to when it is a symlink
		dest func(host string) (x, y string) // the tmpfs and the bind destinations
	}{
		{"to a host dir", func(host string) string { return host }, func(string) (string, string) { return "/race/x", "/race/y" }},
		{"to /", func(string) string { return "/" }, func(host string) (string, string) { return "/race" + host + "/x", "/race" + host + "/y" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			shared := t.TempDir()
			fsSharedDir(t, shared)
			host := filepath.Join(shared, "host")
			if err := os.Mkdir(host, 0o755); err != nil {
				t.Fatal(err)
			}
			race, swap := filepath.Join(b.rootfs(), "race"), filepath.Join(b.rootfs(), "race.swap")
			if err := os.Mkdir(race, 0o755); err != nil {
				t.Fatal(err)
			}
			fsSymlink(t, tc.link(host), swap)
			src := t.TempDir()
			fsWriteFile(t, filepath.Join(src, "marker"), "bind source\n")
			x, y := tc.dest(host)
			b.Spec.Root.Readonly = false
			b.Spec.Linux.RootfsPropagation = "rshared"
			b.Spec.Mounts = append(b.Spec.Mounts,
				specs.Mount{Destination: x, Type: "tmpfs", Source: "tmpfs", Options: []string{"size=64k"}},
				fsBind(src, y, "rbind"))
			b.Spec.Process.Args = []string{"sleep", "100"}
			b.save()

			stop := make(chan struct{})
			swapped := make(chan int)
			var stopOnce sync.Once
			stopSwapping := func() int {
				n := -1
				stopOnce.Do(func() { close(stop); n = <-swapped })
				return n
			}
			t.Cleanup(func() { stopSwapping() }) // before the rootfs goes
			go func() {
				n := 0
				for {
					select {
					case <-stop:
						swapped <- n
						return
					default:
					}
					if unix.Renameat2(unix.AT_FDCWD, race, unix.AT_FDCWD, swap, unix.RENAME_EXCHANGE) == nil {
						n++
					}
					// A pause after every swap, in either state, leaves the
					// creates some CPU.
					time.Sleep(10 * time.Microsecond)
				}
			}()
			landed := map[string]int{}
			failed := 0
			for i := 0; i < 15; i++ {
				id := newID(t)
				lcCleanup(e, id)
				r := lcHusk(e, "", "create", "--bundle", b.Dir, id)
				if r.Code != 0 {
					failed++
					t.Logf("create %d failed: %s", i, strings.TrimSpace(r.Stderr))
				} else {
					pid := lcPid(e, id)
					data, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
					if err != nil {
						t.Fatal(err)
					}
					var tmpfsAt, bindAt string
					for _, m := range fsParseMountinfo(t, string(data)) {
						switch {
						case m.FSType == "tmpfs" && strings.HasSuffix(m.Point, "/x") && fsContains(m.Super, "size=64k"):
							tmpfsAt = m.Point
						case strings.HasSuffix(m.Point, "/y") && strings.HasSuffix(src, m.Root):
							bindAt = m.Point
						}
					}
					if tmpfsAt == "" || bindAt == "" {
						t.Errorf("create %d: the mounts are not in the container (tmpfs at %q, bind at %q)", i, tmpfsAt, bindAt)
					}
					landed[tmpfsAt+" "+bindAt]++
				}
				if names := fsEntries(t, host); len(names) > 0 {
					t.Fatalf("create %d wrote into the host directory: %v", i, names)
				}
				if m := hdMountsIn(t, host); len(m) > 0 {
					t.Fatalf("create %d mounted on the host: %v", i, m)
				}
				lcMust(e, "delete", "--force", id)
				e.checkGone(id, b)
			}
			n := stopSwapping()
			t.Logf("%d swaps; %d creates failed; the others mounted at %v", n, failed, landed)
			if failed == 15 {
				t.Errorf("every create failed")
			}
			if m := hdMountsIn(t, host); len(m) > 0 {
				t.Errorf("mounts on the host directory: %v", m)
			}
		})
	}
}

// hdImageDev drops the /dev tmpfs from b's config: the image's own /dev
// directory is used, and husk keeps the nodes it brings (as runc does).
func hdImageDev(b *bundle) {
	nsDropMounts(b.Spec, "/dev")
}

// hdMknod makes a character device node in a rootfs on the host.
func hdMknod(t *testing.T, path string, major, minor uint32) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := unix.Mknod(path, unix.S_IFCHR|0o666, int(unix.Mkdev(major, minor))); err != nil {
		t.Fatalf("mknod %s: %v", path, err)
	}
}

// TestHardenDevNullMasking: CVE-2025-31133. Masking a file binds the
// container's /dev/null over it; an image whose /dev/null is a symlink
// (to a file of the image, to another device, to a procfs file) or a
// plain file would get that bound instead, over /proc/kcore and the like.
// husk must refuse it, naming /dev/null; a symlink to a real null device
// elsewhere in the image is fine.
func TestHardenDevNullMasking(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, rootfs string)
		ok    bool
		want  string // besides "masking" and "/dev/null"
	}{
		{"symlink to a file", func(t *testing.T, rootfs string) {
			fsSymlink(t, "/etc/secret", filepath.Join(rootfs, "dev", "null"))
		}, false, "is not the null device"},
		{"regular file", func(t *testing.T, rootfs string) {
			fsWriteFile(t, filepath.Join(rootfs, "dev", "null"), "not a device\n")
		}, false, "is not the null device"},
		{"symlink to another device", func(t *testing.T, rootfs string) {
			hdMknod(t, filepath.Join(rootfs, "devs", "zero"), 1, 5)
			fsSymlink(t, "/devs/zero", filepath.Join(rootfs, "dev", "null"))
		}, false, "is not the null device"},
		{"symlink to a procfs file", func(t *testing.T, rootfs string) {
			fsSymlink(t, "/proc/sys/kernel/core_pattern", filepath.Join(rootfs, "dev", "null"))
		}, false, "is not the null device"},
		{"symlink to a directory", func(t *testing.T, rootfs string) {
			fsSymlink(t, "/etc", filepath.Join(rootfs, "dev", "null"))
		}, false, "is not the null device"},
		{"symlink out of the rootfs", func(t *testing.T, rootfs string) {
			// To the host's /dev/null: resolved in the rootfs, to itself.
			fsSymlink(t, "../../../../../../../../dev/null", filepath.Join(rootfs, "dev", "null"))
		}, false, "too many levels of symbolic links"},
		{"symlink to a null device of the image", func(t *testing.T, rootfs string) {
			var fs unix.Statfs_t
			if unix.Statfs(rootfs, &fs) == nil && fs.Flags&unix.ST_NODEV != 0 {
				t.Skip("the rootfs is on a nodev mount: its device nodes cannot be opened")
			}
			hdMknod(t, filepath.Join(rootfs, "devs", "null"), 1, 3)
			fsSymlink(t, "/devs/null", filepath.Join(rootfs, "dev", "null"))
		}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			fsWriteFile(t, filepath.Join(b.rootfs(), "etc", "secret"), "secret\n")
			fsWriteFile(t, filepath.Join(b.rootfs(), "etc", "masked"), "masked\n")
			hdImageDev(b)
			tc.setup(t, b.rootfs())
			b.Spec.Linux.MaskedPaths = append(b.Spec.Linux.MaskedPaths, "/etc/masked")
			if !tc.ok {
				b.Spec.Process.Args = []string{"head", "-c", "64", "/etc/masked"} // bounded, even if /dev/zero were bound
				fsRunFails(e, b, "masking", "/dev/null", tc.want)
				if data, _ := os.ReadFile(filepath.Join(b.rootfs(), "etc", "secret")); string(data) != "secret\n" {
					t.Errorf("/etc/secret changed: %q", data)
				}
				return
			}
			v := fsInspect(e, b, fsEcho("masked", "stat -c '%F %t:%T' /etc/masked; cat /etc/masked"))
			v.wantVal(t, "masked", "character special file 1:3")
		})
	}
}

// TestHardenConsoleSymlink: CVE-2025-52565. With a terminal, the pty is
// bound over /dev/console; an image whose /dev/console is a symlink must
// not get the pty bound wherever the link points (a file of the image, a
// procfs file): husk refuses, naming /dev/console.
func TestHardenConsoleSymlink(t *testing.T) {
	t.Parallel()
	for _, target := range []string{"/etc/target", "/proc/sysrq-trigger", "/dev/pts/ptmx"} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			fsWriteFile(t, filepath.Join(b.rootfs(), "etc", "target"), "target\n")
			hdImageDev(b)
			fsSymlink(t, target, filepath.Join(b.rootfs(), "dev", "console"))
			b.Spec.Process.Terminal = true
			b.Spec.Process.Args = []string{"sleep", "100"}
			b.save()
			sock, masters, _ := consoleSocket(t)
			id := newID(t)
			lcCleanup(e, id)
			r := lcHusk(e, "", "create", "--console-socket", sock, "--bundle", b.Dir, id)
			select {
			case m := <-masters:
				m.Close()
			default:
			}
			if r.Code == 0 {
				pid := lcPid(e, id)
				data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
				for _, m := range fsParseMountinfo(t, string(data)) {
					if m.Point == target {
						t.Errorf("the pty was bound over %s: %s", target, m)
					}
				}
				st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/root/dev/console", pid))
				t.Errorf("create succeeded with /dev/console a symlink to %s (reads %q)", target, st)
				return
			}
			lcFails(t, "create", r, "/dev/console", "symlink")
			e.checkGone(id, b)
		})
	}
}

// TestHardenSysctlNotProcfs: CVE-2025-52881. linux.sysctl is written
// under the container's /proc; where that is not procfs (no proc mount,
// and the image has a plain /proc/sys tree; or a bind of a host
// directory over /proc/sys/net), husk must refuse, not write the file.
func TestHardenSysctlNotProcfs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, b *bundle) string // returns the file a write would reach
	}{
		{"no proc mount", func(t *testing.T, b *bundle) string {
			nsDropMounts(b.Spec, "/proc")
			b.Spec.Linux.MaskedPaths, b.Spec.Linux.ReadonlyPaths = nil, nil
			f := filepath.Join(b.rootfs(), "proc", "sys", "net", "ipv4", "ip_forward")
			fsWriteFile(t, f, "fake\n")
			return f
		}},
		{"proc/sys a symlink", func(t *testing.T, b *bundle) string {
			nsDropMounts(b.Spec, "/proc")
			b.Spec.Linux.MaskedPaths, b.Spec.Linux.ReadonlyPaths = nil, nil
			f := filepath.Join(b.rootfs(), "fakesys", "net", "ipv4", "ip_forward")
			fsWriteFile(t, f, "fake\n")
			fsSymlink(t, "/fakesys", filepath.Join(b.rootfs(), "proc", "sys"))
			return f
		}},
		{"host directory over /proc/sys/net", func(t *testing.T, b *bundle) string {
			dir := t.TempDir()
			f := filepath.Join(dir, "ipv4", "ip_forward")
			fsWriteFile(t, f, "fake\n")
			b.Spec.Mounts = append(b.Spec.Mounts, fsBind(dir, "/proc/sys/net", "rbind"))
			return f
		}},
		// A procfs file of the host (here a process's oom_score_adj; in
		// the CVE, core_pattern) bound over the target is procfs too: the
		// filesystem type alone does not tell; the mount does.
		{"procfs file over the sysctl", func(t *testing.T, b *bundle) string {
			victim, _ := hdVictim(t)
			f := fmt.Sprintf("/proc/%d/oom_score_adj", victim)
			b.Spec.Mounts = append(b.Spec.Mounts, fsBind(f, "/proc/sys/net/ipv4/ip_forward", "bind"))
			return f
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			file := tc.setup(t, b)
			before, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			b.Spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "500"}
			fsRunFails(e, b, "sysctl net.ipv4.ip_forward", "not on procfs")
			if data, _ := os.ReadFile(file); string(data) != string(before) {
				t.Errorf("the sysctl was written to %s: %q, was %q", file, data, before)
			}
		})
	}
}

// TestHardenOOMScoreAdjNotProcfs: husk exec writes process.oomScoreAdj
// through the container's /proc, which the container may have replaced
// (here a tmpfs mounted over it, holding a plain self/oom_score_adj):
// the write must go to procfs or fail.
func TestHardenOOMScoreAdjNotProcfs(t *testing.T) {
	t.Parallel()
	adj := 500
	e, _, id, _ := execTarget(t, func(b *bundle) {
		fsFullCaps(b)
		b.Spec.Process.OOMScoreAdj = &adj
	})
	e.mustHusk("exec", id, "sh", "-c", "umount -l /proc && mount -t tmpfs fake /proc && mkdir /proc/self && echo keep > /proc/self/oom_score_adj")
	r := e.husk("exec", id, "cat", "/proc/self/oom_score_adj")
	content := e.mustHusk("exec", "--process", pxProcessFile(t, `{"args":["cat","/proc/self/oom_score_adj"],"cwd":"/","user":{"uid":0,"gid":0}}`), id)
	if content != "keep\n" {
		t.Errorf("exec wrote process.oomScoreAdj into the container's fake /proc: the file now reads %q", content)
	}
	if r.Code == 0 {
		t.Errorf("exec with oomScoreAdj succeeded over a /proc that is no procfs: %q", r.Stdout)
	} else {
		lcFails(t, "exec", r, "oom_score_adj", "not on procfs")
	}
}

// hdVictim starts a process a forged state would name as the container's
// init, and returns its pid and start time (field 22 of its stat).
func hdVictim(t *testing.T) (int, string) {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	return cmd.Process.Pid, fields[19]
}

// TestHardenStateSymlinks: state files are never read through a symlink.
// A container's state.json, or its whole state dir, is replaced by a
// symlink to a forged state naming another process as init (and no
// cgroup): every command refuses the container, the forged process is
// untouched, and nothing prints the forged state.
func TestHardenStateSymlinks(t *testing.T) {
	t.Parallel()
	for _, whole := range []bool{false, true} {
		name := "state.json"
		if whole {
			name = "state dir"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Process.Args = []string{"sleep", "100"}
			b.save()
			id := newID(t)
			lcCreate(e, b, id)
			init := lcPid(e, id)
			victim, start := hdVictim(t)
			forged := t.TempDir()
			os.Chmod(forged, 0o700)
			state := fmt.Sprintf(`{"id":%q,"bundle":"/forged-bundle","rootfs":"/forged-bundle/rootfs","pid":%d,"pidStart":%s,`+
				`"created":"2020-01-01T00:00:00Z","cgroupPath":"","spec":{"ociVersion":"1.0.0","process":{"args":["x"],"cwd":"/"},"linux":{}},"ready":true}`,
				id, victim, start)
			fsWriteFile(t, filepath.Join(forged, "state.json"), state)
			dir := filepath.Join(e.root, id)
			aside := filepath.Join(e.root, "aside")
			if whole {
				// The real dir goes aside, a symlink takes its place.
				if err := os.Rename(dir, aside); err != nil {
					t.Fatal(err)
				}
				fsSymlink(t, forged, dir)
				t.Cleanup(func() { os.Remove(dir); os.Rename(aside, dir) })
			} else {
				if err := os.Rename(filepath.Join(dir, "state.json"), aside); err != nil {
					t.Fatal(err)
				}
				fsSymlink(t, filepath.Join(forged, "state.json"), filepath.Join(dir, "state.json"))
				t.Cleanup(func() { os.Rename(aside, filepath.Join(dir, "state.json")) })
			}
			for _, args := range [][]string{
				{"state", id}, {"kill", id, "KILL"}, {"kill", "--all", id, "KILL"}, {"start", id},
				{"pause", id}, {"resume", id}, {"ps", id}, {"exec", id, "true"},
				{"update", "--pids-limit", "10", id}, {"delete", id}, {"delete", "--force", id},
			} {
				r := lcHusk(e, "", args...)
				what := strings.Join(args, " ")
				if r.Code == 0 {
					t.Errorf("husk %s succeeded through the symlink: %s", what, r.Stdout)
				}
				if strings.Contains(r.Stdout+r.Stderr, "forged") {
					t.Errorf("husk %s read the forged state: %s%s", what, r.Stdout, r.Stderr)
				}
				if !pidAlive(victim) {
					t.Fatalf("husk %s killed the process the forged state names", what)
				}
				t.Logf("husk %s: %s", what, strings.TrimSpace(r.Stderr))
			}
			if out := lcMust(e, "list"); strings.Contains(out, "forged") {
				t.Errorf("list read the forged state:\n%s", out)
			}
			if data, _ := os.ReadFile(filepath.Join(forged, "state.json")); string(data) != state {
				t.Errorf("the forged state was changed: %s", data)
			}
			if _, err := os.Stat(forged); err != nil {
				t.Errorf("the symlinked directory was removed: %v", err)
			}
			if !pidAlive(init) {
				t.Errorf("the real container's init died")
			}
		})
	}
}

// TestHardenIDLength: an id of 255 bytes (a file name's limit) is a
// container like any other; one of 256 is refused before anything is
// made. (TestErrorsBadIDs has "/", "..", control characters.)
func TestHardenIDLength(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Process.Args = []string{"sleep", "100"}
	b.save()
	long := strings.Repeat("a", 255)
	lcCreate(e, b, long)
	if st := lcStatus(e, long); st != "created" {
		t.Errorf("255-byte id: status %q", st)
	}
	lcMust(e, "delete", "--force", long)
	e.checkGone(long, b)
	r := lcHusk(e, "", "create", "--bundle", b.Dir, long+"a")
	lcFails(t, "create with a 256-byte id", r, "container id", "longer than 255 bytes")
	if entries, _ := os.ReadDir(e.root); len(entries) != 0 {
		t.Errorf("state root holds %d entries", len(entries))
	}
}

// hdStartHusk starts husk with --root, extra environment variables and
// stdio on files (the container may keep them), without waiting.
func hdStartHusk(t *testing.T, e *env, envv []string, args ...string) (*exec.Cmd, chan struct{}) {
	t.Helper()
	cmd := exec.Command(huskBin, append([]string{"--root", e.root}, args...)...)
	cmd.Env = append(os.Environ(), envv...)
	cmd.Stdout, cmd.Stderr = lcTempFile(t), lcTempFile(t)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
	})
	return cmd, done
}

// TestHardenCreateFaults: husk SIGKILLed at each step of create (with
// _HUSK_TEST_FAULT, or by the test while a createRuntime hook sleeps with
// the rootfs half mounted), or the container's init SIGKILLed while it
// waits for start: `husk list` still shows the container, and `husk
// delete --force` leaves nothing: no state dir, no cgroup, no process (init
// or any in the container), no mount under the bundle or in the host's
// table that was not there before.
func TestHardenCreateFaults(t *testing.T) {
	t.Parallel()
	for _, fault := range []string{"after-lock", "after-cgroup", "before-clone", "after-clone", "during-mounts", "after-ready", "waiting-for-start"} {
		t.Run(fault, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Process.Args = []string{"sleep", "100"}
			hookPidFile := filepath.Join(t.TempDir(), "hook.pid")
			if fault == "during-mounts" {
				hook := filepath.Join(t.TempDir(), "hook.sh")
				hookScript(t, hook, "echo $$ > "+hookPidFile+".tmp; mv "+hookPidFile+".tmp "+hookPidFile+"; exec sleep 1000")
				b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/data", Type: "tmpfs", Source: "tmpfs"})
				b.Spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: hook}}}
			}
			b.save()
			id := newID(t)
			lcCleanup(e, id)
			before := hdMountinfo(t)

			var envv []string
			if fault != "during-mounts" && fault != "waiting-for-start" {
				envv = []string{"_HUSK_TEST_FAULT=" + fault}
			}
			cmd, done := hdStartHusk(t, e, envv, "create", "--bundle", b.Dir, id)
			if fault == "during-mounts" {
				data := hdWaitText(t, hookPidFile, 20*time.Second)
				hook, _ := strconv.Atoi(strings.TrimSpace(data))
				// The rootfs is mounted in init's namespace, /data too.
				cmd.Process.Kill()
				<-done
				syscall.Kill(hook, syscall.SIGKILL) // a host process of the hook's own: ours to end
			}
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("husk create did not end")
			}
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if fault == "waiting-for-start" {
				if !ws.Exited() || ws.ExitStatus() != 0 {
					t.Fatalf("create: %v: %s", cmd.ProcessState, lcReadFile(t, cmd.Stderr.(*os.File).Name()))
				}
				pid := lcPid(e, id)
				syscall.Kill(pid, syscall.SIGKILL)
				if !waitFor(10*time.Second, func() bool { return !pidAlive(pid) }) {
					t.Fatalf("init %d survived SIGKILL", pid)
				}
			} else if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("husk create was not killed at %s: %v: %s", fault, cmd.ProcessState, lcReadFile(t, cmd.Stderr.(*os.File).Name()))
			}
			var rec struct{ Pid int }
			if data, err := os.ReadFile(filepath.Join(e.root, id, "state.json")); err == nil {
				json.Unmarshal(data, &rec)
			}
			var list []struct{ ID, Status string }
			if err := json.Unmarshal([]byte(lcMust(e, "list", "--format", "json")), &list); err != nil {
				t.Fatal(err)
			}
			status := ""
			for _, c := range list {
				if c.ID == id {
					status = c.Status
				}
			}
			t.Logf("after the fault: status %q, init %d", status, rec.Pid)
			if status != "creating" && status != "stopped" {
				t.Errorf("list shows %q for the container, want creating or stopped: %+v", status, list)
			}

			lcMust(e, "delete", "--force", id)
			lcGone(e, id, b, rec.Pid)
			if r := lcHusk(e, "", "state", id); r.Code == 0 {
				t.Errorf("state after delete --force: %s", r.Stdout)
			}
			for _, p := range hdMountinfo(t) {
				if !slices.Contains(before, p) && (strings.HasPrefix(p, b.Dir) || strings.Contains(p, id)) {
					t.Errorf("mount left on the host: %s", p)
				}
			}
			if entries, _ := os.ReadDir(e.root); len(entries) != 0 {
				var names []string
				for _, en := range entries {
					names = append(names, en.Name())
				}
				t.Errorf("the state root still holds %v", names)
			}
			if _, err := os.Stat(cgroupDir(id)); err == nil {
				t.Errorf("cgroup %s left", cgroupDir(id))
			}
		})
	}
}

// TestHardenConcurrentCreateOneID: 20 creates of one id at once: exactly
// one succeeds, every other fails with one clear line ("already
// exists"), and the state is the winner's: created, one init in the
// cgroup, one container listed.
func TestHardenConcurrentCreateOneID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Process.Args = []string{"sleep", "100"}
	b.save()
	for round := 0; round < 2; round++ {
		id := newID(t)
		lcCleanup(e, id)
		results := lcCreateAtOnce(t, e, b, id, 20)
		ok := 0
		for _, r := range results {
			if r.Code == 0 {
				ok++
				continue
			}
			lcFails(t, "losing create", r, "container \""+id+"\"", "already exists")
		}
		if ok != 1 {
			t.Fatalf("round %d: %d of 20 creates succeeded, want 1", round, ok)
		}
		pid := lcPid(e, id)
		if st := lcStatus(e, id); st != "created" || !pidAlive(pid) {
			t.Errorf("round %d: the winner is %q, init %d alive %v", round, st, pid, pidAlive(pid))
		}
		if procs := lcCgroupProcs(t, id); len(procs) != 1 || procs[0] != pid {
			t.Errorf("round %d: the cgroup holds %v, want init %d alone", round, procs, pid)
		}
		entries, _ := os.ReadDir(filepath.Join(e.root, id))
		var names []string
		for _, en := range entries {
			names = append(names, en.Name())
		}
		if strings.Join(names, " ") != "exec.sock state.json" {
			t.Errorf("round %d: the state dir holds %v", round, names)
		}
		if out := lcMust(e, "list", "-q"); out != id+"\n" {
			t.Errorf("round %d: list -q = %q", round, out)
		}
		lcMust(e, "start", id)
		lcMust(e, "delete", "--force", id)
		lcGone(e, id, b, pid)
	}
}

// hdFileNr is the number of allocated file handles on the host.
func hdFileNr(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile("/proc/sys/fs/file-nr")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.Fields(string(data))[0])
	return n
}

func hdCountFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries) - 1 // the directory ReadDir opened
}

// hdCgroups lists the cgroups under husk's parent.
func hdCgroups() []string {
	entries, _ := os.ReadDir(filepath.Join(unifiedRoot(), "husk"))
	var names []string
	for _, en := range entries {
		if en.IsDir() {
			names = append(names, en.Name())
		}
	}
	return names
}

// TestHardenLoad: 100 containers, in batches of 10 at once, each
// created, started, exec'd into and deleted: every command succeeds, and
// afterwards the host is as before: the test's open fds, the allocated
// file handles (file-nr, give or take other users of this machine), the
// mount table and the cgroups under husk's parent. husk runs in a
// mount namespace of this test's own (a private copy of the host's), so
// that its mount table counts husk's mounts alone, not those of
// whatever else runs on the machine; the cgroups of other users of the
// machine come and go, so the ones counted are this test's.
func TestHardenLoad(t *testing.T) {
	const total, batch = 100, 10
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Process.Args = []string{"sleep", "1000"}
	b.save()
	holder := exec.Command("unshare", "--mount", "--propagation", "private", "sleep", "1000")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	mntns := fmt.Sprintf("/proc/%d/ns/mnt", holder.Process.Pid)
	own, _ := os.Readlink("/proc/self/ns/mnt")
	if !waitFor(5*time.Second, func() bool { l, err := os.Readlink(mntns); return err == nil && l != own }) {
		t.Fatal("unshare made no mount namespace")
	}
	mountinfo := func() []string {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", holder.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		var points []string
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if f := strings.Fields(line); len(f) > 4 {
				points = append(points, f[4])
			}
		}
		sort.Strings(points)
		return points
	}
	prefix := newID(t) + "-"
	husk := func(args ...string) (result, error) {
		cmd := exec.Command("nsenter", append([]string{"--mount=" + mntns, "--", huskBin, "--root", e.root}, args...)...)
		out, err := os.CreateTemp("", "husk-load-out")
		if err != nil {
			return result{}, err
		}
		defer os.Remove(out.Name())
		defer out.Close()
		cmd.Stdout, cmd.Stderr = out, out
		err = cmd.Run()
		data, _ := os.ReadFile(out.Name())
		r := result{Stdout: string(data)}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.Code = ee.ExitCode()
		} else if err != nil {
			return r, err
		}
		return r, nil
	}
	if r, err := husk("list"); err != nil || r.Code != 0 { // warm up: first runs load what they load
		t.Fatalf("list: %v %+v", err, r)
	}
	fds, fileNr, mounts, cgroups := hdCountFDs(t), hdFileNr(t), mountinfo(), hdCgroups()
	start := time.Now()
	var failures []string
	var mu sync.Mutex
	for first := 0; first < total; first += batch {
		var wg sync.WaitGroup
		for i := first; i < first+batch; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("%s%03d", prefix, i)
				for _, args := range [][]string{
					{"create", "--bundle", b.Dir, id}, {"start", id},
					{"exec", id, "sh", "-c", "echo exec-ok"}, {"delete", "--force", id},
				} {
					r, err := husk(args...)
					if err == nil && r.Code == 0 && (args[0] != "exec" || r.Stdout == "exec-ok\n") {
						continue
					}
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s: %v exit %d: %s", strings.Join(args, " "), err, r.Code, r.Stdout))
					mu.Unlock()
					husk("delete", "--force", id)
					return
				}
			}()
		}
		wg.Wait()
	}
	t.Logf("%d containers in %s", total, time.Since(start).Round(time.Millisecond))
	for _, f := range failures {
		t.Error(f)
	}

	if !waitFor(10*time.Second, func() bool { return hdCountFDs(t) == fds }) {
		t.Errorf("the test's open fds: %d, were %d", hdCountFDs(t), fds)
	}
	// A mount left behind is one that was not there before. Mounts may go
	// (rmdir of a mountpoint on the host detaches it in every namespace:
	// others' containers end meanwhile), so fewer is not husk's doing.
	if added := hdAdded(mounts, mountinfo()); len(added) > 0 {
		t.Errorf("mounts left in husk's mount table: %v", added)
	}
	if m := hdMountsIn(t, b.Dir, e.root); len(m) > 0 {
		t.Errorf("mounts on the host under the bundle or state root: %v", m)
	}
	var ours []string
	for _, c := range hdCgroups() {
		if strings.HasPrefix(c, prefix) {
			ours = append(ours, c)
		}
	}
	if len(ours) > 0 {
		t.Errorf("cgroups left: %v", ours)
	}
	t.Logf("cgroups under husk/: %d before, %d after (others' come and go)", len(cgroups), len(hdCgroups()))
	if entries, _ := os.ReadDir(e.root); len(entries) != 0 {
		t.Errorf("the state root holds %d entries", len(entries))
	}
	if pids := processesRootedIn(b.rootfs()); len(pids) > 0 {
		t.Errorf("processes left in the rootfs: %v", pids)
	}
	// Allocated file handles: the machine is shared, so allow for others'
	// churn, but not for one handle per container.
	if !waitFor(20*time.Second, func() bool { return hdFileNr(t) <= fileNr+total/2 }) {
		t.Errorf("allocated file handles: %d, were %d", hdFileNr(t), fileNr)
	}
	t.Logf("file handles: %d before, %d after", fileNr, hdFileNr(t))
}

// hdAdded lists the entries of now (sorted) beyond those of before
// (sorted), counting repeats: a second mount on one point counts.
func hdAdded(before, now []string) []string {
	var added []string
	i := 0
	for _, p := range now {
		for i < len(before) && before[i] < p {
			i++
		}
		if i < len(before) && before[i] == p {
			i++
			continue
		}
		added = append(added, p)
	}
	return added
}
