package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

var traceTop = flag.Int("trace", 12, "after the table, where husk's time goes: the N slowest steps of one traced `husk run` per config (0: leave it out)")

// traceRuns runs husk once per config with --trace (after an untraced run
// to warm the caches) and keeps `husk trace summary` of each, to print
// after the table: the timeline says which steps the medians are made of.
func (b *bench) traceRuns() []byte {
	r := b.rtNamed("husk")
	if *traceTop <= 0 || r == nil {
		return nil
	}
	var out bytes.Buffer
	for _, c := range b.cfgs {
		if _, ok := b.unsupported[c.name+"/husk"]; ok {
			continue
		}
		file := filepath.Join(b.dir, "trace-"+c.name+".json")
		if _, err := r.call("run", "--bundle", c.bTrue, b.id(r, c, "t")); err != nil {
			b.fail(c.name, r.name, err)
			continue
		}
		if _, err := r.call("--trace", file, "run", "--bundle", c.bTrue, b.id(r, c, "t")); err != nil {
			b.fail(c.name, r.name, err)
			continue
		}
		summary, err := exec.Command(r.bin, "trace", "summary", "--top", fmt.Sprint(*traceTop), file).CombinedOutput()
		os.Remove(file)
		if err != nil {
			b.fail(c.name, r.name, fmt.Errorf("husk trace summary: %v: %s", err, summary))
			continue
		}
		fmt.Fprintf(&out, "\nwhere husk's time goes, config %s: one `husk --trace FILE run` of /bin/true, `husk trace summary --top %d FILE`:\n%s", c.name, *traceTop, summary)
	}
	return out.Bytes()
}

func writeTraces(w io.Writer, traces []byte) {
	if len(traces) > 0 {
		w.Write(traces)
	}
}
