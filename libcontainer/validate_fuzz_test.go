package libcontainer

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// FuzzLoadAndValidate feeds config.json bytes to what create runs before
// it makes anything (loadConfig: LoadSpec, Validate, compileSeccomp) and
// to validateAll, which husk check reports from. It starts no container.
//
// Properties: nothing panics; a parse error names config.json and either
// a field ("process.args: cannot use ...") or a "line L, column C"
// position; every other rejection is a *SpecError whose Path is a JSON
// path into the spec, on one line; create's stage (Validate) reports
// validateAll's first problem.
//
// The seed corpus is real configs (testdata/seed-configs, see its README):
// husk spec, podman, containerd and runtime-tools output. make fuzz runs
// it for $(FUZZTIME); plain go test runs the seeds only.
func FuzzLoadAndValidate(f *testing.F) {
	seeds, err := filepath.Glob("testdata/seed-configs/*.json")
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seed configs: %v", err)
	}
	for _, name := range seeds {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{"", "null", "[]", "{}", `{"ociVersion":"1.0.0"} {}`, `{"process":{"args":"sh"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		bundle, root := filepath.Join(dir, "bundle"), filepath.Join(dir, "root")
		for _, d := range []string{bundle, filepath.Join(bundle, "rootfs"), root} {
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		checkLoadAndValidate(t, root, bundle)
	})
}

// checkLoadAndValidate asserts FuzzLoadAndValidate's properties for the
// bundle's config.json.
func checkLoadAndValidate(t *testing.T, root, bundle string) {
	t.Helper()
	spec, err := LoadSpec(bundle)
	if err != nil {
		checkParseError(t, err)
		if _, _, cerr := loadConfig(root, bundle, nil); cerr == nil || cerr.Error() != err.Error() {
			t.Errorf("create's stage: %v, LoadSpec: %v", cerr, err)
		}
		return
	}
	errs := validateAll(spec, bundle)
	for _, err := range errs {
		checkSpecError(t, err)
	}
	if spec.Process != nil {
		if err := ValidateProcess(spec.Process); err != nil {
			checkSpecError(t, err)
		}
	}
	// Create's stage reports Validate's error, validateAll's first; with
	// none, only compiling linux.seccomp may still refuse.
	_, _, cerr := loadConfig(root, bundle, nil)
	switch {
	case len(errs) > 0 && (cerr == nil || cerr.Error() != errs[0].Error()):
		t.Fatalf("create's stage: %v, want validateAll's first: %v", cerr, errs[0])
	case cerr != nil:
		checkSpecError(t, cerr)
	}
}

// checkParseError: LoadSpec's errors name config.json, then a field or a
// line and column.
func checkParseError(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	_, rest, ok := strings.Cut(msg, "config.json: ")
	if !strings.HasPrefix(msg, "parsing ") || !ok {
		t.Fatalf("LoadSpec: %q does not name config.json", msg)
	}
	if strings.Contains(msg, "\n") {
		t.Fatalf("LoadSpec: %q spans several lines", msg)
	}
	if position.MatchString(rest) {
		return
	}
	field, _, ok := strings.Cut(rest, ": ")
	if !ok || !jsonPath.MatchString(field) || !specField(field) {
		t.Fatalf("LoadSpec: %q names neither a field nor a line and column", msg)
	}
}

var (
	position = regexp.MustCompile(`^line [1-9][0-9]*, column [1-9][0-9]*: `)
	// A JSON path as users write it: dotted names with [N] indices. Map
	// keys (annotations, sysctl, timeOffsets, resources.unified) may hold
	// any character but a newline: they come last or are followed by a
	// field name.
	jsonPath = regexp.MustCompile(`^[A-Za-z]+(\[[0-9]+\])*(\.[^\n]+)?$`)
)

// checkSpecError: a *SpecError, its Path a JSON path that starts with a
// field of the spec, its message "Path: reason" on one line.
func checkSpecError(t *testing.T, err error) {
	t.Helper()
	var se *SpecError
	if !errors.As(err, &se) {
		t.Fatalf("rejection %q (%T) is not a *SpecError", err, err)
	}
	if !jsonPath.MatchString(se.Path) || !specField(se.Path) {
		t.Fatalf("rejection %q: path %q is not a JSON path into the spec", err, se.Path)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, se.Path+": ") || len(msg) == len(se.Path)+2 {
		t.Fatalf("rejection %q: want %q and a reason", msg, se.Path+": ")
	}
	if strings.Contains(msg, "\n") {
		t.Fatalf("rejection %q spans several lines", msg)
	}
}

// specField reports whether path's first name is a top-level field of
// specs.Spec.
func specField(path string) bool {
	name := path
	if i := strings.IndexAny(path, ".["); i >= 0 {
		name = path[:i]
	}
	typ := reflect.TypeFor[specs.Spec]()
	for i := range typ.NumField() {
		if tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ","); tag == name {
			return true
		}
	}
	return false
}
