package cgroups

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestSharesToWeight(t *testing.T) {
	for shares, want := range map[uint64]uint64{0: 0, 1: 1, 2: 1, 1024: 39, 262144: 10000, 1 << 20: 10000} {
		if got := SharesToWeight(shares); got != want {
			t.Errorf("SharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
}

func TestBlkioWeightToIOWeight(t *testing.T) {
	for w, want := range map[uint16]uint64{10: 1, 500: 4950, 1000: 10000} {
		if got := BlkioWeightToIOWeight(w); got != want {
			t.Errorf("BlkioWeightToIOWeight(%d) = %d, want %d", w, got, want)
		}
	}
}

func TestSwapToV2(t *testing.T) {
	cases := []struct {
		swap, limit, want int64
		err               bool
	}{
		{0, -1, -1, false},     // unlimited memory, swap unset: unlimited
		{-1, 100, -1, false},   // unlimited swap
		{0, 100, 0, false},     // unset
		{300, 100, 200, false}, // memory+swap 300, memory 100: swap 200
		{100, 100, 0, false},   // no swap at all
		{50, 100, 0, true},     // memory+swap below memory
		{300, 0, 0, true},      // swap without a memory limit
	}
	for _, c := range cases {
		got, err := swapToV2(c.swap, c.limit)
		if (err != nil) != c.err || (!c.err && got != c.want) {
			t.Errorf("swapToV2(%d, %d) = %d, %v; want %d (error %v)", c.swap, c.limit, got, err, c.want, c.err)
		}
	}
}

// runProgram interprets the few instructions compileDeviceRules emits,
// so the rule semantics are checked without loading anything.
func runProgram(t *testing.T, prog []bpfInsn, typ, access, major, minor uint32) int64 {
	t.Helper()
	ctx := [3]uint32{access<<16 | typ, major, minor}
	var r [11]uint64
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		dst, src := in.regs&0xf, in.regs>>4
		switch in.code {
		case unix.BPF_LDX | unix.BPF_MEM | unix.BPF_W:
			r[dst] = uint64(ctx[in.off/4])
		case unix.BPF_ALU | aluAnd | unix.BPF_K:
			r[dst] = uint64(uint32(r[dst]) & uint32(in.imm))
		case unix.BPF_ALU | aluRsh | unix.BPF_K:
			r[dst] = uint64(uint32(r[dst]) >> uint32(in.imm))
		case unix.BPF_ALU64 | unix.BPF_MOV | unix.BPF_K:
			r[dst] = uint64(int64(in.imm))
		case unix.BPF_ALU64 | unix.BPF_MOV | unix.BPF_X:
			r[dst] = r[src]
		case unix.BPF_JMP | unix.BPF_JNE | unix.BPF_K:
			if r[dst] != uint64(int64(in.imm)) {
				pc += int(in.off)
			}
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K:
			if r[dst] == uint64(int64(in.imm)) {
				pc += int(in.off)
			}
		case unix.BPF_JMP | unix.BPF_EXIT:
			return int64(r[0])
		default:
			t.Fatalf("unexpected instruction %#x at %d", in.code, pc)
		}
	}
	t.Fatal("program ran off its end")
	return -1
}

func TestDeviceProgram(t *testing.T) {
	rules := DeviceRules([]specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i64p(10), Minor: i64p(200), Access: "rw"},
		{Allow: true, Type: "b", Major: i64p(8), Access: "r"},
		{Allow: false, Type: "c", Major: i64p(1), Minor: i64p(9), Access: "w"}, // overridden by the standard urandom rule
		{Allow: false, Type: "b", Major: i64p(8), Minor: i64p(1), Access: "r"},
	}, []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}})
	prog, err := compileDeviceRules(rules)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name                      string
		typ, access, major, minor uint32
		want                      int64
	}{
		{"tun rw", devTypeChar, accRead | accWrite, 10, 200, 1},
		{"tun mknod", devTypeChar, accMknod, 10, 200, 1}, // standard "c *:* m"
		{"tun as block", devTypeBlock, accRead, 10, 200, 0},
		{"sda read", devTypeBlock, accRead, 8, 0, 1},
		{"sda write", devTypeBlock, accWrite, 8, 0, 0},
		{"sda read+write", devTypeBlock, accRead | accWrite, 8, 0, 0},
		{"sda1 read denied by a later rule", devTypeBlock, accRead, 8, 1, 0},
		{"mem", devTypeChar, accRead, 1, 1, 0},
		{"null", devTypeChar, accRead | accWrite, 1, 3, 1},
		{"urandom write (standard wins)", devTypeChar, accWrite, 1, 9, 1},
		{"pts", devTypeChar, accRead | accWrite, 136, 7, 1},
		{"fuse from linux.devices", devTypeChar, accRead | accWrite, 10, 229, 1},
	}
	for _, c := range cases {
		if got := runProgram(t, prog, c.typ, c.access, c.major, c.minor); got != c.want {
			t.Errorf("%s: verdict %d, want %d", c.name, got, c.want)
		}
	}
	if _, err := compileDeviceRules([]specs.LinuxDeviceCgroup{{Allow: true, Type: "x"}}); err == nil {
		t.Error("type x accepted")
	}
	if _, err := compileDeviceRules([]specs.LinuxDeviceCgroup{{Allow: true, Access: "rwx"}}); err == nil {
		t.Error("access rwx accepted")
	}
}

