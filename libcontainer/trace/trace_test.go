package trace

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNilRecorderIsFree(t *testing.T) {
	var r *Recorder
	allocs := testing.AllocsPerRun(100, func() {
		r.Begin("step")()
		r.BeginOn("mount", "/proc")()
		r.BeginArgs("clone", nil)()
	})
	if allocs != 0 {
		t.Errorf("a nil recorder allocates %v times per span", allocs)
	}
	if ev := r.Take(); ev != nil {
		t.Errorf("nil recorder took %v", ev)
	}
	file := filepath.Join(t.TempDir(), "trace.json")
	if err := r.Flush(file); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("a nil recorder created %s (%v)", file, err)
	}
}

func TestSpansAndAdopt(t *testing.T) {
	r := &Recorder{pid: 100}
	before := time.Now().UnixMicro()
	end := r.Begin("outer")
	r.BeginOn("mount", "/proc")()
	time.Sleep(time.Millisecond)
	end()
	r.BeginArgs("clone", map[string]string{"new": "pid"})()
	r.Adopt([]Event{
		{Name: "process_name", Ph: "M", Pid: 1, Args: map[string]string{"name": "husk init"}},
		{Name: "exec", Ph: "X", TS: before, Dur: 5, Pid: 1, Tid: 7},
	}, 4242)
	ev := r.Take()
	if len(ev) != 5 || r.Take() != nil {
		t.Fatalf("took %d events, then more: %v", len(ev), ev)
	}
	mount, outer := ev[0], ev[1]
	if mount.Name != "mount /proc" || mount.Cat != "mount" || mount.Ph != "X" || mount.Pid != 100 || mount.Tid != 100 {
		t.Errorf("mount span = %+v", mount)
	}
	if outer.Name != "outer" || outer.TS < before || outer.Dur < 1000 || mount.TS < outer.TS || mount.TS+mount.Dur > outer.TS+outer.Dur {
		t.Errorf("outer span %+v does not enclose %+v", outer, mount)
	}
	if clone := ev[2]; clone.Name != "clone" || clone.Args["new"] != "pid" {
		t.Errorf("clone span = %+v, want its args", clone)
	}
	if ev[3].Pid != 4242 || ev[3].Tid != 0 || ev[4].Pid != 4242 || ev[4].Tid != 4242 {
		t.Errorf("adopted events not moved to pid 4242: %+v", ev[3:])
	}
}

// TestAppendSpan: the allocation-free encoding decodes to what add records.
func TestAppendSpan(t *testing.T) {
	start := time.UnixMicro(1_700_000_000_123_456)
	buf := make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendSpan(buf[:0], "seccomp load", start, 1500*time.Microsecond)
	})
	if allocs != 0 {
		t.Errorf("AppendSpan allocates %v times", allocs)
	}
	var got Event
	if err := json.Unmarshal(buf, &got); err != nil {
		t.Fatalf("%s: %v", buf, err)
	}
	want := Event{Name: "seccomp load", Cat: "seccomp", Ph: "X", TS: start.UnixMicro(), Dur: 1500}
	if got.Name != want.Name || got.Cat != want.Cat || got.Ph != want.Ph || got.TS != want.TS || got.Dur != want.Dur {
		t.Errorf("AppendSpan = %+v, want %+v", got, want)
	}
}

