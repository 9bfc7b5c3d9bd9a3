package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// fsBind is a bind mount of source at dest with options (default "bind").
func fsBind(source, dest string, options ...string) specs.Mount {
	if len(options) == 0 {
		options = []string{"bind"}
	}
	return specs.Mount{Destination: dest, Type: "bind", Source: source, Options: options}
}

// fsSourceRoot checks that m's root (its path inside the filesystem) is
// host path src: the bind shows what it was asked to show.
func fsSourceRoot(t *testing.T, m fsMount, src string) {
	t.Helper()
	if m.Root == "/" || !strings.HasSuffix(src, m.Root) {
		t.Errorf("mount at %s shows %q, want the source %s: %s", m.Point, m.Root, src, m)
	}
}

// TestMountsDefaultSpec: every mount of `husk spec`'s config is there with
// its type and options, and does what they say.
func TestMountsDefaultSpec(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	v := fsInspect(e, b,
		fsEcho("pid1", "cat /proc/1/comm"),
		fsEcho("dev-mode", "stat -c %a /dev"),
		fsEcho("shm-mode", "stat -c %a /dev/shm"),
		fsEcho("ptmx", "stat -c '%a %u' /dev/pts/ptmx"),
		fsTry("sys-write", "touch /sys/newfile"),
		fsTry("cgroup-write", "mkdir /sys/fs/cgroup/newgroup"),
		fsTry("shm-write", "echo x > /dev/shm/f"),
		fsTry("mqueue-list", "ls /dev/mqueue"))
	cases := []struct {
		point, fstype string
		opts, notOpts []string
		super         []string
	}{
		{"/proc", "proc", []string{"rw"}, nil, nil},
		{"/dev", "tmpfs", []string{"rw", "nosuid"}, []string{"relatime", "noatime", "noexec"}, []string{"size=65536k", "mode=755"}},
		{"/dev/pts", "devpts", []string{"rw", "nosuid", "noexec"}, nil, []string{"gid=5", "mode=620", "ptmxmode=666"}},
		{"/dev/shm", "tmpfs", []string{"rw", "nosuid", "nodev", "noexec"}, nil, []string{"size=65536k"}},
		{"/dev/mqueue", "mqueue", []string{"rw", "nosuid", "nodev", "noexec"}, nil, nil},
		{"/sys", "sysfs", []string{"ro", "nosuid", "nodev", "noexec"}, nil, nil},
		{"/sys/fs/cgroup", "cgroup2", []string{"ro", "nosuid", "nodev", "noexec", "relatime"}, nil, nil},
	}
	for _, c := range cases {
		m := v.mustTop(t, c.point)
		if m.FSType != c.fstype {
			t.Errorf("%s is %s, want %s: %s", c.point, m.FSType, c.fstype, m)
		}
		for _, o := range c.opts {
			if !m.opt(o) {
				t.Errorf("%s lacks %s: %s", c.point, o, m)
			}
		}
		for _, o := range c.notOpts {
			if m.opt(o) {
				t.Errorf("%s has %s: %s", c.point, o, m)
			}
		}
		for _, o := range c.super {
			if !m.super(o) {
				t.Errorf("%s lacks filesystem option %s: %s", c.point, o, m)
			}
		}
	}
	// newinstance: the container's devpts is not the host's.
	devpts := v.mustTop(t, "/dev/pts")
	for _, h := range fsHostMounts(t) {
		if h.FSType == "devpts" && h.MajMin == devpts.MajMin {
			t.Errorf("the container's devpts is the host's %s: %s", h.Point, devpts)
		}
	}
	if m := v.mustTop(t, "/sys/fs/cgroup"); m.Root != "/" {
		t.Errorf("/sys/fs/cgroup shows %q, want its cgroup namespace's root: %s", m.Root, m)
	}
	v.wantVal(t, "pid1", "sh")
	v.wantVal(t, "dev-mode", "755")
	v.wantVal(t, "shm-mode", "1777")
	v.wantVal(t, "ptmx", "666 0")
	v.wantErr(t, "sys-write", "Read-only file system")
	v.wantErr(t, "cgroup-write", "Read-only file system")
	v.wantOK(t, "shm-write")
	v.wantOK(t, "mqueue-list")
}

