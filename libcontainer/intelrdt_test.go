package libcontainer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeResctrl is a resctrl root in a temp dir: its directories are real,
// the writes to its files are recorded as "dir/file: value" (relative to
// the root) instead of being made.
func fakeResctrl(t *testing.T) (root string, writes *[]string) {
	t.Helper()
	root = t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "info"), 0o755); err != nil {
		t.Fatal(err)
	}
	var w []string
	old := writeResctrl
	writeResctrl = func(dir, name, value string) error {
		rel, _ := filepath.Rel(root, filepath.Join(dir, name))
		w = append(w, rel+": "+strings.TrimSpace(value))
		return nil
	}
	t.Cleanup(func() { writeResctrl = old })
	return root, &w
}

func TestIntelRdtOwnGroup(t *testing.T) {
	root, writes := fakeResctrl(t)
	r := &specs.LinuxIntelRdt{
		Schemata: []string{"L2:0=f"}, MemBwSchema: "MB:0=50", L3CacheSchema: "L3:0=ff",
	}
	g := rdtGroupOf(root, "web", r)
	if err := g.setup(r, 42); err != nil {
		t.Fatal(err)
	}
	// "The runtimes MUST write l3CacheSchema first and memBwSchema last",
	// and schemata after both.
	want := []string{
		"web/schemata: L3:0=ff", "web/schemata: MB:0=50", "web/schemata: L2:0=f",
		"web/tasks: 42",
	}
	if strings.Join(*writes, "\n") != strings.Join(want, "\n") {
		t.Errorf("writes:\n%s\nwant:\n%s", strings.Join(*writes, "\n"), strings.Join(want, "\n"))
	}
	if err := g.remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "web")); !os.IsNotExist(err) {
		t.Errorf("the container's own CLOS directory is left: %v", err)
	}
}

func TestIntelRdtMonitoring(t *testing.T) {
	root, writes := fakeResctrl(t)
	r := &specs.LinuxIntelRdt{ClosID: "/", EnableMonitoring: true}
	g := rdtGroupOf(root, "web", r)
	if err := g.setup(r, 42); err == nil || !strings.Contains(err.Error(), "has no monitoring") {
		t.Errorf("monitoring without mon_groups: %v", err)
	}
	if err := os.Mkdir(filepath.Join(root, "mon_groups"), 0o755); err != nil {
		t.Fatal(err)
	}
	*writes = nil
	if err := g.setup(r, 42); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(*writes, ","); got != "tasks: 42,mon_groups/web/tasks: 42" {
		t.Errorf("writes: %s", got)
	}
	if err := g.remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "mon_groups", "web")); !os.IsNotExist(err) {
		t.Errorf("monitoring group left: %v", err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Errorf("default class removed: %v", err)
	}
}

func TestIntelRdtClosID(t *testing.T) {
	root, writes := fakeResctrl(t)
	// A closID without schemata must exist already.
	r := &specs.LinuxIntelRdt{ClosID: "gold"}
	err := rdtGroupOf(root, "web", r).setup(r, 7)
	if err == nil || !strings.HasPrefix(err.Error(), "linux.intelRdt.closID: ") {
		t.Fatalf("setup of a missing closID: %v", err)
	}
	gold := filepath.Join(root, "gold")
	if err := os.Mkdir(gold, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(gold, "schemata"), []byte("    L3:0=000ff;1=ff\n    MB:0=100;1=100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g := rdtGroupOf(root, "web", r)
	if err := g.setup(r, 7); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(*writes, ","); got != "gold/tasks: 7" {
		t.Errorf("writes: %s", got)
	}
	// An existing closID's schemata must match what is asked.
	r.L3CacheSchema = "L3:0=ff;1=FF"
	if err := g.setup(r, 7); err != nil {
		t.Errorf("matching schema refused: %v", err)
	}
	r.MemBwSchema = "MB:0=50"
	if err := g.setup(r, 7); err == nil || !strings.Contains(err.Error(), "linux.intelRdt.memBwSchema") {
		t.Errorf("mismatching schema: %v", err)
	}
	// Not the container's own: kept on delete.
	if err := g.remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(gold); err != nil {
		t.Errorf("a closID directory was removed: %v", err)
	}
	// "/" is the default class, the root itself.
	if g := rdtGroupOf(root, "web", &specs.LinuxIntelRdt{ClosID: "/"}); g.clos != root || g.owned {
		t.Errorf("closID / = %+v", g)
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	if got := unescapeMountinfo(`/sys/fs/res\040ctrl\134x`); got != `/sys/fs/res ctrl\x` {
		t.Errorf("got %q", got)
	}
}
