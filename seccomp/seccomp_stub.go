//go:build !cgo || !seccomp

package seccomp

import specs "github.com/opencontainers/runtime-spec/specs-go"

// Enabled reports whether husk was built with seccomp support.
const Enabled = false

// Version is empty without libseccomp.
func Version() string { return "" }

// SupportedArchitectures is empty without libseccomp.
func SupportedArchitectures() []string { return nil }

// Compile refuses: husk was built without libseccomp.
func Compile(*specs.LinuxSeccomp) (*Program, error) { return nil, ErrSeccompNotEnabled }

// CompileCached refuses: husk was built without libseccomp.
func CompileCached(*specs.LinuxSeccomp, string) (*Program, error) {
	return nil, ErrSeccompNotEnabled
}