// TestMountsBind: binds of directories and files, with a source relative
// to the bundle or absolute, show the source, and writes reach it.
func TestMountsBind(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		file     bool
		relative bool
		dest     string
	}{
		{"dir relative", false, true, "/mnt/data"},
		{"dir absolute", false, false, "/mnt/data"},
		{"dir over existing", false, false, "/etc"},
		{"file relative", true, true, "/etc/app.conf"},
		{"file absolute", true, false, "/opt/app/app.conf"},
		{"file over existing", true, false, "/etc/passwd"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			token := fsToken()
			base := t.TempDir()
			if tc.relative {
				base = b.Dir
			}
			src := filepath.Join(base, "data")
			if tc.file {
				src = filepath.Join(base, "data.conf")
				fsWriteFile(t, src, token)
			} else {
				fsWriteFile(t, filepath.Join(src, "hello"), token)
			}
			source := src
			if tc.relative {
				source = filepath.Base(src)
			}
			b.Spec.Mounts = append(b.Spec.Mounts, fsBind(source, tc.dest))
			var v fsView
			if tc.file {
				v = fsInspect(e, b,
					fsTry("type", "test -f "+tc.dest),
					fsEcho("content", "cat "+tc.dest),
					fsTry("write", "echo -n +more >> "+tc.dest))
			} else {
				v = fsInspect(e, b,
					fsTry("type", "test -d "+tc.dest),
					fsEcho("content", "cat "+tc.dest+"/hello"),
					fsTry("write", "echo -n +more > "+tc.dest+"/hello"))
			}
			v.wantOK(t, "type")
			v.wantVal(t, "content", token)
			v.wantOK(t, "write")
			m := v.mustTop(t, tc.dest)
			fsSourceRoot(t, m, src)
			if !m.opt("rw") {
				t.Errorf("a bind without ro is not rw: %s", m)
			}
			hostFile := src
			if !tc.file {
				hostFile = filepath.Join(src, "hello")
			}
			if data, _ := os.ReadFile(hostFile); !strings.HasSuffix(string(data), "+more") {
				t.Errorf("the write did not reach the source: %q", data)
			}
		})
	}
}

