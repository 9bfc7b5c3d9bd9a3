package libcontainer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/seccomp"
)

// validBundle returns a bundle dir with an empty rootfs and a minimal
// config that Validate accepts.
func validBundle(t *testing.T) (string, *specs.Spec) {
	t.Helper()
	bundle := t.TempDir()
	if err := os.Mkdir(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	adj := 0
	spec := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: "rootfs", Readonly: true},
		Process: &specs.Process{
			Args:            []string{"sh"},
			Env:             []string{"PATH=/bin", "EMPTY="},
			Cwd:             "/",
			Capabilities:    &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL", "cap_chown"}},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 1024}},
			OOMScoreAdj:     &adj,
			NoNewPrivileges: true,
		},
		Hostname: "husk",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/data", Type: "bind", Source: "/tmp", Options: []string{"rbind", "ro", "rprivate", "rro", "size=1k"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace},
				{Type: specs.MountNamespace}, {Type: specs.UTSNamespace}, {Type: specs.IPCNamespace},
			},
			Sysctl:        map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmax": "1000", "fs.mqueue.msg_max": "10"},
			MaskedPaths:   []string{"/proc/kcore"},
			ReadonlyPaths: []string{"/proc/sys"},
			Devices:       []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}},
		},
	}
	return bundle, spec
}

