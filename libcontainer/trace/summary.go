package trace

import (
	"fmt"
	"sort"
	"strings"
)

// Span is a recorded step, as the summary shows it.
type Span struct {
	Event
	Process string // process_name, or the pid
	Self    int64  // µs not spent in spans nested in it (same process)
	At      int64  // µs since the first span of the trace
}

// Spans returns the trace's spans, each with its process's name and its
// self time, in the order they started.
func Spans(events []Event) []Span {
	names := map[int]string{}
	var spans []Span
	for _, e := range events {
		switch e.Ph {
		case "M":
			if e.Name == "process_name" {
				names[e.Pid] = e.Args["name"]
			}
		case "X":
			spans = append(spans, Span{Event: e, Self: e.Dur})
		}
	}
	// Enclosing spans first, so a stack per process finds each one's parent.
	sort.SliceStable(spans, func(i, j int) bool {
		if spans[i].TS != spans[j].TS {
			return spans[i].TS < spans[j].TS
		}
		return spans[i].Dur > spans[j].Dur
	})
	stacks := map[int][]*Span{}
	for i := range spans {
		s := &spans[i]
		s.Process = names[s.Pid]
		if s.Process == "" {
			s.Process = fmt.Sprint(s.Pid)
		}
		s.At = s.TS - spans[0].TS
		st := stacks[s.Pid]
		for len(st) > 0 && st[len(st)-1].TS+st[len(st)-1].Dur < s.TS+s.Dur {
			st = st[:len(st)-1]
		}
		if len(st) > 0 {
			st[len(st)-1].Self -= s.Dur
		}
		stacks[s.Pid] = append(st, s)
	}
	return spans
}

// Summary renders the top slowest spans (all if top <= 0) as a table,
// by duration, or by self time if bySelf.
func Summary(events []Event, top int, bySelf bool) string {
	spans := Spans(events)
	var b strings.Builder
	if len(spans) == 0 {
		return "no spans\n"
	}
	procs := map[int]bool{}
	var end int64
	for _, s := range spans {
		procs[s.Pid] = true
		end = max(end, s.At+s.Dur)
	}
	fmt.Fprintf(&b, "%d spans in %d processes over %.1f ms\n", len(spans), len(procs), float64(end)/1000)
	key := func(s Span) int64 { return s.Dur }
	if bySelf {
		key = func(s Span) int64 { return s.Self }
	}
	sort.SliceStable(spans, func(i, j int) bool { return key(spans[i]) > key(spans[j]) })
	if top > 0 && len(spans) > top {
		spans = spans[:top]
	}
	fmt.Fprintf(&b, "%10s  %10s  %9s  %-32s  %s\n", "total µs", "self µs", "at ms", "process", "step")
	for _, s := range spans {
		fmt.Fprintf(&b, "%10d  %10d  %9.3f  %-32s  %s\n", s.Dur, s.Self, float64(s.At)/1000, s.Process+" ["+fmt.Sprint(s.Pid)+"]", s.Name)
	}
	return b.String()
}