// TestMountsSubmounts: rbind brings the source's submounts and bind does
// not; ro applies to the bind only, rro/rnosuid/rnoexec/rnodev to every
// mount of the tree.
func TestMountsSubmounts(t *testing.T) {
	t.Parallel()
	type flags map[string][]string // mount point → options it must have
	cases := []struct {
		name    string
		options []string
		sub     bool // the submount is visible
		want    flags
		notWant flags
		ok      []string // probes that must succeed
		erofs   []string // probes that must fail with EROFS
		eacces  []string // probes that must fail with EACCES
	}{
		{name: "bind", options: []string{"bind"}, sub: false},
		{name: "rbind", options: []string{"rbind"}, sub: true,
			ok: []string{"write-top", "write-sub", "exec-top", "exec-sub"}},
		{name: "rbind ro", options: []string{"rbind", "ro"}, sub: true,
			want: flags{"/mnt/s": {"ro"}, "/mnt/s/sub": {"rw"}},
			ok:   []string{"write-sub"}, erofs: []string{"write-top"}},
		{name: "rbind rro", options: []string{"rbind", "rro"}, sub: true,
			want:  flags{"/mnt/s": {"ro"}, "/mnt/s/sub": {"ro"}},
			erofs: []string{"write-top", "write-sub"}},
		{name: "rbind nosuid", options: []string{"rbind", "nosuid"}, sub: true,
			want: flags{"/mnt/s": {"nosuid"}}, notWant: flags{"/mnt/s/sub": {"nosuid"}}},
		{name: "rbind rnosuid", options: []string{"rbind", "rnosuid"}, sub: true,
			want: flags{"/mnt/s": {"nosuid"}, "/mnt/s/sub": {"nosuid"}}},
		{name: "rbind noexec", options: []string{"rbind", "noexec"}, sub: true,
			want: flags{"/mnt/s": {"noexec"}}, notWant: flags{"/mnt/s/sub": {"noexec"}},
			ok: []string{"exec-sub"}, eacces: []string{"exec-top"}},
		{name: "rbind rnoexec", options: []string{"rbind", "rnoexec"}, sub: true,
			want:   flags{"/mnt/s": {"noexec"}, "/mnt/s/sub": {"noexec"}},
			eacces: []string{"exec-top", "exec-sub"}},
		{name: "rbind rnodev", options: []string{"rbind", "rnodev"}, sub: true,
			want: flags{"/mnt/s": {"nodev"}, "/mnt/s/sub": {"nodev"}}},
		{name: "rbind rro then rrw", options: []string{"rbind", "rro", "rrw"}, sub: true,
			want: flags{"/mnt/s": {"rw"}, "/mnt/s/sub": {"rw"}},
			ok:   []string{"write-top", "write-sub"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Root.Readonly = false
			src := t.TempDir()
			token := fsToken()
			script := "#!/bin/sh\necho ran\n"
			if err := os.WriteFile(filepath.Join(src, "run.sh"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			sub := filepath.Join(src, "sub")
			os.Mkdir(sub, 0o755)
			fsMountTmpfs(t, sub)
			fsWriteFile(t, filepath.Join(sub, "inner"), token)
			if err := os.WriteFile(filepath.Join(sub, "run.sh"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			b.Spec.Mounts = append(b.Spec.Mounts, fsBind(src, "/mnt/s", tc.options...))
			v := fsInspect(e, b,
				fsEcho("sub-list", "ls -A /mnt/s/sub"),
				fsTry("write-top", "touch /mnt/s/new"),
				fsTry("write-sub", "touch /mnt/s/sub/new"),
				fsTry("exec-top", "/mnt/s/run.sh"),
				fsTry("exec-sub", "/mnt/s/sub/run.sh"))
			top := v.mustTop(t, "/mnt/s")
			fsSourceRoot(t, top, src)
			subm, hasSub := v.top("/mnt/s/sub")
			if hasSub != tc.sub {
				t.Fatalf("submount visible = %v, want %v; mountinfo:\n%s", hasSub, tc.sub, v.table())
			}
			if tc.sub {
				if subm.FSType != "tmpfs" {
					t.Errorf("/mnt/s/sub is not the source's tmpfs: %s", subm)
				}
				v.wantVal(t, "sub-list", "inner run.sh")
			} else {
				v.wantVal(t, "sub-list", "")
			}
			for point, opts := range tc.want {
				m := v.mustTop(t, point)
				for _, o := range opts {
					if !m.opt(o) {
						t.Errorf("%s lacks %s: %s", point, o, m)
					}
				}
			}
			for point, opts := range tc.notWant {
				m := v.mustTop(t, point)
				for _, o := range opts {
					if m.opt(o) {
						t.Errorf("%s has %s: %s", point, o, m)
					}
				}
			}
			for _, p := range tc.ok {
				v.wantOK(t, p)
			}
			for _, p := range tc.erofs {
				v.wantErr(t, p, "Read-only file system")
			}
			for _, p := range tc.eacces {
				v.wantErr(t, p, "Permission denied")
			}
		})
	}
}

// TestMountsFlags: each per-mount flag shows in mountinfo and has its
// effect, and the opposite (or no) option does not.
func TestMountsFlags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		options []string
		opt     string // must be in mountinfo ("" none)
		notOpt  string // must not be
		user    bool   // run as uid 1000, setuid allowed
		probe   string
		wantErr string // "" means the probe must succeed; "!" any failure
		wantVal string // for probes printing a value
	}{
		{name: "ro", options: []string{"bind", "ro"}, opt: "ro",
			probe: "touch /mnt/s/new", wantErr: "Read-only file system"},
		{name: "rw", options: []string{"bind", "rw"}, opt: "rw",
			probe: "touch /mnt/s/new"},
		{name: "ro then rw", options: []string{"bind", "ro", "rw"}, opt: "rw",
			probe: "touch /mnt/s/new"},
		{name: "nodev", options: []string{"bind", "nodev"}, opt: "nodev",
			probe: "echo x > /mnt/s/null", wantErr: "Permission denied"},
		{name: "dev", options: []string{"bind", "dev"}, notOpt: "nodev",
			probe: "echo x > /mnt/s/null"},
		{name: "noexec", options: []string{"bind", "noexec"}, opt: "noexec",
			probe: "/mnt/s/run.sh", wantErr: "Permission denied"},
		{name: "noexec binary", options: []string{"bind", "noexec"}, opt: "noexec",
			probe: "/mnt/s/busybox true", wantErr: "Permission denied"},
		{name: "exec", options: []string{"bind", "exec"}, notOpt: "noexec",
			probe: "/mnt/s/run.sh"},
		// A setuid-root busybox run by uid 1000 becomes undumpable, so its
		// /proc/self files turn root-owned; under nosuid it stays 1000's.
		{name: "nosuid", options: []string{"bind", "nosuid"}, opt: "nosuid", user: true,
			probe: "/mnt/s/busybox stat -c %u /proc/self/auxv", wantVal: "1000"},
		{name: "suid", options: []string{"bind", "suid"}, notOpt: "nosuid", user: true,
			probe: "/mnt/s/busybox stat -c %u /proc/self/auxv", wantVal: "0"},
		{name: "nosymfollow", options: []string{"bind", "nosymfollow"}, opt: "nosymfollow",
			probe: "cat /mnt/s/link", wantErr: "!"},
		{name: "symfollow", options: []string{"bind"}, notOpt: "nosymfollow",
			probe: "cat /mnt/s/link"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			src := t.TempDir()
			if err := os.WriteFile(filepath.Join(src, "run.sh"), []byte("#!/bin/sh\necho ran\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(tc.probe, "busybox") {
				fsCopyBusybox(t, src, 0o4755)
			}
			if err := unix.Mknod(filepath.Join(src, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
				t.Fatal(err)
			}
			os.Chmod(filepath.Join(src, "null"), 0o666)
			fsWriteFile(t, filepath.Join(src, "target"), "x")
			os.Symlink("target", filepath.Join(src, "link"))
			os.Chmod(src, 0o777)
			if tc.user {
				b.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
				b.Spec.Process.NoNewPrivileges = false
			}
			b.Spec.Mounts = append(b.Spec.Mounts, fsBind(src, "/mnt/s", tc.options...))
			var v fsView
			if tc.wantVal != "" {
				v = fsInspect(e, b, fsEcho("p", tc.probe))
				v.wantVal(t, "p", tc.wantVal)
			} else {
				v = fsInspect(e, b, fsTry("p", tc.probe))
				switch tc.wantErr {
				case "":
					v.wantOK(t, "p")
				case "!":
					v.wantErr(t, "p", "")
				default:
					v.wantErr(t, "p", tc.wantErr)
				}
			}
			m := v.mustTop(t, "/mnt/s")
			if tc.opt != "" && !m.opt(tc.opt) {
				t.Errorf("/mnt/s lacks %s: %s", tc.opt, m)
			}
			if tc.notOpt != "" && m.opt(tc.notOpt) {
				t.Errorf("/mnt/s has %s: %s", tc.notOpt, m)
			}
		})
	}
}

// TestMountsAtime: strictatime, relatime and noatime show in mountinfo and
// decide whether reading a file updates its access time.
func TestMountsAtime(t *testing.T) {
	t.Parallel()
	cases := []struct {
		option string
		shown  string // the mountinfo option ("" for strictatime: none)
		// recent: atime newer than mtime and ctime (in the future, since
		// setting it sets ctime to now), less than a day old;
		// stale: atime older than mtime.
		recentUpdated, staleUpdated bool
	}{
		{"strictatime", "", true, true},
		{"relatime", "relatime", false, true},
		{"noatime", "noatime", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.option, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			src := t.TempDir()
			now := time.Now()
			times := map[string][2]time.Time{ // name → atime, mtime
				"recent": {now.Add(time.Hour), now.Add(-2 * time.Hour)},
				"stale":  {now.Add(-2 * time.Hour), now.Add(-time.Hour)},
			}
			for name, tm := range times {
				p := filepath.Join(src, name)
				fsWriteFile(t, p, "content")
				if err := os.Chtimes(p, tm[0], tm[1]); err != nil {
					t.Fatal(err)
				}
			}
			b.Spec.Mounts = append(b.Spec.Mounts, fsBind(src, "/mnt/s", "bind", tc.option))
			v := fsInspect(e, b,
				"cat /mnt/s/recent /mnt/s/stale > /dev/null",
				fsEcho("recent", "stat -c %X /mnt/s/recent"),
				fsEcho("stale", "stat -c %X /mnt/s/stale"))
			m := v.mustTop(t, "/mnt/s")
			for _, o := range []string{"relatime", "noatime"} {
				if (o == tc.shown) != m.opt(o) {
					t.Errorf("/mnt/s with %s: %s shown = %v: %s", tc.option, o, m.opt(o), m)
				}
			}
			for name, want := range map[string]bool{"recent": tc.recentUpdated, "stale": tc.staleUpdated} {
				atime, err := strconv.ParseInt(v.val(t, name), 10, 64)
				if err != nil {
					t.Fatalf("%s atime: %v", name, err)
				}
				updated := atime != times[name][0].Unix()
				if updated != want {
					t.Errorf("%s: reading the %s file updated atime = %v, want %v (atime %s)",
						tc.option, name, updated, want, time.Unix(atime, 0))
				}
			}
		})
	}
}

// TestMountsFilesystems: tmpfs, proc and devpts mounts with options.
func TestMountsFilesystems(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		mount  specs.Mount
		opts   []string
		super  []string
		probes []string
		check  func(t *testing.T, v fsView)
	}{
		{
			name:  "tmpfs size mode",
			mount: specs.Mount{Destination: "/mnt/t", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "size=1m", "mode=700"}},
			opts:  []string{"rw", "nosuid", "nodev"},
			super: []string{"size=1024k", "mode=700"},
			probes: []string{
				fsEcho("stat", "stat -c '%a %u %g' /mnt/t"),
				fsTry("fill", "dd if=/dev/zero of=/mnt/t/big bs=1024 count=2048"),
				fsTry("small", "rm /mnt/t/big; dd if=/dev/zero of=/mnt/t/small bs=1024 count=16"),
			},
			check: func(t *testing.T, v fsView) {
				v.wantVal(t, "stat", "700 0 0")
				v.wantErr(t, "fill", "No space left on device")
				v.wantOK(t, "small")
			},
		},
		{
			name:   "tmpfs uid gid",
			mount:  specs.Mount{Destination: "/mnt/t", Type: "tmpfs", Source: "tmpfs", Options: []string{"uid=1000", "gid=1000", "mode=750"}},
			super:  []string{"uid=1000", "gid=1000", "mode=750"},
			probes: []string{fsEcho("stat", "stat -c '%a %u %g' /mnt/t")},
			check:  func(t *testing.T, v fsView) { v.wantVal(t, "stat", "750 1000 1000") },
		},
		{
			name:   "tmpfs ro",
			mount:  specs.Mount{Destination: "/mnt/t", Type: "tmpfs", Source: "tmpfs", Options: []string{"ro"}},
			opts:   []string{"ro"},
			probes: []string{fsTry("write", "touch /mnt/t/x")},
			check:  func(t *testing.T, v fsView) { v.wantErr(t, "write", "Read-only file system") },
		},
		{
			name:   "tmpfs noexec",
			mount:  specs.Mount{Destination: "/mnt/t", Type: "tmpfs", Source: "tmpfs", Options: []string{"noexec"}},
			opts:   []string{"noexec"},
			probes: []string{fsTry("exec", "cp /bin/busybox /mnt/t/ && /mnt/t/busybox true")},
			check:  func(t *testing.T, v fsView) { v.wantErr(t, "exec", "Permission denied") },
		},
		{
			name:   "second proc",
			mount:  specs.Mount{Destination: "/proc2", Type: "proc", Source: "proc", Options: []string{"nosuid", "nodev", "noexec"}},
			opts:   []string{"nosuid", "nodev", "noexec"},
			probes: []string{fsEcho("pid1", "cat /proc2/1/comm")},
			check:  func(t *testing.T, v fsView) { v.wantVal(t, "pid1", "sh") },
		},
		{
			name:   "second devpts",
			mount:  specs.Mount{Destination: "/pts2", Type: "devpts", Source: "devpts", Options: []string{"newinstance", "ptmxmode=0600", "mode=0600"}},
			super:  []string{"ptmxmode=600", "mode=600"},
			probes: []string{fsEcho("ptmx", "stat -c %a /pts2/ptmx")},
			check:  func(t *testing.T, v fsView) { v.wantVal(t, "ptmx", "600") },
		},
		{
			name:   "mqueue",
			mount:  specs.Mount{Destination: "/mq", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "nodev", "noexec"}},
			opts:   []string{"nosuid", "nodev", "noexec"},
			probes: []string{fsTry("list", "ls /mq")},
			check:  func(t *testing.T, v fsView) { v.wantOK(t, "list") },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Mounts = append(b.Spec.Mounts, tc.mount)
			v := fsInspect(e, b, tc.probes...)
			m := v.mustTop(t, tc.mount.Destination)
			if m.FSType != tc.mount.Type {
				t.Errorf("%s is %s, want %s", m.Point, m.FSType, tc.mount.Type)
			}
			for _, o := range tc.opts {
				if !m.opt(o) {
					t.Errorf("%s lacks %s: %s", m.Point, o, m)
				}
			}
			for _, o := range tc.super {
				if !m.super(o) {
					t.Errorf("%s lacks filesystem option %s: %s", m.Point, o, m)
				}
			}
			tc.check(t, v)
		})
	}
}

