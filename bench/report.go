package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"text/tabwriter"
)

// A row of the table: one metric, per runtime.
type row struct {
	metric, title, unit string
	higherBetter        bool
	// targets: husk ÷ runtime at most this (at least, if higherBetter).
	targets map[string]float64
	// base: the metric this one must not grow from (husk's median of
	// metric ÷ base at most maxGrowth).
	base string
}

// maxGrowth is how much slower a step may be with -existing containers
// than with none before the table calls it growing (noise allowance).
const maxGrowth = 1.25

var rows = []row{
	{metric: "run", title: "run /bin/true", unit: "ms", targets: map[string]float64{"runc": 0.5, "crun": 1.2}},
	{metric: "create", title: "create", unit: "ms"},
	{metric: "start", title: "start", unit: "ms"},
	{metric: "delete", title: "delete (stopped)", unit: "ms"},
	{metric: "exec", title: "exec /bin/true", unit: "ms", targets: map[string]float64{"runc": 0.5}},
	{metric: "conc", title: "CONC× create+start at once", unit: "ctr/s", higherBetter: true},
	{metric: "run-0", title: "run, 0 containers exist", unit: "ms"},
	{metric: "run-loaded", title: "run, EXIST containers exist", unit: "ms", base: "run-0"},
	{metric: "create-0", title: "create, 0 exist", unit: "ms"},
	{metric: "create-loaded", title: "create, EXIST exist", unit: "ms", base: "create-0"},
	{metric: "delete-0", title: "delete -f (created), 0 exist", unit: "ms"},
	{metric: "delete-loaded", title: "delete -f (created), EXIST exist", unit: "ms", base: "delete-0"},
	{metric: "exec-0", title: "exec, 1 exists", unit: "ms"},
	{metric: "exec-loaded", title: "exec, EXIST exist", unit: "ms", base: "exec-0"},
	{metric: "rss-create", title: "peak RSS, create command", unit: "MiB", targets: map[string]float64{"runc": 1}},
	{metric: "rss-init", title: "peak RSS, init waiting", unit: "MiB", targets: map[string]float64{"runc": 1}},
}

func (b *bench) median(cfg, metric, rt string) (med, spread float64, n int) {
	v := slices.Clone(b.samples[cfg+"/"+metric+"/"+rt])
	if len(v) == 0 {
		return 0, 0, 0
	}
	slices.Sort(v)
	q := func(p float64) float64 {
		x := p * float64(len(v)-1)
		i := int(x)
		if i+1 >= len(v) {
			return v[len(v)-1]
		}
		return v[i] + (x-float64(i))*(v[i+1]-v[i])
	}
	return q(0.5), (q(0.75) - q(0.25)) / 2, len(v)
}

func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// A table: header cells, then rows of cells (the first names the metric).
type table struct {
	title  string
	header []string
	lines  [][]string
	notes  []string
}

// tables builds what report prints: one table per config.
func (b *bench) tables() []table {
	var out []table
	for _, c := range b.cfgs {
		t := table{title: "default config (husk spec: 6 namespaces, no seccomp)"}
		if c.seccomp != nil {
			t.title = fmt.Sprintf("with the Docker default seccomp profile (%d syscall rules)", len(c.seccomp.Syscalls))
		}
		t.header = []string{""}
		for _, r := range b.rts {
			t.header = append(t.header, r.name)
		}
		for _, r := range b.rts[1:] {
			t.header = append(t.header, "husk/"+r.name)
		}
		t.header = append(t.header, "target")
		for _, rw := range rows {
			if !b.measured(c, rw.metric) {
				continue // a phase left out (-rounds 0, no GNU time)
			}
			t.lines = append(t.lines, b.tableLine(c, rw))
		}
		for _, r := range b.rts {
			if why, no := b.unsupported[c.name+"/"+r.name]; no {
				t.notes = append(t.notes, fmt.Sprintf("%s n/a: %s", r.name, why))
			}
			if f := b.failures[c.name+"/"+r.name]; len(f) > 0 {
				t.notes = append(t.notes, fmt.Sprintf("%s: %d failed calls, e.g. %s", r.name, len(f), f[0]))
			}
		}
		out = append(out, t)
	}
	return out
}

// measured reports whether any runtime has samples of metric.
func (b *bench) measured(c *benchConfig, metric string) bool {
	for _, r := range b.rts {
		if len(b.samples[c.name+"/"+metric+"/"+r.name]) > 0 {
			return true
		}
	}
	return false
}

