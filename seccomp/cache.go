//go:build cgo && seccomp

package seccomp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// cacheFormat changes whenever what Compile produces for the same input
// changes.
const cacheFormat = "husk-seccomp-1"

// CompileCached is Compile with the programs kept in dir, one file per
// profile, named by a hash of everything the program depends on: the
// rules, the architecture, libseccomp's and the kernel's versions.
// Compiling Docker's default profile takes tens of milliseconds, most of
// a container's start; reading it back takes tens of microseconds. The
// cache is best effort: a missing, unwritable or damaged one only costs
// a compile.
func CompileCached(p *specs.LinuxSeccomp, dir string) (*Program, error) {
	key, err := cacheKey(p)
	if err != nil {
		return Compile(p)
	}
	path := filepath.Join(dir, key+".json")
	if prog := readCache(path); prog != nil {
		prog.Flags = loadFlags(p)
		return prog, nil
	}
	prog, err := Compile(p)
	if err != nil {
		return nil, err
	}
	writeCache(dir, path, prog)
	return prog, nil
}

// cached is a cache file.
type cached struct {
	BPF     []byte   `json:"bpf"`
	Skipped []string `json:"skipped,omitempty"`
}

func cacheKey(p *specs.LinuxSeccomp) (string, error) {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return "", err
	}
	data, err := json.Marshal(struct {
		Format, Libseccomp, Kernel, Arch string
		DefaultAction                    specs.LinuxSeccompAction
		DefaultErrnoRet                  *uint
		Architectures                    []specs.Arch
		Syscalls                         []specs.LinuxSyscall
	}{
		cacheFormat, Version(), unix.ByteSliceToString(uts.Release[:]), runtime.GOARCH,
		p.DefaultAction, p.DefaultErrnoRet, p.Architectures, p.Syscalls,
	})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

func readCache(path string) *Program {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var c cached
	if json.Unmarshal(data, &c) != nil {
		return nil
	}
	prog := &Program{BPF: c.BPF, Skipped: c.Skipped}
	if _, err := prog.instructions(); err != nil {
		return nil
	}
	return prog
}

// writeCache replaces the file atomically, so a reader sees all or none.
func writeCache(dir, path string, prog *Program) {
	data, err := json.Marshal(cached{BPF: prog.BPF, Skipped: prog.Skipped})
	if err != nil || os.MkdirAll(dir, 0o700) != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
}
