package main

import (
	"bufio"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Verdict of one TAP test line.
type Verdict int

const (
	Pass Verdict = iota
	Fail
	Skip // "ok N # SKIP ..." and "not ok N # TODO ..."
)

func (v Verdict) String() string {
	return [...]string{"pass", "fail", "skip"}[v]
}

// Assertion is one test line of a TAP stream.
type Assertion struct {
	Num     int
	Desc    string // the description, without the directive
	Verdict Verdict
	Line    string // the line as printed
	Diag    string // the YAML block and # comments around it
}

// TAP is a parsed TAP stream.
type TAP struct {
	Assertions []Assertion
	Plan       int  // -1 when no plan line was seen
	PlanSkip   bool // "1..0 # SKIP ...": the whole program skipped itself
	BailOut    string
	Trailer    string // diagnostics after the last test, or of a stream with none
	Header     bool   // a "TAP version" line was seen
}

var (
	testLine = regexp.MustCompile(`^(not ok|ok)\b\s*([0-9]+)?\s*(?:-\s*)?(.*)$`)
	planLine = regexp.MustCompile(`^1\.\.([0-9]+)\s*(#.*)?$`)
	// A directive: "# SKIP reason" or "# TODO reason", case-insensitive.
	directive = regexp.MustCompile(`(?i)(?:^|\s)#\s*(skip|todo)\b\s*(.*)$`)
)

// ParseTAP reads the TAP that runtime-tools' programs print (tap-go's
// dialect: TAP 13, YAML blocks indented by two spaces, which tap-go
// writes before or after the test line they explain).
func ParseTAP(r io.Reader) TAP {
	t := TAP{Plan: -1}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var (
		pending  strings.Builder // a YAML block or comments no test owns yet
		block    strings.Builder // the YAML block being read
		inYAML   bool
		last     = -1    // the last test line
		hasBlock = false // whether it already has a YAML block
	)
	for sc.Scan() {
		line := sc.Text()
		if inYAML {
			block.WriteString(line + "\n")
			if strings.TrimSpace(line) != "..." {
				continue
			}
			inYAML = false
			// TAP 13 puts a test's block after it; tap-go sometimes
			// prints it before: a block the last test already has is
			// kept for the next one.
			if last >= 0 && !hasBlock {
				t.Assertions[last].Diag += block.String()
				hasBlock = true
			} else {
				pending.WriteString(block.String())
			}
			block.Reset()
			continue
		}
		if strings.TrimSpace(line) == "---" && strings.HasPrefix(line, " ") {
			inYAML = true
			block.WriteString(line + "\n")
			continue
		}
		if strings.HasPrefix(line, "#") {
			if last >= 0 && pending.Len() == 0 {
				t.Assertions[last].Diag += line + "\n"
			} else {
				pending.WriteString(line + "\n")
			}
			continue
		}
		if m := planLine.FindStringSubmatch(line); m != nil {
			t.Plan, _ = strconv.Atoi(m[1])
			if t.Plan == 0 && directive.MatchString(m[2]) {
				t.PlanSkip = true
			}
			continue
		}
		if strings.HasPrefix(line, "Bail out!") {
			t.BailOut = strings.TrimSpace(strings.TrimPrefix(line, "Bail out!"))
			continue
		}
		if strings.HasPrefix(line, "TAP version") {
			t.Header = true
			continue
		}
		m := testLine.FindStringSubmatch(line)
		if m == nil {
			continue // stray output
		}
		a := Assertion{Line: line, Desc: m[3], Verdict: Pass}
		a.Num, _ = strconv.Atoi(m[2])
		if m[1] == "not ok" {
			a.Verdict = Fail
		}
		if d := directive.FindStringSubmatchIndex(a.Desc); d != nil {
			reason := a.Desc[d[4]:d[5]]
			a.Desc = strings.TrimSpace(a.Desc[:d[0]])
			if a.Desc == "" {
				a.Desc = reason
			}
			a.Verdict = Skip
		}
		a.Diag = pending.String()
		hasBlock = strings.Contains(a.Diag, "---")
		pending.Reset()
		t.Assertions = append(t.Assertions, a)
		last = len(t.Assertions) - 1
	}
	if block.Len() > 0 {
		pending.WriteString(block.String())
	}
	if pending.Len() > 0 && last >= 0 {
		t.Assertions[last].Diag += pending.String()
	}
	t.Trailer = pending.String()
	return t
}

// Counts of a stream's verdicts.
func (t TAP) Counts() (pass, fail, skip int) {
	for _, a := range t.Assertions {
		switch a.Verdict {
		case Pass:
			pass++
		case Fail:
			fail++
		default:
			skip++
		}
	}
	return
}
