package integration

// The command line engines parse: --version, --log/--log-format, the
// --flag=value form, spec, and one-line errors.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// --version: "husk version X" first, then "commit: …" when built with
// one, "spec: 1.3.0", and other "key: value" lines.
func TestCLIVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := lcHusk(e, "", "--version")
	if r.Code != 0 || r.Stderr != "" {
		t.Fatalf("--version: exit %d, stderr %q", r.Code, r.Stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	if !regexp.MustCompile(`^husk version [0-9][^ ]*$`).MatchString(lines[0]) {
		t.Errorf("first line %q, want \"husk version X\"", lines[0])
	}
	seen := map[string]string{}
	for i, line := range lines[1:] {
		k, v, ok := strings.Cut(line, ": ")
		if !ok || k == "" || v == "" || strings.Contains(k, " ") {
			t.Errorf("line %d %q: want \"key: value\"", i+2, line)
			continue
		}
		if _, dup := seen[k]; dup {
			t.Errorf("%q given twice", k)
		}
		seen[k] = v
		if k == "commit" && i != 0 {
			t.Errorf("commit is line %d, want line 2 (right after the version, as runc)", i+2)
		}
	}
	if seen["spec"] != specs.Version || specs.Version != "1.3.0" {
		t.Errorf("spec line: %q, want \"spec: 1.3.0\" (output %q)", seen["spec"], r.Stdout)
	}
	if v, ok := seen["libseccomp"]; ok && !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(v) {
		t.Errorf("libseccomp: %q, want a version", v)
	}
}

// lcBrokenBundle returns a bundle whose create fails in validation.
func lcBrokenBundle(t *testing.T) *bundle {
	b := newBundle(t)
	b.Spec.Root.Path = "no-such-rootfs"
	b.save()
	return b
}

// --log FILE --log-format json: a failed create leaves exactly one JSON
// line {"level":"error","msg":…,"time":RFC 3339}, msg being what stderr
// says. containerd reads the last error line; podman decodes the whole
// file as one object.
func TestCLILogJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		broken func(t *testing.T) *bundle
		want   string
	}{
		{"validation", lcBrokenBundle, "root.path"},
		{"init", func(t *testing.T) *bundle {
			b := newBundle(t)
			b.Spec.Process.Args = []string{"no-such-program"}
			b.save()
			return b
		}, "executable file not found in $PATH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := tc.broken(t)
			logFile := filepath.Join(t.TempDir(), "log.json")
			id := newID(t)
			lcCleanup(e, id)
			r := lcHusk(e, "", "--log", logFile, "--log-format", "json", "create", "--bundle", b.Dir, "--pid-file", filepath.Join(b.Dir, "init.pid"), id)
			lcFails(t, "create", r, tc.want)
			line := lcOneLine(t, "stderr", r.Stderr)
			data, err := os.ReadFile(logFile)
			if err != nil {
				t.Fatalf("log file: %v", err)
			}
			var entry map[string]any
			if err := json.Unmarshal(data, &entry); err != nil {
				t.Fatalf("the log file is not one JSON object (podman decodes it whole): %v\n%s", err, data)
			}
			if strings.Count(string(data), "\n") != 1 || !strings.HasSuffix(string(data), "}\n") {
				t.Errorf("log file %q: want exactly one line", data)
			}
			var keys []string
			for k := range entry {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if strings.Join(keys, ",") != "level,msg,time" {
				t.Errorf("log entry keys %v, want level, msg, time", keys)
			}
			msg, _ := entry["msg"].(string)
			if entry["level"] != "error" || msg == "" || !strings.HasSuffix(line, msg) || !strings.Contains(msg, tc.want) {
				t.Errorf("log entry %v: want level error and msg = stderr's message %q", entry, line)
			}
			ts, _ := entry["time"].(string)
			if tm, err := time.Parse(time.RFC3339, ts); err != nil || time.Since(tm) > time.Minute || time.Since(tm) < -time.Minute {
				t.Errorf("log time %q: want RFC 3339, now (%v)", ts, err)
			}
			lcGone(e, id, b)
		})
	}
}

