//go:build !cgo || !seccomp

package seccomp

import "errors"

// Enabled reports whether husk was built with seccomp support.
const Enabled = false

// ErrSeccompNotEnabled is returned when a config asks for seccomp and
// husk was built without it.
var ErrSeccompNotEnabled = errors.New("seccomp: husk was built without seccomp support")

// Version is empty without libseccomp.
func Version() string { return "" }