func TestValidateAcceptsAGoodConfig(t *testing.T) {
	bundle, spec := validBundle(t)
	if err := Validate(spec, bundle); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	// An absolute root.path, a user namespace with maps, and joining an
	// existing namespace are fine too.
	spec.Root.Path = filepath.Join(bundle, "rootfs")
	spec.Linux.Namespaces = append(spec.Linux.Namespaces,
		specs.LinuxNamespace{Type: specs.UserNamespace},
		specs.LinuxNamespace{Type: specs.CgroupNamespace, Path: "/proc/self/ns/cgroup"})
	spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	if err := Validate(spec, bundle); err != nil {
		t.Fatalf("Validate with user namespace: %v", err)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *specs.Spec, bundle string)
		path   string // SpecError.Path
		want   string // the reason after "path: ", whole; {bundle} and {version} are replaced
	}{
		{"no version", func(s *specs.Spec, _ string) { s.Version = "" }, "ociVersion", "must be set"},
		{"version 2", func(s *specs.Spec, _ string) { s.Version = "2.0.0" }, "ociVersion", `unsupported version "2.0.0" (husk implements {version})`},
		{"version 0.x", func(s *specs.Spec, _ string) { s.Version = "0.5.0" }, "ociVersion", `unsupported version "0.5.0" (husk implements {version})`},
		{"no root", func(s *specs.Spec, _ string) { s.Root = nil }, "root.path", "must be set"},
		{"empty root path", func(s *specs.Spec, _ string) { s.Root.Path = "" }, "root.path", "must be set"},
		{"missing rootfs", func(s *specs.Spec, _ string) { s.Root.Path = "nope" }, "root.path", "{bundle}/nope: no such file or directory"},
		{"rootfs is a file", func(s *specs.Spec, b string) {
			os.WriteFile(filepath.Join(b, "file"), nil, 0o644)
			s.Root.Path = "file"
		}, "root.path", "{bundle}/file: not a directory"},
		{"no process", func(s *specs.Spec, _ string) { s.Process = nil }, "process", "must be set"},
		{"no args", func(s *specs.Spec, _ string) { s.Process.Args = nil }, "process.args", "must name a program to run"},
		{"empty args[0]", func(s *specs.Spec, _ string) { s.Process.Args = []string{"", "x"} }, "process.args", "must name a program to run"},
		{"empty cwd", func(s *specs.Spec, _ string) { s.Process.Cwd = "" }, "process.cwd", `"": must be an absolute path`},
		{"relative cwd", func(s *specs.Spec, _ string) { s.Process.Cwd = "home" }, "process.cwd", `"home": must be an absolute path`},
		{"env without =", func(s *specs.Spec, _ string) { s.Process.Env = append(s.Process.Env, "FOO") }, "process.env[2]", `"FOO": must be KEY=VALUE`},
		{"env empty key", func(s *specs.Spec, _ string) { s.Process.Env = []string{"=x"} }, "process.env[0]", `"=x": must be KEY=VALUE`},
		{"unknown capability", func(s *specs.Spec, _ string) {
			s.Process.Capabilities.Permitted = []string{"CAP_KILL", "CAP_FLY"}
		}, "process.capabilities.permitted[1]", `"CAP_FLY": unknown capability`},
		{"unknown ambient capability", func(s *specs.Spec, _ string) {
			s.Process.Capabilities.Ambient = []string{"KILL"}
		}, "process.capabilities.ambient[0]", `"KILL": unknown capability`},
		{"unknown rlimit", func(s *specs.Spec, _ string) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_FOO"})
		}, "process.rlimits[1].type", `"RLIMIT_FOO": unknown rlimit`},
		{"rlimit twice", func(s *specs.Spec, _ string) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: 1, Hard: 1})
		}, "process.rlimits[1].type", "RLIMIT_NOFILE: given twice"},
		{"rlimit soft above hard", func(s *specs.Spec, _ string) {
			s.Process.Rlimits[0].Soft = 2048
		}, "process.rlimits[0]", "RLIMIT_NOFILE: soft limit 2048 is above hard limit 1024"},
		{"oom score too high", func(s *specs.Spec, _ string) { v := 1001; s.Process.OOMScoreAdj = &v }, "process.oomScoreAdj", "1001: must be between -1000 and 1000"},
		{"oom score too low", func(s *specs.Spec, _ string) { v := -1001; s.Process.OOMScoreAdj = &v }, "process.oomScoreAdj", "-1001: must be between -1000 and 1000"},
		{"no linux", func(s *specs.Spec, _ string) { s.Linux = nil; s.Hostname = "" }, "linux", "must be set"},
		{"unknown namespace", func(s *specs.Spec, _ string) {
			s.Linux.Namespaces[1].Type = "network2"
		}, "linux.namespaces[1].type", `"network2": unknown namespace type`},
		{"namespace twice", func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.PIDNamespace})
		}, "linux.namespaces[5].type", `"pid": namespace given twice`},
		{"user namespace without mount namespace", func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.UserNamespace}}
		}, "linux.namespaces", "a new user namespace needs a mount namespace"},
		{"missing namespace path", func(s *specs.Spec, _ string) {
			s.Linux.Namespaces[1].Path = "/proc/4194305/ns/net" // above the largest pid_max
		}, "linux.namespaces[1].path", "/proc/4194305/ns/net: no such file or directory"},
		{"namespace path of another type", func(s *specs.Spec, _ string) {
			s.Linux.Namespaces[1].Path = "/proc/self/ns/uts"
		}, "linux.namespaces[1].path", "/proc/self/ns/uts: is a uts namespace, not network"},
		{"namespace path not a namespace", func(s *specs.Spec, b string) {
			s.Linux.Namespaces[1].Path = filepath.Join(b, "rootfs")
		}, "linux.namespaces[1].path", "{bundle}/rootfs: not a namespace file"},
		// A FIFO would block the open forever; a device may act on it.
		{"namespace path a FIFO", func(s *specs.Spec, b string) {
			fifo := filepath.Join(b, "fifo")
			if err := unix.Mkfifo(fifo, 0o600); err != nil {
				panic(err)
			}
			s.Linux.Namespaces[1].Path = fifo
		}, "linux.namespaces[1].path", "{bundle}/fifo: not a namespace file"},
		{"new user namespace joining mount", func(s *specs.Spec, _ string) {
			s.Linux.Namespaces[2].Path = "/proc/self/ns/mnt"
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
			s.Linux.GIDMappings = s.Linux.UIDMappings
		}, "linux.namespaces", "creating a user namespace while joining a mount or time namespace is not supported"},
		{"time offsets without time namespace", func(s *specs.Spec, _ string) {
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 10}}
		}, "linux.timeOffsets", "requires a new time namespace"},
		{"unknown clock", func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"realtime": {Secs: 10}}
		}, "linux.timeOffsets.realtime", "unknown clock (want monotonic or boottime)"},
		{"user namespace without uid maps", func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		}, "linux.uidMappings", "required with a new user namespace"},
		{"user namespace without gid maps", func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
		}, "linux.gidMappings", "required with a new user namespace"},
		{"maps without user namespace", func(s *specs.Spec, _ string) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
		}, "linux.uidMappings", "given without a new user namespace"},
		{"empty mapping", func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 2000, Size: 0}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
		}, "linux.uidMappings[1].size", "must be at least 1"},
		{"root not mapped", func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 1, HostID: 1000, Size: 10}}
		}, "linux.gidMappings", "must map the container's root (id 0): husk's init runs as it"},
		{"hostname without uts namespace", func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = s.Linux.Namespaces[:3]
		}, "hostname", "setting the hostname requires a uts namespace (new or joined)"},
		{"domainname without uts namespace", func(s *specs.Spec, _ string) {
			s.Hostname = ""
			s.Domainname = "example.com"
			s.Linux.Namespaces = s.Linux.Namespaces[:3]
		}, "domainname", "setting the domain name requires a uts namespace (new or joined)"},
		{"mount without destination", func(s *specs.Spec, _ string) { s.Mounts[1].Destination = "" }, "mounts[1].destination", "must be set"},
		{"idmapped mount", func(s *specs.Spec, _ string) {
			s.Mounts[1].UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
		}, "mounts[1].uidMappings", "uidMappings and gidMappings go together"},
		{"idmap option", func(s *specs.Spec, _ string) {
			s.Mounts[1].Options = append(s.Mounts[1].Options, "idmap")
		}, "mounts[1].options", "idmap without mounts[].uidMappings needs the container's user namespace mappings"},
		{"bind without source", func(s *specs.Spec, _ string) { s.Mounts[1].Source = "" }, "mounts[1].source", "a bind mount needs a source"},
		{"rbind option without source", func(s *specs.Spec, _ string) {
			s.Mounts[0] = specs.Mount{Destination: "/x", Options: []string{"rbind"}}
		}, "mounts[0].source", "a bind mount needs a source"},
		{"host sysctl", func(s *specs.Spec, _ string) {
			s.Linux.Sysctl = map[string]string{"kernel.panic": "1"}
		}, "linux.sysctl.kernel.panic", "not a namespaced sysctl: it would change the host"},
		{"sysctl with a slash", func(s *specs.Spec, _ string) {
			s.Linux.Sysctl = map[string]string{"net/../../kernel/panic": "1"}
		}, "linux.sysctl.net/../../kernel/panic", "not a namespaced sysctl: it would change the host"},
		{"net sysctl without network namespace", func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.UTSNamespace}, {Type: specs.IPCNamespace}}
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}, "linux.sysctl.net.ipv4.ip_forward", "requires a new network namespace"},
		{"ipc sysctl without ipc namespace", func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.UTSNamespace}}
			s.Linux.Sysctl = map[string]string{"kernel.shmmax": "1"}
		}, "linux.sysctl.kernel.shmmax", "requires a new ipc namespace"},
		{"unknown propagation", func(s *specs.Spec, _ string) { s.Linux.RootfsPropagation = "rsharde" }, "linux.rootfsPropagation", `"rsharde": unknown propagation`},
		{"relative device", func(s *specs.Spec, _ string) { s.Linux.Devices[0].Path = "dev/fuse" }, "linux.devices[0].path", `"dev/fuse": must be an absolute path`},
		{"unknown device type", func(s *specs.Spec, _ string) { s.Linux.Devices[0].Type = "x" }, "linux.devices[0].type", `"x": unknown device type (want c, b, u or p)`},
		{"relative masked path", func(s *specs.Spec, _ string) {
			s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "proc/kcore")
		}, "linux.maskedPaths[1]", `"proc/kcore": must be an absolute path`},
		{"relative read-only path", func(s *specs.Spec, _ string) { s.Linux.ReadonlyPaths[0] = "proc" }, "linux.readonlyPaths[0]", `"proc": must be an absolute path`},
		// A field husk would otherwise drop silently is refused by name.
		{"hook with a relative path", func(s *specs.Spec, _ string) {
			s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/true"}, {Path: "true"}}}
		}, "hooks.prestart[1].path", `"true": must be an absolute path`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bundle, spec := validBundle(t)
			tc.mutate(spec, bundle)
			err := Validate(spec, bundle)
			if err == nil {
				t.Fatalf("Validate accepted the config; want an error at %s", tc.path)
			}
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("Validate: %v (%T), want a *SpecError", err, err)
			}
			if se.Path != tc.path {
				t.Errorf("error %q names %q, want %q", err, se.Path, tc.path)
			}
			if want := tc.path + ": " + strings.NewReplacer("{bundle}", bundle, "{version}", specs.Version).Replace(tc.want); err.Error() != want {
				t.Errorf("error:\n got %q\nwant %q", err, want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans several lines", err)
			}
		})
	}
}

