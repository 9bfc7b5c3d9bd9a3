//go:build cgo && seccomp

package seccomp

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// dockerDefault is Docker's default profile, as engines pass it.
func dockerDefault(t testing.TB) *specs.LinuxSeccomp {
	t.Helper()
	data, err := os.ReadFile("../tests/integration/testdata/moby-default-seccomp.json")
	if err != nil {
		t.Fatal(err)
	}
	var p specs.LinuxSeccomp
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

// TestCompileDockerDefault: the stock profile passes Check and compiles;
// names this libseccomp does not know are skipped, never an error.
func TestCompileDockerDefault(t *testing.T) {
	p := dockerDefault(t)
	if err := Check(p); err != nil {
		t.Fatal(err)
	}
	p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{Names: []string{"husk_no_such_call"}, Action: specs.ActAllow})
	prog, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	insns, err := prog.instructions()
	if err != nil || len(insns) < 100 {
		t.Fatalf("%d instructions, %v", len(insns), err)
	}
	if n := len(prog.Skipped); n == 0 || prog.Skipped[n-1] != "husk_no_such_call" {
		t.Errorf("skipped %v, want husk_no_such_call last", prog.Skipped)
	}
	if prog.Flags != 0 {
		t.Errorf("flags %#x", prog.Flags)
	}
}

// TestCompileErrorsNameTheField: what only libseccomp finds still names
// the field.
func TestCompileErrorsNameTheField(t *testing.T) {
	// A big-endian architecture cannot join a filter for a little-endian
	// machine (and the other way round).
	arch := "SCMP_ARCH_S390X"
	if binary.NativeEndian.Uint16([]byte{0, 1}) == 1 {
		arch = "SCMP_ARCH_X86_64"
	}
	_, err := Compile(profile(t, `{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86","`+arch+`"]}`))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Path != "architectures[1]" || !strings.Contains(err.Error(), arch) {
		t.Errorf("got %v, want an error on architectures[1]", err)
	}
}

// TestCompileCached: the second compile of a profile comes from the
// cache, a changed profile is compiled anew, a damaged file is replaced.
func TestCompileCached(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	p := dockerDefault(t)
	first, err := CompileCached(p, dir)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 1 {
		t.Fatalf("cache files: %v", files)
	}
	// Plant a different program under the key: a hit must return it.
	planted := &Program{BPF: bytes.Repeat([]byte{6, 0, 0, 0, 0, 0, 0xff, 0x7f}, 3), Skipped: []string{"x"}}
	writeCache(dir, files[0], planted)
	hit, err := CompileCached(p, dir)
	if err != nil || !bytes.Equal(hit.BPF, planted.BPF) {
		t.Fatalf("second compile did not come from the cache: %v", err)
	}
	// Flags are not cached: they follow the profile.
	p.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog}
	if hit, _ := CompileCached(p, dir); hit.Flags != unix.SECCOMP_FILTER_FLAG_LOG {
		t.Errorf("flags %#x from the cache", hit.Flags)
	}
	// A damaged file is compiled over.
	os.WriteFile(files[0], []byte(`{"bpf":"AAAA"}`), 0o600)
	again, err := CompileCached(p, dir)
	if err != nil || !bytes.Equal(again.BPF, first.BPF) || len(again.Skipped) != len(first.Skipped) {
		t.Fatalf("damaged cache: %v", err)
	}
	// Another profile, another file.
	p.Syscalls = p.Syscalls[1:]
	if _, err := CompileCached(p, dir); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.json")); len(files) != 2 {
		t.Errorf("cache files after a second profile: %v", files)
	}
}

// TestSendListener: one connection, the state as JSON, the fd in
// SCM_RIGHTS, then the connection closes.
func TestSendListener(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	state := &specs.ContainerProcessState{Version: specs.Version, Fds: []string{specs.SeccompFdName}, Pid: 42, Metadata: "meta",
		State: specs.State{Version: specs.Version, ID: "c1", Status: specs.StateCreated, Pid: 42, Bundle: "/b"}}
	errc := make(chan error, 1)
	go func() { errc <- SendListener(sock, state, int(w.Fd())) }()
	conn, err := l.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	var got specs.ContainerProcessState
	if err := json.Unmarshal(buf[:n], &got); err != nil || got.Metadata != "meta" || got.State.ID != "c1" || got.Fds[0] != "seccompFd" {
		t.Fatalf("state %s: %v", buf[:n], err)
	}
	msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
	fds, _ := unix.ParseUnixRights(&msgs[0])
	passed := os.NewFile(uintptr(fds[0]), "passed")
	defer passed.Close()
	passed.Write([]byte("through"))
	w.Close()
	passed.Close()
	got2 := make([]byte, 16)
	if n, _ := r.Read(got2); string(got2[:n]) != "through" {
		t.Errorf("the fd that arrived is not the pipe: read %q", got2[:n])
	}
	if n, _ := conn.Read(buf); n != 0 {
		t.Errorf("connection not closed after one state")
	}
	if err := SendListener(filepath.Join(t.TempDir(), "none.sock"), state, int(r.Fd())); err == nil || !strings.Contains(err.Error(), "none.sock") {
		t.Errorf("no agent: %v", err)
	}
}

// The numbers behind the cache: compiling Docker's default profile with
// libseccomp, against reading the compiled program back.
func BenchmarkCompileDockerDefault(b *testing.B) {
	p := dockerDefault(b)
	for b.Loop() {
		if _, err := Compile(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompileCachedDockerDefault(b *testing.B) {
	p := dockerDefault(b)
	dir := b.TempDir()
	if _, err := CompileCached(p, dir); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := CompileCached(p, dir); err != nil {
			b.Fatal(err)
		}
	}
}

// Check runs on every create and exec.
func BenchmarkCheckDockerDefault(b *testing.B) {
	p := dockerDefault(b)
	for b.Loop() {
		if err := Check(p); err != nil {
			b.Fatal(err)
		}
	}
}
