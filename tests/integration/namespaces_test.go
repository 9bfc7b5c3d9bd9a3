package integration

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestNamespacesNewEach creates one namespace type at a time (with a
// mount namespace; TestNamespacesNoneInherited goes without) and checks,
// from inside, that exactly that type (and mnt) differs from the host's
// while every other type is the host's own namespace.
func TestNamespacesNewEach(t *testing.T) {
	t.Parallel()
	host := map[string]string{}
	for _, name := range nsProcNames {
		host[name] = nsLinkOf(t, 0, name)
	}
	for _, typ := range nsAllTypes {
		t.Run(string(typ), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			nsSetNamespaces(b.Spec, specs.MountNamespace)
			if typ != specs.MountNamespace {
				nsSet(b.Spec, typ, "")
			}
			if typ != specs.UTSNamespace {
				b.Spec.Hostname = ""
			}
			if typ == specs.UserNamespace {
				nsAddUserNS(b)
				// Root of a user namespace that owns neither the pid, net
				// nor ipc namespace may not mount proc, sysfs or mqueue:
				// bind the host's instead.
				nsDropMounts(b.Spec, "/proc", "/sys", "/sys/fs/cgroup", "/dev/mqueue")
				b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/proc", Type: "bind", Source: "/proc", Options: []string{"rbind"}})
			}
			out := e.runIn(b, nsShowScript+`; echo "pid1 $$"`)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			links := nsParseLinks(t, strings.Join(lines[:len(lines)-1], "\n"))
			for _, other := range nsAllTypes {
				name := nsProcNames[other]
				isNew := other == typ || other == specs.MountNamespace
				if got := links[name] != host[name]; got != isNew {
					t.Errorf("%s namespace: container %s, host %s; want new=%v", name, links[name], host[name], isNew)
				}
			}
			pidLine := lines[len(lines)-1]
			if isOne := pidLine == "pid1 1"; isOne != (typ == specs.PIDNamespace) {
				t.Errorf("entrypoint's pid: %q (want 1 exactly with a new pid namespace)", pidLine)
			}
		})
	}
}

// TestNamespacesAllNew runs with all eight namespace types new at once.
func TestNamespacesAllNew(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	nsSetNamespaces(b.Spec, nsAllTypes...)
	nsAddUserNS(b)
	out := e.runIn(b, nsShowScript)
	links := nsParseLinks(t, out)
	for _, name := range nsProcNames {
		if host := nsLinkOf(t, 0, name); links[name] == host {
			t.Errorf("%s namespace is the host's (%s)", name, host)
		}
	}
}

// TestNamespacesAbsentShared removes one type from the default spec and
// checks the container is in the host's namespace of that type.
func TestNamespacesAbsentShared(t *testing.T) {
	t.Parallel()
	for _, typ := range []specs.LinuxNamespaceType{specs.NetworkNamespace, specs.PIDNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.CgroupNamespace} {
		t.Run(string(typ), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			nsRemove(b.Spec, typ)
			if typ == specs.UTSNamespace {
				b.Spec.Hostname = ""
			}
			name := nsProcNames[typ]
			links := nsParseLinks(t, e.runIn(b, nsShowScript))
			if host := nsLinkOf(t, 0, name); links[name] != host {
				t.Errorf("%s namespace: container %s, want the host's %s", name, links[name], host)
			}
			if host := nsLinkOf(t, 0, "mnt"); links["mnt"] == host {
				t.Errorf("mnt namespace is the host's (%s)", host)
			}
		})
	}
}

// nsIDMapLines parses /proc/PID/uid_map or gid_map content into
// "inside outside count" lines with single spaces.
func nsIDMapLines(content string) []string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(content), "\n") {
		out = append(out, strings.Join(strings.Fields(line), " "))
	}
	return out
}

func nsMapLines(maps []specs.LinuxIDMapping) []string {
	var out []string
	for _, m := range maps {
		out = append(out, fmt.Sprintf("%d %d %d", m.ContainerID, m.HostID, m.Size))
	}
	return out
}

