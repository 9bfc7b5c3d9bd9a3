package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLSMLabelsWhereOff: on a host without AppArmor or SELinux (this
// one), labels are ignored as runc ignores them: the container runs, and
// --debug says each label was ignored. (Where a module is on, husk sets
// them; this machine cannot show that.)
func TestLSMLabelsWhereOff(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/sys/fs/selinux/enforce"); err == nil {
		t.Skip("SELinux is on here")
	}
	if data, _ := os.ReadFile("/sys/module/apparmor/parameters/enabled"); strings.HasPrefix(string(data), "Y") {
		t.Skip("AppArmor is on here")
	}
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Process.ApparmorProfile = "husk-test-profile"
	b.Spec.Process.SelinuxLabel = "system_u:system_r:container_t:s0:c1,c2"
	b.Spec.Linux.MountLabel = "system_u:object_r:container_file_t:s0:c1,c2"
	b.Spec.Process.Args = []string{"sh", "-c", "grep ' /dev ' /proc/self/mountinfo"}
	b.save()
	log := filepath.Join(t.TempDir(), "log.json")
	id := newID(t)
	r := e.husk("--debug", "--log", log, "--log-format", "json", "run", "--bundle", b.Dir, id)
	if r.Code != 0 || strings.Contains(r.Stdout, "context=") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	data, _ := os.ReadFile(log)
	for _, want := range []string{`AppArmor is off: process.apparmorProfile \"husk-test-profile\" ignored`, `SELinux is off: process.selinuxLabel`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("debug log lacks %q:\n%s", want, data)
		}
	}
	e.checkGone(id, b)
}
