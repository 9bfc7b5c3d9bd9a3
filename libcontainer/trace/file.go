package trace

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Flush appends the events to file, creating it with the array's opening
// bracket. Each process writes all its events in one write, holding an
// flock, so that create, start and delete (or containers traced at once)
// never interleave, and only the first writes the bracket.
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
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("writing trace: locking %s: %w", file, err)
	}
	var buf []byte
	if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
		buf = append(buf, "[\n"...)
	}
	for _, e := range ev {
		line, _ := json.Marshal(e)
		buf = append(append(buf, line...), ",\n"...)
	}
	if _, err := f.Write(buf); err != nil {
		return fmt.Errorf("writing trace: %w", err)
	}
	return nil
}

// Read parses a trace file written by Flush: the array form, whose
// closing bracket is optional and which may end in a comma, or a
// complete JSON array.
func Read(file string) ([]Event, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading trace: %w", err)
	}
	ev, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("parsing trace %s: %w", file, err)
	}
	return ev, nil
}

// Parse parses trace data in the array form (see Read).
func Parse(data []byte) ([]Event, error) {
	s := strings.TrimSpace(string(data))
	s = strings.TrimSpace(strings.TrimSuffix(s, "]"))
	s = strings.TrimSuffix(s, ",")
	if !strings.HasPrefix(s, "[") {
		return nil, fmt.Errorf("not a trace-event array")
	}
	var ev []Event
	if err := json.Unmarshal([]byte(s+"]"), &ev); err != nil {
		return nil, err
	}
	return ev, nil
}
