//go:build cgo && seccomp

package seccomp

import (
	"fmt"

	libseccomp "github.com/seccomp/libseccomp-golang"
)

// Enabled reports whether husk was built with seccomp support.
const Enabled = true

// Version is the libseccomp version husk runs with.
func Version() string {
	major, minor, micro := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", major, minor, micro)
}
