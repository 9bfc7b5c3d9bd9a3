package trace

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
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

// BeginArgs is Begin with arguments, which viewers show with the span.
func (r *Recorder) BeginArgs(name string, args map[string]string) func() {
	if r == nil {
		return noop
	}
	start := time.Now()
	return func() { r.addArgs(name, start, time.Since(start), args) }
}

// BeginOn is Begin(step + " " + object), without building the name when
// tracing is off: "mount /proc" costs no allocation per mount then.
func (r *Recorder) BeginOn(step, object string) func() {
	if r == nil {
		return noop
	}
	return r.Begin(step + " " + object)
}

// Add records a span timed by other means: one that began before this
// process did, for instance.
func (r *Recorder) Add(name string, start time.Time, d time.Duration) {
	if r != nil {
		r.add(name, start, d)
	}
}

// add records a span. Every span of a process goes on one track (tid =
// pid), whichever OS thread ran it: husk's steps are one sequence, and
// viewers nest spans only within a track.
func (r *Recorder) add(name string, start time.Time, d time.Duration) {
	r.addArgs(name, start, d, nil)
}

func (r *Recorder) addArgs(name string, start time.Time, d time.Duration, args map[string]string) {
	r.mu.Lock()
	r.events = append(r.events, Event{
		Name: name, Cat: category(name), Ph: "X", TS: start.UnixMicro(), Dur: max(d.Microseconds(), 1),
		Pid: r.pid, Tid: r.pid, Args: args,
	})
	r.mu.Unlock()
}

// category is a span's first word ("mount" for "mount /proc"), which
// viewers can filter and colour by.
func category(name string) string {
	cat, _, _ := strings.Cut(name, " ")
	return cat
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

// AppendSpan appends a span as the JSON of an Event (pid and tid 0, for
// Adopt to fill in) without allocating when buf has room: for init's
// last steps, after the seccomp filter is on, when a syscall the Go
// allocator might make could be one the container's profile denies.
// name must need no JSON escaping.
func AppendSpan(buf []byte, name string, start time.Time, d time.Duration) []byte {
	buf = append(buf, `{"name":"`...)
	buf = append(buf, name...)
	buf = append(buf, `","cat":"`...)
	buf = append(buf, category(name)...)
	buf = append(buf, `","ph":"X","ts":`...)
	buf = strconv.AppendInt(buf, start.UnixMicro(), 10)
	buf = append(buf, `,"dur":`...)
	buf = strconv.AppendInt(buf, max(d.Microseconds(), 1), 10)
	return append(buf, `,"pid":0,"tid":0}`...)
}