// TestDeviceProgramAllowAll: an allow-all rule (a privileged container's)
// decides everything, and the program has no unreachable instruction,
// which the kernel's verifier would reject.
func TestDeviceProgramAllowAll(t *testing.T) {
	for i, rules := range [][]specs.LinuxDeviceCgroup{
		DeviceRules([]specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}},
			[]specs.LinuxDevice{{Path: "/dev/kmsg", Type: "c", Major: 1, Minor: 11}}),
		{{Allow: false, Type: "c", Major: i64p(1), Minor: i64p(1), Access: "rwm"}, {Allow: true, Type: "a"}},
	} {
		prog, err := compileDeviceRules(rules)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ typ, access, major, minor uint32 }{
			{devTypeChar, accRead | accWrite, 1, 1},
			{devTypeBlock, accRead | accWrite | accMknod, 8, 0},
			{devTypeChar, accRead, 1, 11},
		} {
			if got := runProgram(t, prog, c.typ, c.access, c.major, c.minor); got != 1 {
				t.Errorf("case %d: %+v denied", i, c)
			}
		}
		if pc := unreachable(prog); pc >= 0 {
			t.Errorf("case %d: instruction %d of %d is unreachable", i, pc, len(prog))
		}
	}
	// Rules the allow-all shadows are still validated.
	if _, err := compileDeviceRules([]specs.LinuxDeviceCgroup{{Allow: true, Type: "x"}, {Allow: true}}); err == nil {
		t.Error("a shadowed rule of type x accepted")
	}
}

// unreachable returns the first instruction no path from the start
// reaches, or -1.
func unreachable(prog []bpfInsn) int {
	seen := make([]bool, len(prog))
	var walk func(pc int)
	walk = func(pc int) {
		for ; pc < len(prog) && !seen[pc]; pc++ {
			seen[pc] = true
			in := prog[pc]
			if in.code == unix.BPF_JMP|unix.BPF_EXIT {
				return
			}
			if in.isJump() {
				walk(pc + 1 + int(in.off))
			}
		}
	}
	walk(0)
	for pc, ok := range seen {
		if !ok {
			return pc
		}
	}
	return -1
}

func i64p(v int64) *int64 { return &v }

func TestNewPath(t *testing.T) {
	root, err := UnifiedRoot()
	if err != nil {
		t.Skip(err)
	}
	for in, want := range map[string]string{
		"":            "/husk/web",
		"pod/web":     "/husk/pod/web",
		"/k8s.io/web": "/k8s.io/web",
		"../../x":     "/x",
	} {
		m, err := New(in, "web")
		if err != nil || m.Path != root+want {
			t.Errorf("New(%q) = %v, %v; want %s", in, m, err, root+want)
		}
	}
	for _, bad := range []string{"/", "system.slice:husk:web"} {
		if _, err := New(bad, "web"); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}