// TestUserNamespaceMappings checks that several uidMappings and
// gidMappings lines are what the kernel reports in uid_map/gid_map, and
// that the process's ids map through them: `id` inside, and the host's
// view of the same process.
func TestUserNamespaceMappings(t *testing.T) {
	t.Parallel()
	uidMaps := []specs.LinuxIDMapping{
		{ContainerID: 0, HostID: 100000, Size: 1000},
		{ContainerID: 1000, HostID: 201000, Size: 1},
		{ContainerID: 2000, HostID: 300000, Size: 10},
	}
	gidMaps := []specs.LinuxIDMapping{
		{ContainerID: 0, HostID: 110000, Size: 100},
		{ContainerID: 100, HostID: 400000, Size: 65436},
	}
	setup := func(t *testing.T) (*env, *bundle) {
		e := newEnv(t)
		b := newBundle(t)
		nsAddUserNS(b)
		b.Spec.Linux.UIDMappings = uidMaps
		b.Spec.Linux.GIDMappings = gidMaps
		return e, b
	}

	t.Run("inside", func(t *testing.T) {
		t.Parallel()
		for _, u := range []struct {
			uid, gid uint32
			id       string
		}{
			{0, 0, "uid=0(root) gid=0(root)"},
			{1000, 1000, "uid=1000(user) gid=1000(user)"},
		} {
			e, b := setup(t)
			b.Spec.Process.User = specs.User{UID: u.uid, GID: u.gid}
			out := e.runIn(b, `cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; id`)
			parts := strings.Split(out, "--\n")
			if len(parts) != 3 {
				t.Fatalf("unexpected output:\n%s", out)
			}
			if got, want := nsIDMapLines(parts[0]), nsMapLines(uidMaps); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("uid_map:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if got, want := nsIDMapLines(parts[1]), nsMapLines(gidMaps); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("gid_map:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if got := strings.TrimSpace(parts[2]); !strings.HasPrefix(got, u.id) {
				t.Errorf("id: %q, want %q...", got, u.id)
			}
		}
	})

	t.Run("host view", func(t *testing.T) {
		t.Parallel()
		e, b := setup(t)
		b.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
		_, pid := nsHuskHolder(t, e, b)
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			t.Fatal(err)
		}
		if got := nsStatusField(t, string(status), "Uid"); got != "201000 201000 201000 201000" {
			t.Errorf("host sees Uid: %s, want 201000 (container uid 1000 through the second line)", got)
		}
		if got := nsStatusField(t, string(status), "Gid"); got != "400900 400900 400900 400900" {
			t.Errorf("host sees Gid: %s, want 400900 (container gid 1000 through the second line)", got)
		}
	})
}

// TestUserNamespaceRootfsOwnership: root in the container is host uid
// 100000. A rootfs owned by 100000:100000 is its own (it can write, and
// the file is 100000's on the host); the usual rootfs, owned by host root,
// is nobody's inside and not writable.
func TestUserNamespaceRootfsOwnership(t *testing.T) {
	t.Parallel()
	script := `stat -c '%u:%g' / /root; echo hello > /root/f && stat -c '%u:%g' /root/f`

	t.Run("mapped owner", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := newBundle(t)
		nsAddUserNS(b)
		b.Spec.Root.Readonly = false
		nsPrivateRootfs(t, b, 100000, 100000)
		out := e.runIn(b, script)
		if want := "0:0\n0:0\n0:0\n"; out != want {
			t.Errorf("owners inside: %q, want %q", out, want)
		}
		var st syscall.Stat_t
		if err := syscall.Stat(b.rootfs()+"/root/f", &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != 100000 || st.Gid != 100000 {
			t.Errorf("file written by container root is %d:%d on the host, want 100000:100000", st.Uid, st.Gid)
		}
	})

	t.Run("host root owner", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := newBundle(t)
		nsAddUserNS(b)
		b.Spec.Root.Readonly = false
		r, _ := nsRunScript(e, b, script)
		if r.Code == 0 || r.Stdout != "65534:65534\n65534:65534\n" || !strings.Contains(r.Stderr, "ermission denied") {
			t.Errorf("want unmapped owners shown as 65534 and the write refused; exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
		}
		if _, err := os.Stat(b.rootfs() + "/root/f"); err == nil {
			t.Errorf("container root wrote into a directory of host root")
		}
	})
}

