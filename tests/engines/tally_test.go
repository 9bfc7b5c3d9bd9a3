package engines

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// tally counts each engine's scenarios per runtime, for the summary line
// TestMain prints last:
//
//	engines tally: containerd: husk 12/16, runc 16/16; podman: husk 14/20 (2 skipped), runc 20/20 (2 skipped)
type tally struct {
	mu      sync.Mutex
	engines []string                     // in the order they ran
	counts  map[string]map[string]*count // engine → runtime → count
	skipped map[string]bool              // engines not installed
	failed  map[string][]string          // runtime → failed scenario names
}

type count struct{ passed, ran, skipped int }

var results = &tally{
	counts:  map[string]map[string]*count{},
	skipped: map[string]bool{},
	failed:  map[string][]string{},
}

// record counts t, a scenario's test, once it has finished.
func (r *tally) record(t *testing.T, engine, runtime string) {
	t.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		c := r.counter(engine, runtime)
		switch {
		case t.Skipped():
			c.skipped++
		case t.Failed():
			c.ran++
			r.failed[runtime] = append(r.failed[runtime], t.Name())
		default:
			c.ran++
			c.passed++
		}
	})
}

func (r *tally) counter(engine, runtime string) *count {
	if r.counts[engine] == nil {
		r.counts[engine] = map[string]*count{}
		r.engines = append(r.engines, engine)
	}
	c := r.counts[engine][runtime]
	if c == nil {
		c = &count{}
		r.counts[engine][runtime] = c
	}
	return c
}

// skipEngine notes that an engine could not run at all.
func (r *tally) skipEngine(engine string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.skipped[engine] {
		r.skipped[engine] = true
		r.engines = append(r.engines, engine)
	}
}

// summary is the tally line, then each runtime's failed scenarios.
func (r *tally) summary() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var parts []string
	for _, engine := range r.engines {
		if r.skipped[engine] {
			parts = append(parts, engine+": not installed, skipped")
			continue
		}
		var rts []string
		for _, rt := range runtimes {
			c := r.counts[engine][rt.Name]
			if c == nil {
				continue
			}
			s := fmt.Sprintf("%s %d/%d", rt.Name, c.passed, c.ran)
			if c.skipped > 0 {
				s += fmt.Sprintf(" (%d skipped)", c.skipped)
			}
			rts = append(rts, s)
		}
		parts = append(parts, engine+": "+strings.Join(rts, ", "))
	}
	if len(parts) == 0 {
		return "engines: no scenario ran"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "engines tally: %s\n", strings.Join(parts, "; "))
	for _, rt := range runtimes {
		for _, name := range r.failed[rt.Name] {
			fmt.Fprintf(&b, "  FAIL %s\n", name)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}
