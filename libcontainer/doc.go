// Package libcontainer turns an OCI bundle into a running, isolated process.
//
// The files follow the pipeline they implement:
//
//	spec.go       config.json → *specs.Spec, bundle-relative paths resolved
//	validate.go   every field checked; errors name their JSON path (SpecError)
//	container.go  Create / Load / Start / Signal / Destroy on one container
//	state.go      the state dir: lock, atomic state.json, status derivation
//	process.go    parent side: clone the init into its namespaces and cgroup
//	sync.go       the parent↔init protocol, one message per step
//	init.go       child side: the stages below, in order, then wait for start
//	rootfs.go     mounts (mount.go), devices (devices.go), pivot_root
//	paths.go      masked and read-only paths, sysctl, hostname
//	sched.go      scheduler and I/O priority (affinity.go, mempolicy.go,
//	              personality.go: the rest a process keeps across execve)
//	user.go       rlimits, groups, uid/gid, capabilities, no_new_privs
//	exec.go       the start handshake, fd hygiene and the final execve
//	seccomp.go    linux.seccomp: compiled by the parent, loaded last by init
//
// The parent's share, once init is ready: netdev.go (network devices,
// over netlink.go) and intelrdt.go (resctrl), besides the cgroup limits.
//
// The spec's own types are used throughout: there is no second config model.
// What must be computed from the spec (clone flags, the resolved rootfs) is
// built once, in small unexported structs next to the stage that needs it.
package libcontainer