// TestUserNamespaceValidation: mapping errors are refused before anything
// is made, naming the field.
func TestUserNamespaceValidation(t *testing.T) {
	t.Parallel()
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	noRoot := []specs.LinuxIDMapping{{ContainerID: 1, HostID: 100000, Size: 65535}}
	for _, tc := range []struct {
		name       string
		userNS     bool
		uids, gids []specs.LinuxIDMapping
		want       string
	}{
		{"user ns without mappings", true, nil, nil, "linux.uidMappings: required with a new user namespace"},
		{"user ns without gid mappings", true, maps, nil, "linux.gidMappings: required with a new user namespace"},
		{"mappings without user ns", false, maps, maps, "linux.uidMappings: given without a new user namespace"},
		{"uid 0 not mapped", true, noRoot, maps, "linux.uidMappings: must map the container's root"},
		{"gid 0 not mapped", true, maps, noRoot, "linux.gidMappings: must map the container's root"},
		{"zero size", true, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 0}}, maps, "linux.uidMappings[0].size: must be at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			if tc.userNS {
				nsSet(b.Spec, specs.UserNamespace, "")
			}
			b.Spec.Linux.UIDMappings, b.Spec.Linux.GIDMappings = tc.uids, tc.gids
			nsExpectFailure(t, e, b, tc.want)
		})
	}
}

// TestNamespacesJoin joins, by path, each namespace of a running holder
// container (a husk container running sleep, with a time namespace too)
// and checks the container's namespace is the holder's, plus what that
// namespace visibly brings.
func TestNamespacesJoin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hb := newBundle(t)
	hb.Spec.Hostname = "holder-host"
	nsSet(hb.Spec, specs.TimeNamespace, "")
	hb.Spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 7000000}}
	_, holder := nsHuskHolder(t, e, hb)

	for _, tc := range []struct {
		typ    specs.LinuxNamespaceType
		script string
		// want is the script's output; %s stands for the joiner's id.
		want string
	}{
		{specs.NetworkNamespace, "", ""},
		{specs.IPCNamespace, "", ""},
		{specs.UTSNamespace, "hostname", "holder-host\n"},
		{specs.PIDNamespace, `cat /proc/1/comm; [ $$ != 1 ] && echo not-init`, "sleep\nnot-init\n"},
		{specs.CgroupNamespace, `grep '^0::' /proc/self/cgroup`, "0::/../%s\n"},
		{specs.TimeNamespace, `cat /proc/self/timens_offsets`, "monotonic 0 0\nboottime 7000000 0\n"},
	} {
		t.Run(string(tc.typ), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			name := nsProcNames[tc.typ]
			nsSet(b.Spec, tc.typ, fmt.Sprintf("/proc/%d/ns/%s", holder, name))
			if tc.typ == specs.UTSNamespace {
				b.Spec.Hostname = ""
			}
			script := nsShowScript + "; echo ==; " + tc.script
			r, id := nsRunScript(e, b, script)
			if r.Code != 0 {
				t.Fatalf("container exited %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
			}
			links, extra, _ := strings.Cut(r.Stdout, "==\n")
			got := nsParseLinks(t, links)
			if want := nsLinkOf(t, holder, name); got[name] != want {
				t.Errorf("%s namespace: %s, want the holder's %s", name, got[name], want)
			}
			if host := nsLinkOf(t, 0, name); got[name] == host {
				t.Errorf("%s namespace is the host's", name)
			}
			if got["mnt"] == nsLinkOf(t, holder, "mnt") {
				t.Errorf("mnt namespace is the holder's, though only %s was joined", name)
			}
			want := tc.want
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, id)
			}
			if norm := nsNormalize(extra); norm != want {
				t.Errorf("inside the joined %s namespace, %q printed %q, want %q", name, tc.script, norm, want)
			}
		})
	}
}

// nsNormalize collapses runs of blanks in each line to one space.
func nsNormalize(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		out = append(out, strings.Join(strings.Fields(line), " "))
	}
	return strings.Join(out, "\n")
}