// A successful command writes nothing to the log (without --debug), so
// the file still decodes as the one failure when a later call fails.
func TestCLILogQuietOnSuccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Process.Args = []string{"sleep", "100"}
	b.save()
	logFile := filepath.Join(t.TempDir(), "log.json")
	id := newID(t)
	lcCleanup(e, id)
	if r := lcHusk(e, "", "--log", logFile, "--log-format=json", "create", "--bundle", b.Dir, id); r.Code != 0 {
		t.Fatalf("create: %d %s", r.Code, r.Stderr)
	}
	lcMust(e, "--log", logFile, "--log-format=json", "start", id)
	lcMust(e, "--log", logFile, "--log-format=json", "state", id)
	if data, _ := os.ReadFile(logFile); len(data) != 0 {
		t.Errorf("successful commands logged %q", data)
	}
	r := lcHusk(e, "", "--log", logFile, "--log-format=json", "create", "--bundle", b.Dir, id)
	lcFails(t, "second create", r, "already exists")
	var entry struct{ Level, Msg string }
	data, _ := os.ReadFile(logFile)
	if err := json.Unmarshal(data, &entry); err != nil || entry.Level != "error" || !strings.Contains(entry.Msg, "already exists") {
		t.Errorf("log after a failure: %q (%v)", data, err)
	}
	if st := lcStatus(e, id); st != "running" {
		t.Errorf("the refused create disturbed the container: status %q", st)
	}
}

// --log-format text and the --flag=value forms engines use.
func TestCLILogTextAndEqualsForms(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := lcBrokenBundle(t)
	logFile := filepath.Join(t.TempDir(), "log.txt")
	root := filepath.Join(t.TempDir(), "eq-root")
	cmd := exec.Command(huskBin, "--root="+root, "--log="+logFile, "--log-format=text", "create", "--bundle="+b.Dir, "x1")
	cmd.Stdout, cmd.Stderr = lcTempFile(t), lcTempFile(t)
	err := cmd.Run()
	stderr := lcReadFile(t, cmd.Stderr.(*os.File).Name())
	if err == nil || !strings.Contains(stderr, "root.path") {
		t.Fatalf("create with = flags: err %v, stderr %q; want the root.path error", err, stderr)
	}
	data, _ := os.ReadFile(logFile)
	line := strings.TrimSuffix(string(data), "\n")
	if strings.Count(string(data), "\n") != 1 || !strings.Contains(line, "level=error") || !strings.Contains(line, "root.path") {
		t.Errorf("text log %q: want one line with level=error and the message", data)
	}
	if m := regexp.MustCompile(`time="([^"]+)"`).FindStringSubmatch(line); m == nil {
		t.Errorf("text log %q has no time", line)
	} else if _, err := time.Parse(time.RFC3339, m[1]); err != nil {
		t.Errorf("text log time %q: %v", m[1], err)
	}

	// --root=DIR really is the state root: a container created with it is
	// found there, and not under the default root.
	good := newBundle(t)
	good.Spec.Process.Args = []string{"sleep", "100"}
	good.save()
	id := newID(t)
	e.root = root
	lcCleanup(e, id)
	cmd = exec.Command(huskBin, "--root="+root, "--log-format=json", "create", "--bundle="+good.Dir, "--pid-file="+filepath.Join(good.Dir, "pid"), id)
	cmd.Stdout, cmd.Stderr = lcTempFile(t), lcTempFile(t)
	if err := cmd.Run(); err != nil {
		t.Fatalf("create --root=: %v: %s", err, lcReadFile(t, cmd.Stderr.(*os.File).Name()))
	}
	if _, err := os.Stat(filepath.Join(root, id, "state.json")); err != nil {
		t.Errorf("--root=%s not used: %v", root, err)
	}
	if _, err := os.Stat(filepath.Join(good.Dir, "pid")); err != nil {
		t.Errorf("--pid-file= not honoured: %v", err)
	}
	if _, err := os.Stat(filepath.Join("/run/husk", id)); err == nil {
		t.Errorf("container created under the default root despite --root=")
	}
	lcFails(t, "unknown log format", lcHusk(e, "", "--log-format", "xml", "list"), "xml")
}

