package libcontainer

import (
	"errors"
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