// TestNamespacesJoinMount joins the mount namespace of a process that
// has a tmpfs mounted over the bundle's rootfs/mnt, invisible from the
// host: the container sees it.
func TestNamespacesJoinMount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	mnt := b.rootfs() + "/mnt"
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	holder := nsUnshareHolder(t, "--mount", "--propagation", "private", "--", "sh", "-c",
		`mount -t tmpfs husk-test "$1" && echo from-holder > "$1/marker" && exec sleep 1000`, "sh", mnt)
	nsSet(b.Spec, specs.MountNamespace, fmt.Sprintf("/proc/%d/ns/mnt", holder))
	b.Spec.Process.Args = []string{"sh", "-c", nsShowScript + "; echo ==; cat /mnt/marker"}
	b.save()
	id := newID(t)
	r := e.husk("run", "--bundle", b.Dir, id)
	if r.Code != 0 {
		t.Fatalf("container exited %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	links, extra, _ := strings.Cut(r.Stdout, "==\n")
	if got, want := nsParseLinks(t, links)["mnt"], nsLinkOf(t, holder, "mnt"); got != want {
		t.Errorf("mnt namespace: %s, want the holder's %s", got, want)
	}
	if extra != "from-holder\n" {
		t.Errorf("/mnt/marker inside: %q, want the holder's tmpfs content", extra)
	}
	if _, err := os.Stat(mnt + "/marker"); err == nil {
		t.Errorf("the holder's tmpfs is visible on the host")
	}
	// pivot_root in the joined namespace moved the holder's root too, so
	// it counts as rooted in the rootfs: end it before checking.
	syscall.Kill(holder, syscall.SIGKILL)
	waitFor(5*time.Second, func() bool { return !pidAlive(holder) })
	e.checkGone(id, b)
}

// TestNamespacesJoinUser joins the user namespace of a holder container
// and creates the others: they belong to the joined namespace, so init is
// pid 1 of a new pid namespace, root inside maps to the holder's range,
// and a new time namespace gets its offsets.
func TestNamespacesJoinUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hb := newBundle(t)
	nsAddUserNS(hb)
	hb.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 5000}, {ContainerID: 5000, HostID: 300000, Size: 100}}
	_, holder := nsHuskHolder(t, e, hb)
	holderMap, err := os.ReadFile(fmt.Sprintf("/proc/%d/uid_map", holder))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name    string
		offsets map[string]specs.LinuxTimeOffset
		want    string
	}{
		{"new time ns", nil, "monotonic 0 0\nboottime 0 0\n"},
		{"new time ns with offsets", map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 12345}}, "monotonic 12345 0\nboottime 0 0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			nsTraversable(t, b)
			nsSet(b.Spec, specs.UserNamespace, fmt.Sprintf("/proc/%d/ns/user", holder))
			nsSet(b.Spec, specs.TimeNamespace, "")
			b.Spec.Linux.TimeOffsets = tc.offsets
			r, _ := nsRunScript(e, b, nsShowScript+`; echo ==; echo $$; id -u; cat /proc/self/uid_map; echo ==; cat /proc/self/timens_offsets`)
			if r.Code != 0 {
				t.Fatalf("container exited %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
			}
			parts := strings.Split(r.Stdout, "==\n")
			if len(parts) != 3 {
				t.Fatalf("unexpected output:\n%s", r.Stdout)
			}
			links := nsParseLinks(t, parts[0])
			if want := nsLinkOf(t, holder, "user"); links["user"] != want {
				t.Errorf("user namespace: %s, want the holder's %s", links["user"], want)
			}
			for _, name := range []string{"pid", "mnt", "net", "time"} {
				if links[name] == nsLinkOf(t, holder, name) || links[name] == nsLinkOf(t, 0, name) {
					t.Errorf("%s namespace %s is the holder's or the host's, want a new one", name, links[name])
				}
			}
			if want := "1\n0\n" + nsNormalize(string(holderMap)); nsNormalize(parts[1]) != want {
				t.Errorf("pid, uid and uid_map inside:\n%s\nwant:\n%s", parts[1], want)
			}
			if got := nsNormalize(parts[2]); got != tc.want {
				t.Errorf("timens_offsets: %q, want %q", got, tc.want)
			}
		})
	}
}

