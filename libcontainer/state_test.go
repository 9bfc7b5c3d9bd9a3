package libcontainer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestValidateID(t *testing.T) {
	good := []string{
		"a", "web", "A1", "0", "my-container_1.2+3", "x.y", "a-", "a.", "a+b",
		strings.Repeat("a", 255),
		"3f2c0a1e9b7d4c5e8f6a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1", // a docker-style id
	}
	for _, id := range good {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%.40q) = %v, want nil", id, err)
		}
	}
	bad := []struct {
		id, want string
	}{
		{"", "empty"},
		{".", "."},
		{"..", `".."`},
		{"a..b", `".."`},
		{"../x", `".."`},
		{"a/b", "only letters"},
		{"/abs", "only letters"},
		{"a/../b", `".."`},
		{"-a", "only letters"},
		{".hidden", "only letters"},
		{"_a", "only letters"},
		{"a b", "only letters"},
		{"a\tb", "only letters"},
		{"a\nb", "only letters"},
		{"a\x00b", "only letters"},
		{"a\x7fb", "only letters"},
		{"caf\u00e9", "only letters"},
		{"a:b", "only letters"},
		{"a*", "only letters"},
		{strings.Repeat("a", 256), "longer than 255"},
	}
	for _, tc := range bad {
		err := ValidateID(tc.id)
		if err == nil {
			t.Errorf("ValidateID(%.40q) = nil, want an error", tc.id)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidateID(%.40q) = %q, want it to mention %q", tc.id, err, tc.want)
		}
		if strings.ContainsAny(err.Error(), "\n\t\x00") {
			t.Errorf("ValidateID(%.40q): message %q carries raw control characters", tc.id, err)
		}
		if len(err.Error()) > 200 {
			t.Errorf("ValidateID(%.40q): message is %d bytes long; it should abbreviate the id", tc.id, len(err.Error()))
		}
	}
}

func TestErrorWordsAreAPI(t *testing.T) {
	// containerd and CRI-O match these words; see ENGINE-CONTRACT.md.
	for err, want := range map[error]string{
		ErrNotExist:   "does not exist",
		ErrExist:      "already exists",
		ErrNotRunning: "container not running",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q should contain %q", err, want)
		}
	}
	wrapped := &SpecError{Path: "linux.namespaces[2].path", Err: ErrNotExist}
	if !errors.Is(wrapped, ErrNotExist) || wrapped.Error() != "linux.namespaces[2].path: container does not exist" {
		t.Errorf("SpecError: got %q, Is=%v", wrapped, errors.Is(wrapped, ErrNotExist))
	}
}

// The state root and container dirs: husk makes them 0700; one that
// others may write to, or that the caller does not own, is refused,
// as is a container dir that is not 0700.
func TestStateDirOwnership(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	d, err := lockNew(root, "a")
	if err != nil {
		t.Fatal(err)
	}
	d.unlock()
	for _, dir := range []string{root, filepath.Join(root, "a")} {
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want drwx------", dir, fi.Mode(), err)
		}
	}
	if d, err := lockExisting(root, "a"); err != nil {
		t.Errorf("lockExisting: %v", err)
	} else {
		d.unlock()
	}
	// A root others may write to: neither new containers nor old ones.
	os.Chmod(root, 0o777)
	if err := refused(lockNew(root, "b")); err == nil || !contains(err.Error(), "mode 0777 gives others access") {
		t.Errorf("lockNew under a 0777 root: %v", err)
	}
	if err := refused(lockExisting(root, "a")); err == nil || !contains(err.Error(), "mode 0777") {
		t.Errorf("lockExisting under a 0777 root: %v", err)
	}
	// Readable by others is an admin's choice.
	os.Chmod(root, 0o755)
	if d, err := lockNew(root, "b"); err != nil {
		t.Errorf("lockNew under a 0755 root: %v", err)
	} else {
		d.unlock()
	}
	// A container dir opened up.
	os.Chmod(filepath.Join(root, "a"), 0o755)
	if err := refused(lockExisting(root, "a")); err == nil || !contains(err.Error(), "mode 0755 gives others access (want 0700)") {
		t.Errorf("lockExisting of a 0755 container dir: %v", err)
	}
	os.Chmod(filepath.Join(root, "a"), 0o700)
	// Someone else's: only root can make one here.
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	os.Chown(filepath.Join(root, "a"), 12345, 12345)
	if err := refused(lockExisting(root, "a")); err == nil || !contains(err.Error(), "owned by uid 12345, not by the caller (uid 0)") {
		t.Errorf("lockExisting of a dir owned by another user: %v", err)
	}
	os.Chown(root, 12345, 12345)
	if err := refused(lockNew(root, "c")); err == nil || !contains(err.Error(), "owned by uid 12345") {
		t.Errorf("lockNew under a root owned by another user: %v", err)
	}
}

// refused returns a lock call's error, unlocking what it wrongly got so
// that the next call does not wait for it.
func refused(d *stateDir, err error) error {
	if d != nil {
		d.unlock()
	}
	return err
}