// TestMountsCgroup: a cgroup mount shows the container's own cgroup as its
// root: a cgroup2 mount in a cgroup namespace, or a bind of the
// container's cgroup directory without one. The host's other cgroups are
// never visible.
func TestMountsCgroup(t *testing.T) {
	t.Parallel()
	for _, cgroupns := range []bool{true, false} {
		t.Run("cgroupns="+strconv.FormatBool(cgroupns), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			if !cgroupns {
				fsWithoutNamespace(b, specs.CgroupNamespace)
			}
			id := newID(t)
			v := fsInspectID(e, b, id,
				fsEcho("self", "grep '^0::' /proc/self/cgroup"),
				fsEcho("list", "ls /sys/fs/cgroup | grep -v '^cgroup\\.' | grep -v '\\.' | tr '\\n' ' '"),
				fsTry("procs", "grep -qx 1 /sys/fs/cgroup/cgroup.procs"),
				fsTry("husk-dir", "test -e /sys/fs/cgroup/husk"))
			m := v.mustTop(t, "/sys/fs/cgroup")
			if m.FSType != "cgroup2" {
				t.Errorf("/sys/fs/cgroup is %s, want cgroup2: %s", m.FSType, m)
			}
			wantRoot, wantSelf := "/", "0::/"
			if !cgroupns {
				wantRoot = "/" + filepath.Join("husk", id)
				wantSelf = "0::" + wantRoot
			}
			if m.Root != wantRoot {
				t.Errorf("/sys/fs/cgroup shows %q, want %q: %s", m.Root, wantRoot, m)
			}
			v.wantVal(t, "self", wantSelf)
			v.wantVal(t, "list", "") // no child cgroup: not the host's tree
			v.wantOK(t, "procs")
			v.wantErr(t, "husk-dir", "")
		})
	}
}

