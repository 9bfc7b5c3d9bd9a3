package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// makeRootfs makes a busybox root filesystem (Debian's busybox-static)
// that every bundle shares, read-only.
func makeRootfs(dir string) error {
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return fmt.Errorf("%w (apt-get install busybox-static)", err)
	}
	for _, d := range []string{"bin", "proc", "sys", "dev", "etc", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/busybox"), bb, 0o755); err != nil {
		return err
	}
	for _, a := range []string{"true", "sh", "sleep"} {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
}

// baseSpec is the default config of `husk spec` (the same as runc's, but
// without a terminal), on the shared rootfs. ociVersion is 1.0.2: crun
// 1.8 refuses any version it does not know ("unknown version specified").
func baseSpec(husk, rootfs string) (*specs.Spec, error) {
	dir, err := os.MkdirTemp("", "bench-spec-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if out, err := exec.Command(husk, "spec", "--bundle", dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("husk spec: %v: %s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	s.Version = "1.0.2"
	s.Root = &specs.Root{Path: rootfs, Readonly: true}
	s.Process.Terminal = false
	return &s, nil
}

// writeBundle writes config.json for args into a new bundle dir.
func writeBundle(dir string, base *specs.Spec, seccomp *specs.LinuxSeccomp, args ...string) error {
	s := *base
	p := *base.Process
	l := *base.Linux
	p.Args = args
	l.Seccomp = seccomp
	s.Process, s.Linux = &p, &l
	b, err := json.MarshalIndent(&s, "", "\t")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
}

// The stock Docker profile (github.com/moby/profiles/seccomp, default.json)
// in its own format: syscall groups filtered by capability, architecture
// and kernel version. dockerProfile turns it into linux.seccomp for a
// process with the given bounding capabilities, as Docker and podman do
// (a port of that module's setupSeccomp).
type dockerProfile struct {
	specs.LinuxSeccomp
	ArchMap []struct {
		Arch      specs.Arch   `json:"architecture"`
		SubArches []specs.Arch `json:"subArchitectures"`
	} `json:"archMap"`
	Syscalls []struct {
		specs.LinuxSyscall
		Name     string         `json:"name,omitempty"`
		Includes *profileFilter `json:"includes,omitempty"`
		Excludes *profileFilter `json:"excludes,omitempty"`
	} `json:"syscalls"`
}

type profileFilter struct {
	Caps      []string `json:"caps,omitempty"`
	Arches    []string `json:"arches,omitempty"`
	MinKernel string   `json:"minKernel,omitempty"`
}

func loadDockerProfile(path string, bounding []string) (*specs.LinuxSeccomp, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p dockerProfile
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		return nil, fmt.Errorf("the bench knows the seccomp architectures of amd64 and arm64 only")
	}
	arch := runtime.GOARCH // the profile's "arches" are Go's names
	native := map[string]specs.Arch{"amd64": specs.ArchX86_64, "arm64": specs.ArchAARCH64}[runtime.GOARCH]
	kernel, err := kernelVersion()
	if err != nil {
		return nil, err
	}
	out := p.LinuxSeccomp
	for _, a := range p.ArchMap {
		if a.Arch == native {
			out.Architectures = append(append(out.Architectures, a.Arch), a.SubArches...)
		}
	}
	has := func(c string) bool { return slices.Contains(bounding, c) }
	atLeast := func(v string) (bool, error) {
		want, err := parseKernel(v)
		return !kernelLess(kernel, want), err
	}
next:
	for _, c := range p.Syscalls {
		if c.Name != "" {
			c.Names = []string{c.Name}
		}
		if e := c.Excludes; e != nil {
			if slices.Contains(e.Arches, arch) || slices.ContainsFunc(e.Caps, has) {
				continue next
			}
			if e.MinKernel != "" {
				if ok, err := atLeast(e.MinKernel); err != nil || ok {
					continue next
				}
			}
		}
		if in := c.Includes; in != nil {
			if len(in.Arches) > 0 && !slices.Contains(in.Arches, arch) {
				continue next
			}
			for _, cap := range in.Caps {
				if !has(cap) {
					continue next
				}
			}
			if in.MinKernel != "" {
				if ok, err := atLeast(in.MinKernel); err != nil || !ok {
					continue next
				}
			}
		}
		out.Syscalls = append(out.Syscalls, c.LinuxSyscall)
	}
	if len(out.Syscalls) == 0 {
		return nil, errors.New("the seccomp profile allows no syscall")
	}
	return &out, nil
}

func kernelVersion() ([2]int, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return [2]int{}, err
	}
	return parseKernel(unix.ByteSliceToString(u.Release[:]))
}

// parseKernel reads "major.minor" from a kernel release ("6.1.0-26-amd64").
func parseKernel(s string) ([2]int, error) {
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 2 {
		return [2]int{}, fmt.Errorf("kernel version %q", s)
	}
	minor := parts[1]
	for i, r := range parts[1] {
		if r < '0' || r > '9' {
			minor = parts[1][:i]
			break
		}
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil {
		return [2]int{}, fmt.Errorf("kernel version %q", s)
	}
	return [2]int{ma, mi}, nil
}

func kernelLess(a, b [2]int) bool { return a[0] < b[0] || a[0] == b[0] && a[1] < b[1] }
