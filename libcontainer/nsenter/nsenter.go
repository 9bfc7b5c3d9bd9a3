// Package nsenter joins user, mount and time namespaces before the Go
// runtime starts.
//
// The kernel lets only a single-threaded process setns(2) into a user,
// mount or time namespace, and a Go program has several threads before
// main runs. So the joins happen in a C constructor that runs first, in
// every husk process, and does nothing unless _HUSK_NSENTER is set:
//
//	_HUSK_NSENTER   one line per namespace to join, in order:
//	                "j <clone flag, hex> <path>"
//	_HUSK_USERNS    set: after the joins, unshare a new user namespace,
//	                ask the parent for its id mappings on the sync socket
//	                ({"type":"userns"}), wait for the same answer, and
//	                become root in it (rootless husk with subordinate ids,
//	                whose mappings only newuidmap/newgidmap may write).
//	_HUSK_INIT_SYNC the sync socket fd; a failure is sent there as the
//	                protocol's error message before exiting 1.
//
// All paths are opened before the first setns, so later paths are not
// resolved inside an already-joined mount namespace. Nothing else happens
// here: no clone, no protocol beyond the userns question and the one error
// message.
// Everything after is Go: new namespaces that must belong to a joined user
// namespace are made by init cloning the real init (see reexecInit).
package nsenter

// #cgo CFLAGS: -Wall -Werror
// extern void husk_nsenter(void);
// void __attribute__((constructor)) husk_nsenter_init(void) { husk_nsenter(); }
import "C"
