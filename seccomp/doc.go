// Package seccomp turns linux.seccomp into a loaded filter.
//
// It exists to keep libseccomp, cgo and raw BPF out of libcontainer, and
// to split the work between the two sides of a container's start:
//
//	Check          parent, validate.go: names, ranges, combinations; every
//	               error a *FieldError with its path below linux.seccomp
//	CompileCached  parent, before anything is made: libseccomp builds the
//	               rules and exports BPF; the program is cached in the
//	               state root (Docker's default profile costs ~25ms to
//	               compile, ~0.1ms to read back)
//	Program.Load   init, the last step before execve: seccomp(2) with the
//	               raw program, no libseccomp in the container's init
//	SendListener   parent or husk start: the notify fd to the agent
//
// Load puts a short prologue in front of libseccomp's program. It lets
// through the syscalls init still makes once the filter is on (execve,
// the capset that drops the CAP_SYS_ADMIN kept to load the filter, the
// sendmsg/recvmsg of the listener handover) when they carry a random key
// in arguments the kernel ignores for them. The key lives only in init's
// memory, so the container's program cannot use it, and a profile that
// forbids execve or capset still lets the container start.
//
// Built without cgo or the "seccomp" tag, Check and Compile return
// ErrSeccompNotEnabled: a config that asks for seccomp is refused, never
// run unfiltered.
package seccomp