// TestFlushAppends: several processes append to one file, which stays
// a trace-event array whose closing bracket is optional.
func TestFlushAppends(t *testing.T) {
	file := filepath.Join(t.TempDir(), "trace.json")
	for i, name := range []string{"husk create", "husk start"} {
		r := &Recorder{pid: 10 + i}
		r.events = []Event{{Name: "process_name", Ph: "M", Pid: r.pid, Args: map[string]string{"name": name}}}
		r.Begin("step")()
		if err := r.Flush(file); err != nil {
			t.Fatal(err)
		}
		if err := r.Flush(file); err != nil { // nothing left: writes nothing
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "[\n") || strings.Count(string(data), "[") != 1 || strings.Count(string(data), "\n") != 5 {
		t.Errorf("trace file:\n%s", data)
	}
	ev, err := Read(file)
	if err != nil || len(ev) != 4 {
		t.Fatalf("Read = %d events, %v", len(ev), err)
	}
	if ev[0].Args["name"] != "husk create" || ev[3].Pid != 11 {
		t.Errorf("events out of order: %+v", ev)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		fail bool
	}{
		{"[\n", 0, false},
		{"[]", 0, false},
		{`[{"name":"a","ph":"X"},` + "\n", 1, false},
		{`[{"name":"a","ph":"X"},` + "\n]\n", 1, false},
		{`[{"name":"a","ph":"X"}]`, 1, false},
		{`[{"name":"a","ph":"X"},{"name":"b","ph":"X"}` + "\n\n", 2, false},
		{"", 0, true},
		{`{"name":"a"}`, 0, true},
		{`[{"name":"a",`, 0, true},
	} {
		ev, err := Parse([]byte(tc.in))
		if (err != nil) != tc.fail || len(ev) != tc.n {
			t.Errorf("Parse(%q) = %d events, %v", tc.in, len(ev), err)
		}
	}
}

func TestSummary(t *testing.T) {
	events := []Event{
		{Name: "process_name", Ph: "M", Pid: 1, Args: map[string]string{"name": "husk run"}},
		{Name: "process_name", Ph: "M", Pid: 2, Args: map[string]string{"name": "husk init"}},
		{Name: "husk run", Ph: "X", TS: 1000, Dur: 900, Pid: 1},
		{Name: "wait ready", Ph: "X", TS: 1100, Dur: 500, Pid: 1},
		{Name: "clone", Ph: "X", TS: 1050, Dur: 40, Pid: 1},
		{Name: "rootfs", Ph: "X", TS: 1200, Dur: 300, Pid: 2},
		{Name: "mount /proc", Ph: "X", TS: 1210, Dur: 100, Pid: 2},
		{Name: "mount /dev", Ph: "X", TS: 1320, Dur: 150, Pid: 2},
	}
	self := map[string]int64{"husk run": 360, "wait ready": 500, "rootfs": 50, "mount /dev": 150}
	for _, s := range Spans(events) {
		if want, ok := self[s.Name]; ok && s.Self != want {
			t.Errorf("%s: self %d µs, want %d", s.Name, s.Self, want)
		}
		if s.Name == "mount /proc" && (s.Process != "husk init" || s.At != 210) {
			t.Errorf("mount /proc: %+v", s)
		}
	}
	out := Summary(events, 3, false)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "6 spans in 2 processes over 0.9 ms") {
		t.Fatalf("summary:\n%s", out)
	}
	for i, want := range []string{"husk run", "wait ready", "rootfs"} {
		if !strings.HasSuffix(lines[2+i], "  "+want) {
			t.Errorf("row %d is not %q:\n%s", i, want, out)
		}
	}
	out = Summary(events, 2, true)
	if !strings.Contains(strings.Split(out, "\n")[2], "wait ready") || !strings.Contains(strings.Split(out, "\n")[3], "husk run") {
		t.Errorf("by self time:\n%s", out)
	}
}

// BenchmarkSpanOff is what every step costs with tracing off.
func BenchmarkSpanOff(b *testing.B) {
	var r *Recorder
	for b.Loop() {
		r.Begin("mount /proc")()
		r.BeginOn("mount", "/proc")()
	}
}

// BenchmarkSpanOn is what every step costs with tracing on.
func BenchmarkSpanOn(b *testing.B) {
	r := &Recorder{pid: 1}
	for i := 0; b.Loop(); i++ {
		r.Begin("mount /proc")()
		if i%1000 == 0 {
			r.Take()
		}
	}
}
