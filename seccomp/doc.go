// Package seccomp compiles linux.seccomp into a filter with libseccomp.
// It is built with libseccomp when the "seccomp" build tag and cgo are
// on (the Makefile's default); without them, a config that asks for
// seccomp is refused with ErrSeccompNotEnabled, never run unfiltered.
package seccomp