// TestValidateSeccomp: linux.seccomp errors name the field below it;
// built without seccomp, any linux.seccomp is refused.
func TestValidateSeccomp(t *testing.T) {
	bundle, spec := validBundle(t)
	spec.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"mkdir"}, Action: specs.ActErrno},
		{Names: []string{"mkdir"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}},
	}}
	path, want := "linux.seccomp.syscalls[1].args[0].index", "0 to 5"
	if !seccomp.Enabled {
		path, want = "linux.seccomp", "without seccomp support"
	}
	err := Validate(spec, bundle)
	var se *SpecError
	if !errors.As(err, &se) || se.Path != path || !strings.Contains(err.Error(), want) {
		t.Errorf("Validate: %v, want %s: ...%s", err, path, want)
	}
	spec.Linux.Seccomp.Syscalls = spec.Linux.Seccomp.Syscalls[:1]
	if err := Validate(spec, bundle); seccomp.Enabled && err != nil {
		t.Errorf("a good profile: %v", err)
	}
}

// Validate reports the first problem in config order; validateAll
// finds every one.
func TestValidateReportsAllInOrder(t *testing.T) {
	bundle, spec := validBundle(t)
	spec.Root.Path = "missing"
	spec.Process.Cwd = "rel"
	spec.Linux.Seccomp = &specs.LinuxSeccomp{}
	seccompPath := "linux.seccomp.defaultAction"
	if !seccomp.Enabled {
		seccompPath = "linux.seccomp"
	}
	errs := validateAll(spec, bundle)
	var paths []string
	for _, err := range errs {
		var se *SpecError
		if errors.As(err, &se) {
			paths = append(paths, se.Path)
		}
	}
	want := []string{"root.path", "process.cwd", seccompPath}
	if strings.Join(paths, ",") != strings.Join(want, ",") {
		t.Errorf("validateAll: %v, want %v", paths, want)
	}
	var se *SpecError
	if err := Validate(spec, bundle); !errors.As(err, &se) || se.Path != "root.path" {
		t.Errorf("Validate: %v, want the root.path error first", err)
	}
}