// TestNamespacesJoinBadPath: a path that does not exist, one of another
// namespace type and a file that is no namespace are refused, naming the
// entry, and leave nothing behind.
func TestNamespacesJoinBadPath(t *testing.T) {
	t.Parallel()
	notNS := t.TempDir() + "/plain"
	if err := os.WriteFile(notNS, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ipcOfTest := fmt.Sprintf("/proc/%d/ns/ipc", os.Getpid())
	userOfTest := fmt.Sprintf("/proc/%d/ns/user", os.Getpid())
	for _, tc := range []struct {
		name string
		typ  specs.LinuxNamespaceType
		path string
		want string
	}{
		{"missing", specs.NetworkNamespace, "/proc/999999/ns/net", "/proc/999999/ns/net: no such file or directory"},
		{"missing user", specs.UserNamespace, "/proc/999999/ns/user", "/proc/999999/ns/user: no such file or directory"},
		{"missing mnt", specs.MountNamespace, "/proc/999999/ns/mnt", "/proc/999999/ns/mnt: no such file or directory"},
		{"wrong type", specs.NetworkNamespace, ipcOfTest, ipcOfTest + ": is a ipc namespace, not network"},
		{"wrong type pid", specs.PIDNamespace, ipcOfTest, ipcOfTest + ": is a ipc namespace, not pid"},
		{"not a namespace", specs.UTSNamespace, notNS, notNS + ": not a namespace file"},
		// Valid, but setns refuses it (EINVAL: one's own user namespace),
		// so it fails in init, after cgroup and state dir were made.
		{"setns refused", specs.UserNamespace, userOfTest, "joining namespaces: setns " + userOfTest + ": Invalid argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			if tc.typ == specs.UTSNamespace {
				b.Spec.Hostname = ""
			}
			nsSet(b.Spec, tc.typ, tc.path)
			want := fmt.Sprintf("linux.namespaces[%d].path: %s", nsIndex(t, b.Spec, tc.typ), tc.want)
			if strings.HasPrefix(tc.want, "joining") {
				want = tc.want
			}
			nsExpectFailure(t, e, b, want)
		})
	}
}

// nsUptime parses the first field of /proc/uptime (boottime, in seconds).
func nsUptime(t *testing.T, content string) float64 {
	t.Helper()
	f := strings.Fields(content)
	if len(f) != 2 {
		t.Fatalf("unexpected /proc/uptime %q", content)
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestTimeNamespaceOffsets: a new time namespace with linux.timeOffsets
// shifts the container's boottime clock (/proc/uptime) by the offset, and
// /proc/self/timens_offsets shows both offsets.
func TestTimeNamespaceOffsets(t *testing.T) {
	t.Parallel()
	const boot, mono = 5000000, 86400 * 3
	e := newEnv(t)
	b := newBundle(t)
	nsSet(b.Spec, specs.TimeNamespace, "")
	b.Spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{
		"boottime":  {Secs: boot},
		"monotonic": {Secs: mono, Nanosecs: 500},
	}
	before, _ := os.ReadFile("/proc/uptime")
	out := e.runIn(b, "cat /proc/uptime; cat /proc/self/timens_offsets")
	after, _ := os.ReadFile("/proc/uptime")
	lines := strings.SplitN(out, "\n", 2)
	if len(lines) != 2 {
		t.Fatalf("unexpected output %q", out)
	}
	inside := nsUptime(t, lines[0]) - boot
	if lo, hi := nsUptime(t, string(before)), nsUptime(t, string(after)); inside < lo-1 || inside > hi+1 {
		t.Errorf("container uptime %s minus the %d s offset = %.2f, want within host's [%.2f, %.2f]", lines[0], boot, inside, lo, hi)
	}
	if got, want := nsNormalize(lines[1]), fmt.Sprintf("monotonic %d 500\nboottime %d 0\n", mono, boot); got != want {
		t.Errorf("timens_offsets: %q, want %q", got, want)
	}
}

// TestTimeNamespaceValidation: offsets need a new time namespace, and
// only the two clocks exist.
func TestTimeNamespaceValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		newTime bool
		clock   string
		want    string
	}{
		{"offsets without time ns", false, "boottime", "linux.timeOffsets: requires a new time namespace"},
		{"unknown clock", true, "realtime", "linux.timeOffsets.realtime: unknown clock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			if tc.newTime {
				nsSet(b.Spec, specs.TimeNamespace, "")
			}
			b.Spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{tc.clock: {Secs: 100}}
			nsExpectFailure(t, e, b, tc.want)
		})
	}
}

