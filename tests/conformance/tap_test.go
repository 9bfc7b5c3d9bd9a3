package main

import (
	"strings"
	"testing"
)

func TestParseTAP(t *testing.T) {
	in := `TAP version 13
  ---
  {
    "stdout": "before the first test"
  }
  ...
ok 1 - has expected hostname
  ---
  {
    "actual": "x"
  }
  ...
not ok 2 - mounts[3] (/dev/pts) found in order
# expect: 1, actual: 2
ok 3 # SKIP /dev/null (default device) has unconfigured permissions
not ok 4 # TODO we need the major/minor from the controlling TTY
ok 5 bare
1..5
`
	tp := ParseTAP(strings.NewReader(in))
	if !tp.Header || tp.Plan != 5 || len(tp.Assertions) != 5 {
		t.Fatalf("header %v, plan %d, %d assertions", tp.Header, tp.Plan, len(tp.Assertions))
	}
	want := []struct {
		desc string
		v    Verdict
	}{
		{"has expected hostname", Pass},
		{"mounts[3] (/dev/pts) found in order", Fail},
		{"/dev/null (default device) has unconfigured permissions", Skip},
		{"we need the major/minor from the controlling TTY", Skip},
		{"bare", Pass},
	}
	for i, w := range want {
		a := tp.Assertions[i]
		if a.Desc != w.desc || a.Verdict != w.v {
			t.Errorf("assertion %d: %q %v, want %q %v", i+1, a.Desc, a.Verdict, w.desc, w.v)
		}
	}
	// A block printed before a test with no owner goes to that test (tap-go
	// prints some that way); one after a test goes to it, unless it has
	// one already: then it is the next test's. Comments go to the test
	// before them.
	if d := tp.Assertions[0].Diag; !strings.Contains(d, "before the first test") || strings.Contains(d, `"actual": "x"`) {
		t.Errorf("diag of 1: %q", d)
	}
	if d := tp.Assertions[1].Diag; !strings.Contains(d, `"actual": "x"`) || !strings.Contains(d, "expect: 1, actual: 2") {
		t.Errorf("diag of 2: %q", d)
	}
	if p, f, s := tp.Counts(); p != 2 || f != 1 || s != 2 {
		t.Errorf("counts %d/%d/%d", p, f, s)
	}
}

func TestParseTAPNoAssertion(t *testing.T) {
	// The hook programs report an error as a lone YAML block.
	tp := ParseTAP(strings.NewReader("TAP version 13\n  ---\n  {\n    \"error\": \"boom\"\n  }\n  ...\n1..0\n"))
	if len(tp.Assertions) != 0 || tp.Plan != 0 || tp.PlanSkip || !strings.Contains(tp.Trailer, "boom") {
		t.Errorf("%+v", tp)
	}
	tp = ParseTAP(strings.NewReader("TAP version 13\n1..0 # SKIP no cgroup v1\n"))
	if !tp.PlanSkip {
		t.Errorf("1..0 # SKIP: %+v", tp)
	}
}

func TestGaps(t *testing.T) {
	res := func(rt, tap, status string) *Result {
		return &Result{Runtime: rt, Program: "p", TAP: ParseTAP(strings.NewReader(tap)), Status: status}
	}
	results := map[string]*Result{
		"runc/p": res("runc", "ok 1 - a 123\nok 2 - b\nnot ok 3 - c\nok 4 - d\n1..4\n", ""),
		"husk/p": res("husk", "ok 1 - a 456\nnot ok 2 - b\nok 3 - c\n1..3\n", "exit status 1"),
	}
	gaps, checked := findGaps([]string{"p"}, results, "runc", "husk")
	var keys []string
	for _, g := range gaps {
		keys = append(keys, g.Key)
	}
	// a passes in both (numbers aside), b fails, d never ran, and husk's
	// run did not complete.
	if got := strings.Join(keys, ","); got != "b,d,program completes" || checked != 4 {
		t.Errorf("gaps %q, checked %d", got, checked)
	}
}

func TestOwnFailures(t *testing.T) {
	results := map[string]*Result{
		"husk/p": {Runtime: "husk", Program: "p", Status: "exit status 1",
			TAP: ParseTAP(strings.NewReader("ok 1 - a\nnot ok 2 - b 42\nnot ok 3 - c\n1..3\n"))},
		"husk/q": {Runtime: "husk", Program: "q", TAP: ParseTAP(strings.NewReader("TAP version 13\nok 1 - d\n1..1\n"))},
	}
	gaps, checked := ownFailures([]string{"p", "q"}, results, "husk")
	var keys []string
	for _, g := range gaps {
		keys = append(keys, g.Program+":"+g.Key)
	}
	// Every failed assertion, numbers normalised, and the run that did
	// not complete; q passed everything.
	if got := strings.Join(keys, ","); got != "p:b N,p:c,p:program completes" || checked != 5 {
		t.Errorf("failures %q, checked %d", got, checked)
	}
	known := knownGaps{{"p", "*"}}
	for _, g := range gaps {
		if !known.has(g) {
			t.Errorf("%s: not matched by p<TAB>*", g.Key)
		}
	}
}
