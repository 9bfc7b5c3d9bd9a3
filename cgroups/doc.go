// Package cgroups places containers in cgroup v2 groups and applies their
// linux.resources limits.
//
// husk speaks only the unified hierarchy. On a pure v2 host that is
// /sys/fs/cgroup; on a hybrid host (v1 controllers plus a cgroup2 mount at
// /sys/fs/cgroup/unified) husk uses the cgroup2 mount, where process
// tracking, freezing and cgroup.kill work but only the controllers the
// host gave to v2 can limit anything. A limit whose controller is missing
// is an error that names the field, never silently dropped.
//
// Manager is a concrete struct: there is one implementation.
package cgroups
