package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// badConfig is one case of testdata/bad-configs.json (its "about" says
// what each field means).
type badConfig struct {
	Name     string            `json:"name"`
	Stage    string            `json:"stage"`
	Needs    string            `json:"needs"`
	Merge    map[string]any    `json:"merge"`
	Set      [][]any           `json:"set"`
	Files    map[string]string `json:"files"`
	Open     bool              `json:"traversable"`
	Path     string            `json:"path"`
	Severity string            `json:"severity"`
}

func loadBadConfigs(t *testing.T) []badConfig {
	t.Helper()
	data, err := os.ReadFile(testdata("bad-configs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []badConfig `json:"cases"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("decoding bad-configs.json: %v", err)
	}
	return doc.Cases
}

// skipUnmet skips a case whose host condition ("needs") does not hold.
func skipUnmet(t *testing.T, c badConfig) {
	t.Helper()
	on := func(file, yes string) bool {
		data, err := os.ReadFile(file)
		return err == nil && strings.HasPrefix(string(data), yes)
	}
	switch c.Needs {
	case "":
	case "apparmor-off":
		if on("/sys/module/apparmor/parameters/enabled", "Y") {
			t.Skip("AppArmor is on here")
		}
	case "apparmor-on":
		if !on("/sys/module/apparmor/parameters/enabled", "Y") {
			t.Skip("AppArmor is off here")
		}
	case "selinux-off":
		if on("/sys/fs/selinux/enforce", "") {
			t.Skip("SELinux is on here")
		}
	default:
		t.Fatalf("unknown need %q", c.Needs)
	}
}

// badBundle makes a bundle with c applied to husk spec's default config.
func badBundle(t *testing.T, c badConfig) *bundle {
	t.Helper()
	b := newBundle(t)
	b.save()
	if c.Open {
		nsTraversable(t, b)
	}
	var doc map[string]any
	data, err := os.ReadFile(filepath.Join(b.Dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	doc = mergePatch(doc, c.Merge).(map[string]any)
	for _, op := range c.Set {
		path, ok := op[0].(string)
		if len(op) != 2 || !ok {
			t.Fatalf("set %v: want [path, value]", op)
		}
		v, err := setField(doc, fieldTokens(path), op[1])
		if err != nil {
			t.Fatalf("set %s: %v", path, err)
		}
		doc = v.(map[string]any)
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out = []byte(strings.ReplaceAll(string(out), "$BUNDLE", b.Dir))
	if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, mode := range c.Files {
		m, err := strconv.ParseUint(mode, 8, 32)
		if err != nil {
			t.Fatalf("files[%s]: %v", name, err)
		}
		p := filepath.Join(b.Dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), os.FileMode(m)); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, os.FileMode(m))
	}
	return b
}

// mergePatch applies an RFC 7396 merge patch.
func mergePatch(doc any, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	d, ok := doc.(map[string]any)
	if !ok {
		d = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(d, k)
		} else {
			d[k] = mergePatch(d[k], v)
		}
	}
	return d
}

var fieldToken = regexp.MustCompile(`[^.\[\]]+|\[(?:\d+|\+)\]`)

// fieldTokens splits "linux.namespaces[1].type" into its keys and indices.
func fieldTokens(path string) []string { return fieldToken.FindAllString(path, -1) }

// setField sets the field at toks in node to val: "[+]" appends, a nil
// val deletes a key.
func setField(node any, toks []string, val any) (any, error) {
	if len(toks) == 0 {
		return val, nil
	}
	tok := toks[0]
	if strings.HasPrefix(tok, "[") {
		arr, _ := node.([]any)
		if tok == "[+]" {
			if len(toks) > 1 {
				return nil, fmt.Errorf("[+] must come last")
			}
			return append(arr, val), nil
		}
		i, _ := strconv.Atoi(strings.Trim(tok, "[]"))
		if i >= len(arr) {
			return nil, fmt.Errorf("%s: index out of range (%d elements)", tok, len(arr))
		}
		v, err := setField(arr[i], toks[1:], val)
		arr[i] = v
		return arr, err
	}
	m, _ := node.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	if len(toks) == 1 && val == nil {
		delete(m, tok)
		return m, nil
	}
	v, err := setField(m[tok], toks[1:], val)
	m[tok] = v
	return m, err
}

// checkFinding and checkReport are husk check --format json's output.
type checkFinding struct {
	Severity string `json:"severity"`
	Path     string `json:"path"`
	Message  string `json:"message"`
	Hint     string `json:"hint"`
}

type checkReport struct {
	Bundle string `json:"bundle"`
	Host   struct {
		Cgroup      string `json:"cgroup"`
		Controllers string `json:"controllers"`
	} `json:"host"`
	Findings []checkFinding `json:"findings"`
}

// check runs husk check --format json on b.
func (e *env) check(b *bundle) (checkReport, result) {
	e.t.Helper()
	r := e.husk("check", "--bundle", b.Dir, "--format", "json")
	var rep checkReport
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		e.t.Fatalf("husk check --format json: exit %d, %v\nstdout: %s\nstderr: %s", r.Code, err, r.Stdout, r.Stderr)
	}
	return rep, r
}

// find returns the finding at path, if any.
func (rep checkReport) find(path string) (checkFinding, bool) {
	for _, f := range rep.Findings {
		if f.Path == path {
			return f, true
		}
	}
	return checkFinding{}, false
}

// errors lists the error findings.
func (rep checkReport) errors() []checkFinding {
	var out []checkFinding
	for _, f := range rep.Findings {
		if f.Severity == "error" {
			out = append(out, f)
		}
	}
	return out
}

// wantFinding fails the test unless check reported severity at path and
// exited as that severity says (1 with an error, 0 with only warnings).
func wantFinding(t *testing.T, rep checkReport, r result, path, severity string) {
	t.Helper()
	f, ok := rep.find(path)
	if !ok || f.Severity != severity {
		t.Errorf("check: no %s at %s; findings: %+v", severity, path, rep.Findings)
	}
	wantCode := 0
	if len(rep.errors()) > 0 {
		wantCode = 1
	}
	if severity == "error" && wantCode != 1 {
		t.Errorf("check found no error")
	}
	if r.Code != wantCode {
		t.Errorf("check exited %d with %d error(s); stderr %q", r.Code, len(rep.errors()), r.Stderr)
	}
}

// parentField is the field that holds path: "hooks.prestart[0]" for
// "hooks.prestart[0].path", "mounts[7]" for "mounts[7].type".
func parentField(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i <= 0 {
		return path
	}
	return path[:i]
}

// namesField reports whether create's one-line error starts with path,
// or with the field that holds it.
func namesField(stderr, path string) bool {
	msg := strings.TrimPrefix(strings.TrimSpace(stderr), "husk: ")
	return strings.HasPrefix(msg, path+":") || strings.HasPrefix(msg, parentField(path)+":")
}