// spec writes a config.json that runs as is over a busybox rootfs, in
// the working directory or --bundle, and never overwrites one.
func TestCLISpec(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	makeRootfs(t, filepath.Join(dir, "rootfs"))
	if r := lcHusk(e, dir, "spec"); r.Code != 0 || r.Stdout != "" || r.Stderr != "" {
		t.Fatalf("spec: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	path := filepath.Join(dir, "config.json")
	var cfg map[string]any
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("spec wrote no config.json in its working directory: %v", err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	var typed specs.Spec
	json.Unmarshal(data, &typed)
	if typed.Version != specs.Version || typed.Root == nil || typed.Root.Path != "rootfs" || typed.Process == nil || len(typed.Process.Args) == 0 {
		t.Fatalf("spec's config: %s", data)
	}
	// Change only the args, keep every other field as spec wrote it.
	cfg["process"].(map[string]any)["args"] = []string{"sh", "-c", "echo ok from $(hostname) as $(id -u)"}
	data, _ = json.MarshalIndent(cfg, "", "  ")
	os.WriteFile(path, data, 0o644)
	id := newID(t)
	lcCleanup(e, id)
	r := lcHusk(e, dir, "run", id)
	if r.Code != 0 || r.Stdout != "ok from husk as 0\n" {
		t.Errorf("run of spec's config: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	lcGone(e, id, &bundle{t: t, Dir: dir})

	// config.json exists: refused, and left as it was.
	r = lcHusk(e, dir, "spec")
	lcFails(t, "spec over an existing config.json", r, "config.json", "exists")
	if now, _ := os.ReadFile(path); string(now) != string(data) {
		t.Error("spec changed an existing config.json")
	}
	r = lcHusk(e, "", "spec", "--rootless", "--bundle", dir)
	lcFails(t, "spec --rootless over an existing config.json", r, "exists")

	// --bundle DIR writes there, not in the working directory.
	other, cwd := t.TempDir(), t.TempDir()
	if r := lcHusk(e, cwd, "spec", "--bundle", other); r.Code != 0 {
		t.Fatalf("spec --bundle: %d %s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(other, "config.json")); err != nil {
		t.Errorf("spec --bundle did not write there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cwd, "config.json")); err == nil {
		t.Error("spec --bundle wrote into the working directory")
	}
	lcFails(t, "spec into a missing directory", lcHusk(e, "", "spec", "--bundle", filepath.Join(other, "missing")), "no such file or directory")
}

// spec --rootless: a user namespace mapping the caller's ids to 0, no
// network namespace, /sys bound from the host. It runs (here as root)
// and the kernel shows exactly that.
func TestCLISpecRootless(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	makeRootfs(t, filepath.Join(dir, "rootfs"))
	lcMust(e, "spec", "--rootless", "--bundle", dir)
	b := &bundle{t: t, Dir: dir}
	data, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if err := json.Unmarshal(data, &b.Spec); err != nil {
		t.Fatal(err)
	}
	l := b.Spec.Linux
	types := map[specs.LinuxNamespaceType]bool{}
	for _, ns := range l.Namespaces {
		types[ns.Type] = true
	}
	if !types[specs.UserNamespace] || types[specs.NetworkNamespace] || !types[specs.MountNamespace] {
		t.Errorf("namespaces %v: want user and mount, no network", l.Namespaces)
	}
	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	if len(l.UIDMappings) != 1 || l.UIDMappings[0] != (specs.LinuxIDMapping{ContainerID: 0, HostID: uid, Size: 1}) {
		t.Errorf("uidMappings %v, want [{0 %d 1}]", l.UIDMappings, uid)
	}
	if len(l.GIDMappings) != 1 || l.GIDMappings[0] != (specs.LinuxIDMapping{ContainerID: 0, HostID: gid, Size: 1}) {
		t.Errorf("gidMappings %v, want [{0 %d 1}]", l.GIDMappings, gid)
	}
	var sys *specs.Mount
	for i, m := range b.Spec.Mounts {
		if m.Destination == "/sys" {
			sys = &b.Spec.Mounts[i]
		}
	}
	if sys == nil || !lcIsBind(*sys) || !lcHas(sys.Options, "rbind") || sys.Source != "/sys" {
		t.Errorf("/sys mount %+v: want an rbind of /sys", sys)
	}
	hostNet, _ := os.Readlink("/proc/self/ns/net")
	hostUser, _ := os.Readlink("/proc/self/ns/user")
	out := e.runIn(b, "cat /proc/self/uid_map /proc/self/gid_map; readlink /proc/self/ns/net; readlink /proc/self/ns/user; grep ' /sys ' /proc/self/mountinfo")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 5 {
		t.Fatalf("container output %q", out)
	}
	if f := strings.Fields(lines[0]); strings.Join(f, " ") != "0 "+lcItoa(uid)+" 1" {
		t.Errorf("uid_map %q, want 0 %d 1", lines[0], uid)
	}
	if f := strings.Fields(lines[1]); strings.Join(f, " ") != "0 "+lcItoa(gid)+" 1" {
		t.Errorf("gid_map %q, want 0 %d 1", lines[1], gid)
	}
	if lines[2] != hostNet {
		t.Errorf("network namespace %q, want the host's %q", lines[2], hostNet)
	}
	if lines[3] == hostUser {
		t.Errorf("user namespace is the host's %q", lines[3])
	}
	if !strings.Contains(lines[4], " - sysfs ") || !strings.Contains(strings.Fields(lines[4])[5], "ro") {
		t.Errorf("/sys in the container: %q, want the host's sysfs, read-only", lines[4])
	}
}

func lcIsBind(m specs.Mount) bool {
	return m.Type == "bind" || lcHas(m.Options, "bind") || lcHas(m.Options, "rbind")
}

func lcHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func lcItoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// Every failure is exactly one line on stderr (engines show it whole)
// and nothing on stdout (where they expect JSON).
func TestCLIOneLineErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := lcBrokenBundle(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"state", "nope"}, "does not exist"},
		{[]string{"start", "nope"}, "does not exist"},
		{[]string{"kill", "nope"}, "does not exist"},
		{[]string{"kill", "nope", "NOSIG"}, "NOSIG"},
		{[]string{"delete", "nope"}, "does not exist"},
		{[]string{"start"}, "id"},
		{[]string{"state"}, "id"},
		{[]string{"create", "--bundle", b.Dir}, "id"},
		{[]string{"create", "--bundle", b.Dir, "x"}, "root.path"},
		{[]string{"run", "--bundle", b.Dir, "x"}, "root.path"},
		{[]string{"run", "-d", "--bundle", b.Dir, "x"}, "root.path"},
		{[]string{"create", "--bundle", filepath.Join(b.Dir, "nope"), "x"}, "config.json"},
		{[]string{"list", "--format", "yaml"}, "yaml"},
		{[]string{"create", "--no-such-flag", "x"}, "no-such-flag"},
	} {
		r := lcHusk(e, "", tc.args...)
		what := strings.Join(tc.args, " ")
		lcFails(t, what, r, tc.want)
		if r.Stdout != "" && !strings.Contains(what, "--no-such-flag") {
			t.Errorf("%s: printed %q on stdout", what, r.Stdout)
		}
	}
	if entries, _ := os.ReadDir(e.root); len(entries) != 0 {
		t.Errorf("failed commands left %d entries in the state root", len(entries))
	}
}