// TestMountsPropagationOptions: shared, slave, private and unbindable on
// a bind whose source is a shared host mount set the optional fields,
// and the container's mount is never a peer of the host's.
func TestMountsPropagationOptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	src := t.TempDir()
	group := fsSharedDir(t, src)
	cases := []struct {
		dest                       string
		options                    []string
		master, shared, unbindable bool
	}{
		{"/p/default", []string{"bind"}, true, false, false},
		{"/p/slave", []string{"bind", "slave"}, true, false, false},
		{"/p/rslave", []string{"rbind", "rslave"}, true, false, false},
		{"/p/private", []string{"bind", "private"}, false, false, false},
		{"/p/rprivate", []string{"rbind", "rprivate"}, false, false, false},
		{"/p/shared", []string{"bind", "shared"}, true, true, false},
		{"/p/unbindable", []string{"bind", "unbindable"}, false, false, true},
	}
	for _, c := range cases {
		b.Spec.Mounts = append(b.Spec.Mounts, fsBind(src, c.dest, c.options...))
	}
	v := fsInspect(e, b)
	for _, c := range cases {
		m := v.mustTop(t, c.dest)
		master, isSlave := m.optional("master")
		shared, isShared := m.optional("shared")
		_, isUnbindable := m.optional("unbindable")
		if isSlave != c.master || (isSlave && master != group) {
			t.Errorf("%s %v: slave of the host's group %s = %v, want %v: %s", c.dest, c.options, group, isSlave, c.master, m)
		}
		if isShared != c.shared {
			t.Errorf("%s %v: shared = %v, want %v: %s", c.dest, c.options, isShared, c.shared, m)
		}
		if isShared && shared == group {
			t.Errorf("%s %v is a peer of the host's mount: %s", c.dest, c.options, m)
		}
		if isUnbindable != c.unbindable {
			t.Errorf("%s %v: unbindable = %v, want %v: %s", c.dest, c.options, isUnbindable, c.unbindable, m)
		}
	}
}