func (b *bench) tableLine(c *benchConfig, rw row) []string {
	title := strings.NewReplacer("CONC", fmt.Sprint(*conc), "EXIST", fmt.Sprint(max(*existing, *conc))).Replace(rw.title)
	line := []string{title + " (" + rw.unit + ")"}
	husk, _, hn := b.median(c.name, rw.metric, "husk")
	for _, r := range b.rts {
		if _, no := b.unsupported[c.name+"/"+r.name]; no {
			line = append(line, "n/a")
			continue
		}
		m, s, n := b.median(c.name, rw.metric, r.name)
		switch {
		case n == 0:
			line = append(line, "-")
		case n == 1:
			line = append(line, num(m))
		default:
			line = append(line, num(m)+" ±"+num(s))
		}
	}
	var verdicts []string
	for _, r := range b.rts[1:] {
		m, _, n := b.median(c.name, rw.metric, r.name)
		if n == 0 || hn == 0 || m == 0 {
			line = append(line, "-")
			continue
		}
		ratio := husk / m
		line = append(line, fmt.Sprintf("%.2f", ratio))
		if t, ok := rw.targets[r.name]; ok {
			ok := ratio <= t
			if rw.higherBetter {
				ok = ratio >= t
			}
			verdicts = append(verdicts, fmt.Sprintf("≤%.2g×%s %s", t, r.name, mark(ok)))
		}
	}
	if base, _, n := b.median(c.name, rw.base, "husk"); rw.base != "" && n > 0 && hn > 0 {
		g := husk / base
		verdicts = append(verdicts, fmt.Sprintf("husk %.2f× of 0 (≤%.2g %s)", g, maxGrowth, mark(g <= maxGrowth)))
	}
	return append(line, strings.Join(verdicts, ", "))
}

func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

func (b *bench) report(out io.Writer, h *hostInfo) {
	header := fmt.Sprintf("husk bench — %s: kernel %s, %s, %d CPUs, load %s, %s", h.label, h.kernel, h.cgroups, h.cpus, h.load, h.duration.Round(1e9))
	method := fmt.Sprintf("medians ± half the interquartile range; %d lifecycle iterations, %d containers at once × %d rounds, steps with 0 and %d existing; runtimes interleaved in random order; %s",
		*iters, *conc, *rounds, max(*existing, *conc), b.stateNote)
	var rts []string
	for _, r := range b.rts {
		rts = append(rts, fmt.Sprintf("%s: %s (%s), %s", r.name, version(r.bin), r.orig, r.note))
	}
	tables := b.tables()
	fmt.Fprintf(out, "\n%s\n%s\n", header, method)
	for _, r := range rts {
		fmt.Fprintf(out, "  %s\n", r)
	}
	for _, t := range tables {
		fmt.Fprintf(out, "\n== %s\n", t.title)
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, strings.Join(t.header, "\t")+"\t")
		for _, l := range t.lines {
			fmt.Fprintln(tw, strings.Join(l, "\t")+"\t")
		}
		tw.Flush()
		for _, n := range t.notes {
			fmt.Fprintf(out, "  %s\n", n)
		}
	}
	extra := b.extras()
	fmt.Fprintf(out, "\n%s", strings.Join(extra, "\n"))

	// The same, as markdown to paste into the README.
	fmt.Fprintf(out, "\n\n---- markdown ----\n\n")
	fmt.Fprintf(out, "%s.  \n%s.\n\n", header, method)
	for _, r := range rts {
		fmt.Fprintf(out, "- %s\n", r)
	}
	for _, t := range tables {
		fmt.Fprintf(out, "\n**%s**\n\n", t.title)
		fmt.Fprintf(out, "| %s |\n|:---|%s\n", strings.Join(t.header, " | "), strings.Repeat("---:|", len(t.header)-1))
		for _, l := range t.lines {
			fmt.Fprintf(out, "| %s |\n", strings.Join(l, " | "))
		}
		for _, n := range t.notes {
			fmt.Fprintf(out, "\n%s\n", n)
		}
	}
	fmt.Fprintf(out, "\n```\n%s```\n", strings.Join(extra, "\n"))
}

// extras are the binary sizes and the floor, as lines.
func (b *bench) extras() []string {
	out := []string{"== binary size (MiB)"}
	for _, r := range b.rts {
		fi, err := os.Stat(r.bin)
		if err == nil {
			out = append(out, fmt.Sprintf("  %-5s %6.2f  %s", r.name, float64(fi.Size())/(1<<20), libs(r.bin)))
		}
	}
	t, ts, _ := b.median("floor", "true", "-")
	u, us, _ := b.median("floor", "unshare", "-")
	out = append(out, "", "== floor (ms)",
		fmt.Sprintf("  fork+exec /bin/true                       %s ±%s", num(t), num(ts)),
		fmt.Sprintf("  unshare -pf -m -u -i -n -C /bin/true      %s ±%s", num(u), num(us)))
	if hr, _, n := b.median("default", "run", "husk"); n > 0 && u > 0 {
		out = append(out, fmt.Sprintf("  husk run /bin/true is %.1f× the unshare floor (%.2f ms above it)", hr/u, hr-u))
	}
	if f := b.failures["floor/unshare"]; len(f) > 0 {
		out = append(out, fmt.Sprintf("  unshare: %d failed, e.g. %s", len(f), f[0]))
	}
	return append(out, "")
}

func version(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "?"
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return first
}

// libs names the shared libraries a binary loads (ldd), which its size
// leaves out.
func libs(bin string) string {
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		return "static"
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && !strings.Contains(f[0], "linux-vdso") && !strings.Contains(f[0], "ld-linux") {
			names = append(names, strings.TrimSuffix(strings.SplitN(f[0], ".so", 2)[0], ""))
		}
	}
	return "+ " + strings.Join(names, ", ")
}