// TestCgroupNamespace: with a cgroup namespace the container's cgroup is
// its root ("0::/"); without, it sees its path in the host's hierarchy.
func TestCgroupNamespace(t *testing.T) {
	t.Parallel()
	for _, withNS := range []bool{true, false} {
		t.Run(fmt.Sprintf("cgroupns=%v", withNS), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			if !withNS {
				nsRemove(b.Spec, specs.CgroupNamespace)
			}
			r, id := nsRunScript(e, b, `grep '^0::' /proc/self/cgroup`)
			if r.Code != 0 {
				t.Fatalf("container exited %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
			}
			want := "0::/\n"
			if !withNS {
				// The test runs at the root of its cgroup namespace.
				want = "0::/husk/" + id + "\n"
			}
			if r.Stdout != want {
				t.Errorf("/proc/self/cgroup: %q, want %q", r.Stdout, want)
			}
		})
	}
}

// TestHostnameDomainname: a new or joined uts namespace gets hostname and
// domainname, the host's are untouched; without one, both are refused.
func TestHostnameDomainname(t *testing.T) {
	t.Parallel()
	hostBefore, _ := os.ReadFile("/proc/sys/kernel/hostname")
	domainBefore, _ := os.ReadFile("/proc/sys/kernel/domainname")

	t.Run("new uts", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := newBundle(t)
		b.Spec.Hostname = "box-one"
		b.Spec.Domainname = "example.test"
		out := e.runIn(b, "hostname; cat /proc/sys/kernel/domainname")
		if out != "box-one\nexample.test\n" {
			t.Errorf("hostname and domainname inside: %q", out)
		}
		hostAfter, _ := os.ReadFile("/proc/sys/kernel/hostname")
		domainAfter, _ := os.ReadFile("/proc/sys/kernel/domainname")
		if string(hostAfter) != string(hostBefore) || string(domainAfter) != string(domainBefore) {
			t.Errorf("host's names changed: %q %q → %q %q", hostBefore, domainBefore, hostAfter, domainAfter)
		}
	})
	// A joined uts namespace gets them too (as with runc): it is the
	// container's, not the host's.
	t.Run("joined uts", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := newBundle(t)
		holder := nsUnshareHolder(t, "--uts", "--")
		nsSet(b.Spec, specs.UTSNamespace, fmt.Sprintf("/proc/%d/ns/uts", holder))
		b.Spec.Hostname = "box-joined"
		r, _ := nsRunScript(e, b, "hostname")
		if r.Code != 0 || r.Stdout != "box-joined\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
		}
		out, err := exec.Command("nsenter", "-t", strconv.Itoa(holder), "-u", "hostname").Output()
		if err != nil || string(out) != "box-joined\n" {
			t.Errorf("the joined namespace's hostname: %q, %v", out, err)
		}
		if hostAfter, _ := os.ReadFile("/proc/sys/kernel/hostname"); string(hostAfter) != string(hostBefore) {
			t.Errorf("host's hostname changed: %q → %q", hostBefore, hostAfter)
		}
	})
	for _, tc := range []struct {
		name, hostname, domainname, want string
	}{
		{"hostname without uts", "box-two", "", "hostname: setting the hostname requires a uts namespace (new or joined)"},
		{"domainname without uts", "", "example.test", "domainname: setting the domain name requires a uts namespace (new or joined)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			nsRemove(b.Spec, specs.UTSNamespace)
			b.Spec.Hostname, b.Spec.Domainname = tc.hostname, tc.domainname
			nsExpectFailure(t, e, b, tc.want)
		})
	}
}