// TestMountsPropagationEffect: a slave bind receives what the host mounts
// in its source after the container was created; a private one does not.
func TestMountsPropagationEffect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	src := t.TempDir()
	fsSharedDir(t, src)
	late := filepath.Join(src, "late")
	os.Mkdir(late, 0o755)
	b.Spec.Mounts = append(b.Spec.Mounts,
		fsBind(src, "/p/slave", "rbind", "rslave"),
		fsBind(src, "/p/private", "rbind", "rprivate"))
	id := newID(t)
	b.Spec.Process.Args = fsScript(fsEcho("slave", "cat /p/slave/late/f"), fsEcho("private", "ls -A /p/private/late"))
	_, out := fsCreate(e, b, id)
	fsMountTmpfs(t, late)
	fsWriteFile(t, filepath.Join(late, "f"), "from the host")
	v := fsParseView(t, fsStartWait(e, b, id, out))
	if m, ok := v.top("/p/slave/late"); !ok || m.FSType != "tmpfs" {
		t.Errorf("the host's new mount did not reach the slave bind; mountinfo:\n%s", v.table())
	}
	if _, ok := v.top("/p/private/late"); ok {
		t.Errorf("the host's new mount reached the private bind; mountinfo:\n%s", v.table())
	}
	v.wantVal(t, "slave", "from the host")
	v.wantVal(t, "private", "")
}