func TestLoadSpecNamesLineAndColumn(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"syntax", "{\n  \"ociVersion\": \"1.3.0\",\n  \"process\": {\n    \"args\": [\"sh\",]\n  }\n}\n", "line 4, column 19"},
		// Columns count from 1 at the offending byte, as jq and Python say.
		{"first line", `{"ociVersion": x}`, "line 1, column 16"},
		{"truncated", "{\n  \"ociVersion\": \"1.3.0\"", "line 2, column 24: unexpected end of JSON input"},
		{"empty", "", "line 1, column 1: unexpected end of JSON input"},
		{"wrong type", "{\n  \"ociVersion\": \"1.3.0\",\n  \"process\": {\"args\": \"sh\"}\n}\n", "process.args"},
		// A second value would be ignored: a config pasted twice is an error.
		{"two values", "{\"ociVersion\": \"1.3.0\"}\n  {}\n", "line 2, column 3: unexpected data after the top-level value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(tc.json), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadSpec(dir)
			if err == nil {
				t.Fatal("LoadSpec accepted broken JSON")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "config.json") {
				t.Errorf("LoadSpec: %q, want it to name config.json and %q", err, tc.want)
			}
		})
	}
	if _, err := LoadSpec(t.TempDir()); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadSpec of a bundle without config.json: %v, want ErrNotExist", err)
	}
}
