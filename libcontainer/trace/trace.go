// Package trace records a timeline of what husk does, for --trace and
// HUSK_TRACE: spans with a start time and a duration, in the Chrome
// trace-event format that Perfetto and chrome://tracing open.
//
// It costs nothing when off: the recorder is nil, and Begin on a nil
// recorder returns a shared no-op. The parent and the container's init
// each record their own spans; init sends its spans to the parent (or to
// husk start) over the sync connection, and the processes append to one
// file in the format's array form, whose closing bracket is optional, so
// create, start and delete can each add their part.
package trace

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Event is one trace event: a complete span ("X") or process metadata ("M").
type Event struct {
	Name string            `json:"name"`
	Cat  string            `json:"cat,omitempty"`
	Ph   string            `json:"ph"`
	TS   int64             `json:"ts"`            // µs since the Unix epoch (wall clock: a time namespace cannot shift it)
	Dur  int64             `json:"dur,omitempty"` // µs
	Pid  int               `json:"pid"`
	Tid  int               `json:"tid"`
	Args map[string]string `json:"args,omitempty"`
}

// Recorder collects events of one process. A nil *Recorder records nothing.
type Recorder struct {
	mu     sync.Mutex
	pid    int
	events []Event
}

// T is this process's recorder: nil unless tracing is on.
var T *Recorder

// Start turns tracing on for this process, named as it should show
// (e.g. "husk create").
func Start(name string) *Recorder {
	T = &Recorder{pid: os.Getpid()}
	T.events = append(T.events, Event{Name: "process_name", Ph: "M", Pid: T.pid, Args: map[string]string{"name": name}})
	return T
}

var noop = func() {}

// Begin starts a span; calling the returned function ends it.
func (r *Recorder) Begin(name string) func() {
	if r == nil {
		return noop
	}
	start := time.Now()
	return func() { r.add(name, start, time.Since(start)) }
}

func (r *Recorder) add(name string, start time.Time, d time.Duration) {
	cat, _, _ := strings.Cut(name, " ")
	r.mu.Lock()
	r.events = append(r.events, Event{
		Name: name, Cat: cat, Ph: "X", TS: start.UnixMicro(), Dur: max(d.Microseconds(), 1),
		Pid: r.pid, Tid: unix.Gettid(),
	})
	r.mu.Unlock()
}

// Take returns the events recorded so far and forgets them.
func (r *Recorder) Take() []Event {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

// Adopt adds events another process recorded (init's, sent to the
// parent), under pid as the host knows it.
func (r *Recorder) Adopt(events []Event, pid int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range events {
		e.Pid = pid
		if e.Ph == "X" {
			e.Tid = pid // one thread: init is locked to its main thread
		}
		r.events = append(r.events, e)
	}
}

// Flush appends the events to file, creating it with the array's opening
// bracket; concurrent writers append whole lines (O_APPEND).
func (r *Recorder) Flush(file string) error {
	ev := r.Take()
	if len(ev) == 0 {
		return nil
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("writing trace: %w", err)
	}
	defer f.Close()
	var buf []byte
	if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
		buf = append(buf, "[\n"...)
	}
	for _, e := range ev {
		line, _ := json.Marshal(e)
		buf = append(append(buf, line...), ",\n"...)
	}
	_, err = f.Write(buf)
	return err
}

// Read parses a trace file written by Flush (or a complete JSON array).
func Read(file string) ([]Event, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	s := strings.TrimSpace(string(data))
	s = strings.TrimSuffix(strings.TrimSuffix(s, "]"), ",")
	if !strings.HasSuffix(s, "]") {
		s += "]"
	}
	var ev []Event
	if err := json.Unmarshal([]byte(s), &ev); err != nil {
		return nil, fmt.Errorf("parsing trace %s: %w", file, err)
	}
	return ev, nil
}

// Summary renders the slowest spans as a table, with the process each ran in.
func Summary(events []Event, top int) string {
	names := map[int]string{}
	var spans []Event
	for _, e := range events {
		switch e.Ph {
		case "M":
			if e.Name == "process_name" {
				names[e.Pid] = e.Args["name"]
			}
		case "X":
			spans = append(spans, e)
		}
	}
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].Dur > spans[j].Dur })
	if top > 0 && len(spans) > top {
		spans = spans[:top]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%10s  %-18s  %s\n", "µs", "process", "step")
	for _, s := range spans {
		proc := names[s.Pid]
		if proc == "" {
			proc = fmt.Sprint(s.Pid)
		}
		fmt.Fprintf(&b, "%10d  %-18s  %s\n", s.Dur, proc, s.Name)
	}
	return b.String()
}