// TestMountsDestinations: missing destinations are created inside the
// rootfs (directories, or files for file binds, with their parents), and
// mounts are made in order, so later ones land inside earlier ones.
func TestMountsDestinations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	fsWriteFile(t, filepath.Join(dirA, "which"), "A")
	fsWriteFile(t, filepath.Join(dirB, "which"), "B")
	file := filepath.Join(t.TempDir(), "f.conf")
	fsWriteFile(t, file, "file")
	b.Spec.Mounts = append(b.Spec.Mounts,
		fsBind(dirA, "/a/b/c/d"),
		fsBind(file, "/x/y/z.conf"),
		specs.Mount{Destination: "/deep/er/tmp", Type: "tmpfs", Source: "tmpfs"},
		specs.Mount{Destination: "/m", Type: "tmpfs", Source: "tmpfs"},
		fsBind(dirB, "/m/sub/dir"),
		fsBind(dirA, "/stack"),
		fsBind(dirB, "/stack"),
		fsBind(dirA, "//double//slashes/"),
	)
	v := fsInspect(e, b,
		fsEcho("nested", "cat /a/b/c/d/which"),
		fsEcho("file", "cat /x/y/z.conf"),
		fsEcho("inside", "cat /m/sub/dir/which"),
		fsEcho("stack", "cat /stack/which"),
		fsEcho("slashes", "cat /double/slashes/which"))
	v.wantVal(t, "nested", "A")
	v.wantVal(t, "file", "file")
	v.wantVal(t, "inside", "B")
	v.wantVal(t, "stack", "B")
	v.wantVal(t, "slashes", "A")
	for _, p := range []string{"/a/b/c/d", "/x/y/z.conf", "/deep/er/tmp", "/m", "/m/sub/dir", "/double/slashes"} {
		v.mustTop(t, p)
	}
	// The destinations were made in the rootfs, as directories or a file.
	rootfs := b.rootfs()
	for p, dir := range map[string]bool{"a/b/c/d": true, "x/y/z.conf": false, "deep/er/tmp": true, "m": true, "double/slashes": true} {
		fi, err := os.Lstat(filepath.Join(rootfs, p))
		if err != nil {
			t.Errorf("destination %s not created in the rootfs: %v", p, err)
			continue
		}
		if fi.IsDir() != dir || (!dir && !fi.Mode().IsRegular()) {
			t.Errorf("destination %s created as %v", p, fi.Mode())
		}
	}
	// /m/sub/dir was created in the tmpfs at /m, not in the rootfs.
	if _, err := os.Lstat(filepath.Join(rootfs, "m", "sub")); err == nil {
		t.Errorf("/m/sub was created in the rootfs, under the tmpfs mounted at /m")
	}
	if m, tm := v.mustTop(t, "/m/sub/dir"), v.mustTop(t, "/m"); tm.ID == 0 || m.Parent != tm.ID {
		t.Errorf("/m/sub/dir is not mounted inside /m: %s, %s", m, tm)
	}
	stack := v.at("/stack")
	if len(stack) != 2 || stack[1].Parent != stack[0].ID {
		t.Errorf("want two mounts stacked at /stack, B on A; got %v", stack)
	}
}

// TestMountsSymlinkEscape: a destination through a symlink or ".." that
// points out of the rootfs is resolved inside it: the mount lands at the
// rootfs's own view of the path, and nothing is created or mounted on
// the host's path.
func TestMountsSymlinkEscape(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// setup makes links in the rootfs; host is the host directory an
		// escape would reach. It returns the destination and where it
		// must land inside the container.
		setup func(t *testing.T, rootfs, host string) (dest, inRoot string)
		file  bool // bind a file rather than a directory
		tmpfs bool
	}{
		{name: "absolute symlink to a host dir", setup: func(t *testing.T, rootfs, host string) (string, string) {
			fsSymlink(t, host, filepath.Join(rootfs, "evil"))
			return "/evil/x", host + "/x"
		}},
		{name: "absolute symlink to a host dir, last component", setup: func(t *testing.T, rootfs, host string) (string, string) {
			fsSymlink(t, host, filepath.Join(rootfs, "evil"))
			return "/evil", host
		}},
		{name: "symlink to /", setup: func(t *testing.T, rootfs, host string) (string, string) {
			fsSymlink(t, "/", filepath.Join(rootfs, "evil"))
			return "/evil" + host + "/x", host + "/x"
		}},
		{name: "relative symlink climbing out", setup: func(t *testing.T, rootfs, host string) (string, string) {
			fsSymlink(t, strings.Repeat("../", 20)+strings.TrimPrefix(host, "/"), filepath.Join(rootfs, "etc", "evil"))
			return "/etc/evil/x", host + "/x"
		}},
		{name: "dotdot in the destination", setup: func(t *testing.T, rootfs, host string) (string, string) {
			return strings.Repeat("/..", 20) + host + "/x", host + "/x"
		}},
		{name: "dotdot after a directory", setup: func(t *testing.T, rootfs, host string) (string, string) {
			return "/etc" + strings.Repeat("/..", 20) + host + "/x", host + "/x"
		}},
		{name: "symlink chain", setup: func(t *testing.T, rootfs, host string) (string, string) {
			fsSymlink(t, "/hop2", filepath.Join(rootfs, "hop1"))
			fsSymlink(t, "../../../../../../..", filepath.Join(rootfs, "hop2"))
			return "/hop1" + host + "/x", host + "/x"
		}},
		{name: "file bind through a symlink", file: true, setup: func(t *testing.T, rootfs, host string) (string, string) {
			fsSymlink(t, "/", filepath.Join(rootfs, "evil"))
			return "/evil" + host + "/f.conf", host + "/f.conf"
		}},
		{name: "file bind onto a symlink", file: true, setup: func(t *testing.T, rootfs, host string) (string, string) {
			os.MkdirAll(filepath.Join(rootfs, host), 0o755)
			fsSymlink(t, host+"/f.conf", filepath.Join(rootfs, "evil.conf"))
			return "/evil.conf", host + "/f.conf"
		}},
		{name: "tmpfs through a symlink", tmpfs: true, setup: func(t *testing.T, rootfs, host string) (string, string) {
			fsSymlink(t, "/", filepath.Join(rootfs, "evil"))
			return "/evil" + host + "/t", host + "/t"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			b.Spec.Root.Readonly = false
			host := t.TempDir() // an escape would reach it: it must stay empty
			dest, inRoot := tc.setup(t, b.rootfs(), host)
			token := fsToken()
			var probe string
			switch {
			case tc.tmpfs:
				b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: dest, Type: "tmpfs", Source: "tmpfs"})
				probe = fsTry("p", "echo "+token+" > "+inRoot+"/w")
			case tc.file:
				src := filepath.Join(t.TempDir(), "f.conf")
				fsWriteFile(t, src, token)
				b.Spec.Mounts = append(b.Spec.Mounts, fsBind(src, dest))
				probe = fsEcho("p", "cat "+inRoot)
			default:
				src := t.TempDir()
				fsWriteFile(t, filepath.Join(src, "marker"), token)
				b.Spec.Mounts = append(b.Spec.Mounts, fsBind(src, dest))
				probe = fsEcho("p", "cat "+inRoot+"/marker")
			}
			v := fsInspect(e, b, probe)
			if tc.tmpfs {
				v.wantOK(t, "p")
				if m := v.mustTop(t, inRoot); m.FSType != "tmpfs" {
					t.Errorf("%s is not the tmpfs: %s", inRoot, m)
				}
			} else {
				v.wantVal(t, "p", token)
				v.mustTop(t, inRoot)
			}
			if names := fsEntries(t, host); len(names) > 0 {
				t.Errorf("the host directory %s was written to: %v", host, names)
			}
			if m := mountsUnder(t, host); len(m) > 0 {
				t.Errorf("mounts on the host under %s: %v", host, m)
			}
			if _, err := os.Lstat(filepath.Join(b.rootfs(), inRoot)); err != nil {
				t.Errorf("the destination was not created inside the rootfs: %v", err)
			}
		})
	}
}

func fsSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestMountsFailureLeavesNothing: a mount that cannot be made fails the
// create with an error naming the entry, and nothing is left behind.
func TestMountsFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	n := len(newBundle(t).Spec.Mounts)
	idx := func(i int) string { return "mounts[" + strconv.Itoa(n+i) + "]" }
	missing := "/nonexistent-" + fsToken()
	cases := []struct {
		name   string
		mounts []specs.Mount
		want   []string
	}{
		{"bind source missing", []specs.Mount{fsBind(missing, "/mnt/x")},
			[]string{idx(0), "/mnt/x", "no such file or directory"}},
		{"after a successful mount", []specs.Mount{
			{Destination: "/mnt/ok", Type: "tmpfs", Source: "tmpfs"},
			fsBind(missing, "/mnt/ok/x")},
			[]string{idx(1), "/mnt/ok/x", "no such file or directory"}},
		{"relative source missing", []specs.Mount{fsBind("not-in-bundle", "/mnt/x")},
			[]string{idx(0), "no such file or directory"}},
		{"bad tmpfs option", []specs.Mount{{Destination: "/mnt/t", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=banana"}}},
			[]string{idx(0), "/mnt/t", "invalid argument"}},
		{"unknown filesystem", []specs.Mount{{Destination: "/mnt/t", Type: "nosuchfs", Source: "none"}},
			[]string{idx(0), "/mnt/t", "no such device"}},
		{"bind without source", []specs.Mount{{Destination: "/mnt/x", Type: "bind", Options: []string{"bind"}}},
			[]string{idx(0) + ".source"}},
		{"no destination", []specs.Mount{{Type: "tmpfs", Source: "tmpfs"}},
			[]string{idx(0) + ".destination"}},
		{"destination is a file", []specs.Mount{{Destination: "/etc/passwd/x", Type: "tmpfs", Source: "tmpfs"}},
			[]string{idx(0), "not a directory"}},
		{"symlink loop", []specs.Mount{{Destination: "/loop1/x", Type: "tmpfs", Source: "tmpfs"}},
			[]string{idx(0), "/loop1/x", "too many levels of symbolic links"}},
		{"dangling symlink loop", []specs.Mount{{Destination: "/dloop1/x", Type: "tmpfs", Source: "tmpfs"}},
			[]string{idx(0), "/dloop1/x", "too many levels of symbolic links"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBundle(t)
			fsSymlink(t, "loop2", filepath.Join(b.rootfs(), "loop1"))
			fsSymlink(t, "loop1", filepath.Join(b.rootfs(), "loop2"))
			// Each link's target is missing, through the other link.
			fsSymlink(t, "dloop2/a", filepath.Join(b.rootfs(), "dloop1"))
			fsSymlink(t, "dloop1/b", filepath.Join(b.rootfs(), "dloop2"))
			b.Spec.Mounts = append(b.Spec.Mounts, tc.mounts...)
			fsRunFails(e, b, tc.want...)
			if _, err := os.Stat(missing); err == nil {
				t.Errorf("%s was created on the host", missing)
			}
		})
	}
}
