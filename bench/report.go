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
}

var rows = []row{
	{metric: "run", title: "run /bin/true", unit: "ms", targets: map[string]float64{"runc": 0.5, "crun": 1.2}},
	{metric: "create", title: "create", unit: "ms"},
	{metric: "start", title: "start", unit: "ms"},
	{metric: "delete", title: "delete (stopped)", unit: "ms"},
	{metric: "exec", title: "exec /bin/true", unit: "ms", targets: map[string]float64{"runc": 0.5}},
	{metric: "conc", title: "N× create+start at once", unit: "ctr/s", higherBetter: true},
	{metric: "run-0", title: "run, before the N", unit: "ms"},
	{metric: "run-loaded", title: "run, N containers exist", unit: "ms"},
	{metric: "exec-loaded", title: "exec, N containers exist", unit: "ms"},
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

func (b *bench) report(out io.Writer, h *hostInfo) {
	fmt.Fprintf(out, "\nhusk bench — %s: kernel %s, %s, %d CPUs, load %s, %s\n", h.label, h.kernel, h.cgroups, h.cpus, h.load, h.duration.Round(1e9))
	fmt.Fprintf(out, "medians ± half the interquartile range; %d lifecycle iterations, N=%d containers × %d rounds; runtimes interleaved in random order; %s\n", *iters, *conc, *rounds, b.stateNote)
	for _, r := range b.rts {
		fmt.Fprintf(out, "  %-5s %s (%s), %s\n", r.name, version(r.bin), r.orig, r.note)
	}
	for _, c := range b.cfgs {
		if c.seccomp == nil {
			fmt.Fprintf(out, "\n== default config (husk spec: 6 namespaces, no seccomp)\n")
		} else {
			fmt.Fprintf(out, "\n== with the Docker default seccomp profile (%d syscall rules)\n", len(c.seccomp.Syscalls))
		}
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		hdr := "\t"
		for _, r := range b.rts {
			hdr += r.name + "\t"
		}
		for _, r := range b.rts[1:] {
			hdr += "husk/" + r.name + "\t"
		}
		fmt.Fprintln(tw, hdr+"target\t")
		for _, rw := range rows {
			line := strings.Replace(rw.title, "N", fmt.Sprint(*conc), 1) + " (" + rw.unit + ")\t"
			husk, _, hn := b.median(c.name, rw.metric, "husk")
			for _, r := range b.rts {
				if why, no := b.unsupported[c.name+"/"+r.name]; no {
					_ = why
					line += "n/a\t"
					continue
				}
				m, s, n := b.median(c.name, rw.metric, r.name)
				if n == 0 {
					line += "-\t"
					continue
				}
				line += num(m)
				if n > 1 {
					line += " ±" + num(s)
				}
				line += "\t"
			}
			var verdicts []string
			for _, r := range b.rts[1:] {
				m, _, n := b.median(c.name, rw.metric, r.name)
				if n == 0 || hn == 0 || m == 0 {
					line += "-\t"
					continue
				}
				ratio := husk / m
				line += fmt.Sprintf("%.2f\t", ratio)
				if t, ok := rw.targets[r.name]; ok {
					ok := ratio <= t
					if rw.higherBetter {
						ok = ratio >= t
					}
					mark := "✗"
					if ok {
						mark = "✓"
					}
					verdicts = append(verdicts, fmt.Sprintf("≤%.2g×%s %s", t, r.name, mark))
				}
			}
			fmt.Fprintln(tw, line+strings.Join(verdicts, ", ")+"\t")
		}
		tw.Flush()
		for _, r := range b.rts {
			if why, no := b.unsupported[c.name+"/"+r.name]; no {
				fmt.Fprintf(out, "  %s n/a: %s\n", r.name, why)
			}
			if f := b.failures[c.name+"/"+r.name]; len(f) > 0 {
				fmt.Fprintf(out, "  %s: %d failed calls, e.g. %s\n", r.name, len(f), f[0])
			}
		}
	}
	fmt.Fprintf(out, "\n== binary size (MiB)\n")
	for _, r := range b.rts {
		fi, err := os.Stat(r.bin)
		if err == nil {
			fmt.Fprintf(out, "  %-5s %6.2f  %s\n", r.name, float64(fi.Size())/(1<<20), libs(r.bin))
		}
	}
	t, ts, _ := b.median("floor", "true", "-")
	u, us, _ := b.median("floor", "unshare", "-")
	fmt.Fprintf(out, "\n== floor (ms)\n  fork+exec /bin/true                       %s ±%s\n  unshare -pf -m -u -i -n -C /bin/true      %s ±%s\n", num(t), num(ts), num(u), num(us))
	if hr, _, n := b.median("default", "run", "husk"); n > 0 && u > 0 {
		fmt.Fprintf(out, "  husk run /bin/true is %.1f× the unshare floor (%.2f ms above it)\n", hr/u, hr-u)
	}
	if f := b.failures["floor/unshare"]; len(f) > 0 {
		fmt.Fprintf(out, "  unshare: %d failed, e.g. %s\n", len(f), f[0])
	}
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
