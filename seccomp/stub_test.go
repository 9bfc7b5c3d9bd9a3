//go:build !cgo || !seccomp

package seccomp

import (
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Built without libseccomp, a profile is refused, never run unfiltered.
func TestRefusedWithoutLibseccomp(t *testing.T) {
	p := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
	if err := Check(p); !errors.Is(err, ErrSeccompNotEnabled) {
		t.Errorf("Check: %v", err)
	}
	if _, err := CompileCached(p, t.TempDir()); !errors.Is(err, ErrSeccompNotEnabled) {
		t.Errorf("CompileCached: %v", err)
	}
	if err := Check(nil); err != nil {
		t.Errorf("Check(nil): %v", err)
	}
}
